"""Already granted: a proposed legacy correction the customer has received another way.

Reconciliation gives an overcharge back as a service credit. The customer may
have had that money already, outside reconciliation: ent-umbrella's November
outage got a $200.00 service credit on its November draft, and the old system's
November bill (OLD-2024-11-0005) shows the same $200.00 credit applied after
payment, "credit on a finalized invoice". Proposing it again would grant one
event twice. So every proposed correction is laid beside the credits the tenant
was granted outside reconciliation (service credits and credit notes; a credit a
legacy correction issued is accounted for by that correction, never here).

The same event, said precisely. A granted credit G is **related** to a proposed
correction D (shown beside it) when G is D's tenant's, in D's currency, and one
explicit fact ties them:

1. G's reason names D's legacy record (its id as a whole word): finance
   corrected that record by hand, e.g. with a credit request above the
   approval threshold;
2. G landed on the tenant's invoice for D's period (a service credit on that
   invoice, a credit note correcting it): the invoice's period starts inside
   D's period;
3. G's reason names D's period (its label, "2024-11") or a day inside it
   ("Outage 2024-11-12, 4 hours").

D was **already granted** (left out, not proposed) when a related G is of
exactly D's amount and is tied by (1), whatever the rule, or by (2) or (3) when
D is a *credit on a finalized invoice*: that rule's money was a service credit
for that period, so the same amount for the same period is the same credit. A
proration or discount error that happens to equal a credit of its period is
shown beside the proposal, never assumed to be it. One G answers for at most
one correction: corrections, in report order, each take the oldest related G
of their amount not taken yet. No text is matched loosely: an id, a period
label or an ISO date, or the invoice the credit is recorded on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from billing_core.legacy_csv import parse_period
from billing_core.money import Money, format_money
from billing_core.periods import Period
from billing_core.reconciliation import Discrepancy, Rule

_ISO_DAY = re.compile(r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?![\w-])")


@dataclass(frozen=True, slots=True)
class GrantedCredit:
    """A service credit or credit note the tenant received outside reconciliation.

    ``reference`` is "#12" for a service credit, the number for a credit note;
    ``invoice_period`` is the period of the invoice it landed on (None: it went
    to the credit balance), ``invoice_name`` how that invoice reads ("the
    2024-11 draft", "INV-2024-000012 (2024-11)").
    """

    kind: str
    reference: str
    tenant_id: str
    amount: Money
    granted_on: date
    reason: str
    invoice_period: Period | None = None
    invoice_name: str | None = None

    def describe(self) -> str:
        """"$200.00 service credit #5, 2024-12-03, 'Outage 2024-11-12, 4 hours', on the
        2024-11 draft": plain text, the reason as typed (put it in a table cell or escape it)."""
        landed = f"on {self.invoice_name}" if self.invoice_name else "on the credit balance"
        return (f"{format_money(self.amount)} {self.kind} {self.reference}, "
                f"{self.granted_on.isoformat()}, '{self.reason}', {landed}")


@dataclass(frozen=True, slots=True)
class GrantedBeside:
    """What lies beside one proposed correction: the related credits, and the one among them
    that already gave it (None: the correction is still proposed)."""

    related: tuple[GrantedCredit, ...]
    covered_by: GrantedCredit | None


def lay_beside(proposals: Sequence[Discrepancy], granted: Iterable[GrantedCredit]
               ) -> dict[tuple[str, str, str, str], GrantedBeside]:
    """For each proposal (by ``Discrepancy.key``) with a related credit, what lies beside it;
    see the module docstring. ``granted`` oldest first; proposals in report order."""
    by_tenant: dict[str, list[GrantedCredit]] = {}
    for credit in granted:
        by_tenant.setdefault(credit.tenant_id, []).append(credit)
    taken: set[tuple[str, str]] = set()
    beside: dict[tuple[str, str, str, str], GrantedBeside] = {}
    for item in proposals:
        ties = [(credit, tie) for credit in by_tenant.get(item.tenant_id, ())
                if (tie := _tie(credit, item)) is not None]
        if not ties:
            continue
        covered_by = next((credit for credit, tie in ties
                           if (credit.kind, credit.reference) not in taken
                           and _same_event(credit, tie, item)), None)
        if covered_by is not None:
            taken.add((covered_by.kind, covered_by.reference))
        beside[item.key] = GrantedBeside(tuple(credit for credit, _ in ties), covered_by)
    return beside


def _tie(credit: GrantedCredit, item: Discrepancy) -> str | None:
    """Which fact ties ``credit`` to ``item`` ("record", "invoice", "reason"), or None."""
    if credit.amount.currency != item.difference.currency:
        return None
    if _names(credit.reason, item.legacy_id):
        return "record"
    period = parse_period(item.period_label)
    if credit.invoice_period is not None and credit.invoice_period.start in period:
        return "invoice"
    if _names(credit.reason, item.period_label) or any(
            day in period for day in _days_named(credit.reason)):
        return "reason"
    return None


def _same_event(credit: GrantedCredit, tie: str, item: Discrepancy) -> bool:
    return credit.amount == item.difference and (
        tie == "record" or item.rule == Rule.CREDIT_ON_FINALIZED)


def _names(text: str, token: str) -> bool:
    """``token`` in ``text`` as a whole word: "OLD-1" is not named by "OLD-10"."""
    return re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", text) is not None


def _days_named(text: str) -> list[date]:
    days = []
    for found in _ISO_DAY.finditer(text):
        try:
            days.append(date(*(int(part) for part in found.groups())))
        except ValueError:
            continue  # "2024-02-30" names no day
    return days
