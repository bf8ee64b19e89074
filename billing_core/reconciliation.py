"""Reconciliation: what the old billing system charged, what the rules say, and why they differ.

The service Ledgerline replaced billed with floats, took fixed discounts
before percentages, charged overage at exactly the included quantity, applied
service credits to invoices that were already finalized or paid, generated
the same invoice twice and split shared costs so the parts did not add up.
Finance needs every account it got wrong, with the figure it should have been
and the rule that explains the gap, so each one can be corrected once.

A legacy invoice is kept here as two things side by side: its *inputs* (plan
segments, discounts in the order the old system applied them, usage and the
included quantity, credits with the status the invoice had when each was
applied) and its *billed figures* (recurring, usage, discount, credit and
total, as the old system printed them). ``reconcile`` prices the inputs again
with the real rules (``price_invoice``, ``apply_discounts``) and explains the
difference component by component, in a fixed chain so the parts add up to
the whole exactly:

1. **discount order** - the billed subtotal, discounted in SPEC 4 order
   (percentages first) instead of the billed discount;
2. **proration** - then the recurring charge as ``prorate`` gives it
   (SPEC 3: $1000.00 from 2024-11-16 is $500.00, not $502.00);
3. **overage at the limit** - then the usage charge as ``price_usage`` gives
   it (SPEC 6: exactly the included quantity is no overage);
4. **credit on a finalized invoice** - a credit the old system applied after
   the invoice was finalized or paid never reached the customer (the invoice
   was already final); it belongs on the credit balance (SPEC 5), so the
   customer is owed it.

Each step changes the total by some amount; a non-zero change is one
``Discrepancy`` for that rule, and the steps' changes add up to
``charged - correct``. Because a discount is taken of the subtotal, a
proration error of $2.00 under a 10 % discount costs the customer $1.80: the
chain reports what the customer actually paid too much. A difference no rule
explains (a discount that is neither the right nor the old order, usage above
the limit priced differently) is reported as ``unexplained`` rather than
forced into a rule.

Two rules look across invoices: the same tenant and period billed twice
(non-void) keeps the first invoice given and reports every later one as a
**duplicate** to void; and a legacy shared-cost split whose billed shares
differ from ``split_by_weights`` (the parts of $1000.00 adding up to $999.90)
is **allocation rounding**, per tenant.

"Charged" for an invoice is its billed total plus any credit applied after
finalization (the customer paid the finalized total); "correct" is what the
rules charge, minus that credit owed. ``difference = charged - correct``:
positive is an overcharge (a credit note is proposed), negative an
undercharge (reported, never collected). Money is ``Money`` throughout.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from billing_core.allocation import split_by_weights
from billing_core.discounts import DiscountResult, FixedOff, PercentOff, apply_discounts
from billing_core.errors import CurrencyMismatch, InvalidInput
from billing_core.invoices import price_invoice
from billing_core.lines import InvoiceLine, LineKind
from billing_core.money import Money, format_money
from billing_core.periods import Period
from billing_core.proration import PlanChange
from billing_core.states import InvoiceStatus
from billing_core.usage import UsagePlan


class Rule(StrEnum):
    """Why a legacy figure differs from the correct one; one per incident symptom, plus one."""

    PRORATION = "proration"
    DISCOUNT_ORDER = "discount_order"
    OVERAGE_AT_LIMIT = "overage_at_limit"
    CREDIT_ON_FINALIZED = "credit_on_finalized"
    DUPLICATE_INVOICE = "duplicate_invoice"
    ALLOCATION_ROUNDING = "allocation_rounding"
    UNEXPLAINED = "unexplained"


RULE_LABELS: dict[Rule, str] = {
    Rule.PRORATION: "Proration",
    Rule.DISCOUNT_ORDER: "Discount order",
    Rule.OVERAGE_AT_LIMIT: "Overage at the limit",
    Rule.CREDIT_ON_FINALIZED: "Credit on a finalized invoice",
    Rule.DUPLICATE_INVOICE: "Duplicate invoice",
    Rule.ALLOCATION_ROUNDING: "Allocation rounding",
    Rule.UNEXPLAINED: "Unexplained",
}


class Action(StrEnum):
    """What finance can do about a discrepancy."""

    CREDIT_NOTE = "credit_note"  # an overcharge: credit the customer
    VOID = "void"  # a duplicate invoice: void it
    REPORT = "report"  # an undercharge: reported, never collected


class Source(StrEnum):
    INVOICE = "invoice"
    ALLOCATION = "allocation"


class CorrectionKind(StrEnum):
    """What finance issued for a discrepancy: a credit for an overcharge, or the void of a
    duplicate (one ``legacy_corrections`` row each)."""

    CREDIT = "credit"
    VOID = "void"


LEGACY_STATUSES: tuple[InvoiceStatus, ...] = tuple(InvoiceStatus)
"""The old system's invoices went through our statuses."""
CREDIT_APPLIED_WHEN = (InvoiceStatus.DRAFT, InvoiceStatus.FINALIZED, InvoiceStatus.PAID)
_FINAL = frozenset({InvoiceStatus.FINALIZED, InvoiceStatus.PAID})


@dataclass(frozen=True, slots=True)
class LegacyCredit:
    """A service credit the old system applied, and the invoice's status at that moment."""

    amount: Money
    applied_when: str


@dataclass(frozen=True, slots=True)
class LegacyInvoice:
    """One invoice as the old system billed it: its inputs and its billed figures.

    Billed discount and credit are positive amounts taken off, so
    ``billed_total == billed_recurring + billed_usage - billed_discount - billed_credit``
    (the constructor checks). ``usage`` holds at most one (UsagePlan, used) pair.
    ``line_no`` is where the invoice came from in its file (0 when unknown).
    """

    tenant_id: str
    legacy_id: str
    period: Period
    status: str
    currency: str
    plan_changes: tuple[PlanChange, ...]
    discounts: tuple[PercentOff | FixedOff, ...]
    usage: tuple[tuple[UsagePlan, int], ...]
    credits: tuple[LegacyCredit, ...]
    billed_recurring: Money
    billed_usage: Money
    billed_discount: Money
    billed_credit: Money
    billed_total: Money
    line_no: int = 0

    def __post_init__(self) -> None:
        if self.status not in LEGACY_STATUSES:
            raise InvalidInput("status", f"{self.status!r} is not one of "
                                         f"{', '.join(LEGACY_STATUSES)}")
        if not self.plan_changes:
            raise InvalidInput("plans", "is empty; a legacy invoice needs its plan segments")
        for name in ("billed_recurring", "billed_usage", "billed_discount", "billed_credit",
                     "billed_total"):
            self._check_billed_amount(name)
        added = (self.billed_recurring + self.billed_usage - self.billed_discount
                 - self.billed_credit)
        if added != self.billed_total:
            raise InvalidInput("billed_total", f"{self.billed_total} is not recurring + usage "
                                               f"- discount - credit ({added})")
        credited = sum((credit.amount for credit in self.credits), Money.zero(self.currency))
        if credited != self.billed_credit:
            raise InvalidInput("billed_credit", f"{self.billed_credit} is not the sum of the "
                                                f"credits listed ({credited})")
        for credit in self.credits:
            if credit.applied_when not in CREDIT_APPLIED_WHEN:
                raise InvalidInput("credits", f"applied when {credit.applied_when!r}; say "
                                              f"{', '.join(CREDIT_APPLIED_WHEN)}")

    def _check_billed_amount(self, name: str) -> None:
        """A billed amount is Money, in the invoice's currency, and not negative."""
        amount = getattr(self, name)
        if type(amount) is not Money:
            raise TypeError(f"{name}: expected Money, got {type(amount).__name__}")
        if amount.currency != self.currency:
            raise InvalidInput(name, f"is in {amount.currency}, the invoice in "
                                     f"{self.currency}")
        if amount.is_negative:
            raise InvalidInput(name, f"{amount} is negative")

    @property
    def misapplied_credit(self) -> Money:
        """Credits the old system applied after the invoice was finalized or paid."""
        return sum((c.amount for c in self.credits if c.applied_when in _FINAL),
                   Money.zero(self.currency))

    @property
    def charged(self) -> Money:
        """What the customer was charged: the billed total plus credits that never reached them."""
        return self.billed_total + self.misapplied_credit


@dataclass(frozen=True, slots=True)
class LegacyAllocationShare:
    """One tenant's billed part of a legacy shared-cost split ``allocation_id``."""

    tenant_id: str
    allocation_id: str
    period_label: str
    total: Money
    weight: Decimal
    billed_share: Money
    line_no: int = 0


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One rule's part of the gap between what a legacy record charged and the correct figure.

    ``billed`` and ``correct`` are the record's figures (an invoice's charged and
    correct totals, or a tenant's billed and correct share); ``difference`` is
    this rule's part of ``billed - correct`` (positive: the customer paid too much).
    """

    source: Source
    tenant_id: str
    legacy_id: str
    period_label: str
    rule: Rule
    billed: Money
    correct: Money
    difference: Money
    explanation: str
    line_no: int = 0

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What identifies the discrepancy, and its correction: tenant, source, record, rule."""
        return (self.tenant_id, str(self.source), self.legacy_id, str(self.rule))

    @property
    def action(self) -> Action:
        if self.rule == Rule.DUPLICATE_INVOICE:
            return Action.VOID
        return Action.CREDIT_NOTE if self.difference.amount > 0 else Action.REPORT

    @property
    def rule_label(self) -> str:
        return RULE_LABELS[self.rule]


@dataclass(frozen=True, slots=True)
class RuleTotal:
    """All discrepancies of one rule in one currency: overcharged, undercharged, net."""

    rule: Rule | None
    """None on the overall rows."""
    currency: str
    count: int
    overcharged: Money
    undercharged: Money

    @property
    def net(self) -> Money:
        return self.overcharged - self.undercharged


@dataclass(frozen=True, slots=True)
class ReconciliationTotals:
    by_rule: tuple[RuleTotal, ...]
    overall: tuple[RuleTotal, ...]
    """One row per currency, ``rule`` None."""


def reconcile(invoices: Iterable[LegacyInvoice],
              allocations: Iterable[LegacyAllocationShare] = ()) -> list[Discrepancy]:
    """Every discrepancy in the legacy records, in the order given; see the module docstring.

    A correct legacy invoice yields none. SPEC 3: billed $502.00 for $1000.00
    from 2024-11-16 in November 2024 -> one proration discrepancy of $2.00.
    """
    found: list[Discrepancy] = []
    kept: dict[tuple[str, object], LegacyInvoice] = {}
    for invoice in invoices:
        if invoice.status == InvoiceStatus.VOID:
            continue  # the old system cancelled it: nothing was charged
        slot = (invoice.tenant_id, invoice.period.start)
        first = kept.get(slot)
        if first is not None:
            found.append(_duplicate(invoice, first))
            continue
        kept[slot] = invoice
        found.extend(reconcile_invoice(invoice))
    found.extend(reconcile_allocations(allocations))
    return found


def reconcile_invoice(invoice: LegacyInvoice) -> list[Discrepancy]:
    """The discrepancies of one invoice on its own (no duplicate check); see the chain above."""
    currency = invoice.currency
    zero = Money.zero(currency)
    valid_credit = invoice.billed_credit - invoice.misapplied_credit
    credit_balance = valid_credit if valid_credit else None
    correct = price_invoice(invoice.period, invoice.plan_changes, invoice.usage,
                            invoice.discounts, credit_balance)
    recurring = sum((line.amount for line in correct.lines if line.kind == LineKind.RECURRING),
                    zero)
    usage = sum((line.amount for line in correct.lines if line.kind == LineKind.USAGE), zero)

    def after_discounts_and_credit(subtotal: Money) -> Money:
        total = apply_discounts(subtotal, invoice.discounts).total if invoice.discounts \
            else subtotal
        return total - min(valid_credit, total)

    billed_subtotal = invoice.billed_recurring + invoice.billed_usage
    charged = invoice.charged
    step0 = charged
    step1 = after_discounts_and_credit(billed_subtotal)
    step2 = (step1 if recurring == invoice.billed_recurring
             else after_discounts_and_credit(recurring + invoice.billed_usage))
    step3 = correct.total
    misapplied = invoice.misapplied_credit
    correct_total = step3 - misapplied

    found: list[Discrepancy] = []

    def add(rule: Rule, difference: Money, explanation: str) -> None:
        if difference:
            found.append(Discrepancy(Source.INVOICE, invoice.tenant_id, invoice.legacy_id,
                                     invoice.period.label, rule, charged, correct_total,
                                     difference, explanation, invoice.line_no))

    if step0 != step1:
        expected = billed_subtotal - apply_discounts(billed_subtotal, invoice.discounts).total
        legacy = apply_discounts_legacy_order(billed_subtotal, invoice.discounts)
        old_order = billed_subtotal - legacy.total
        if invoice.billed_discount == old_order:
            add(Rule.DISCOUNT_ORDER, step0 - step1,
                f"discounts of {format_money(invoice.billed_discount)} were taken with fixed "
                f"amounts first; percentages first gives {format_money(expected)} off "
                f"{format_money(billed_subtotal)}")
        else:
            add(Rule.UNEXPLAINED, step0 - step1,
                f"billed discount {format_money(invoice.billed_discount)} is neither the correct "
                f"{format_money(expected)} nor the old order's {format_money(old_order)}")
    add(Rule.PRORATION, step1 - step2,
        f"recurring charge billed {format_money(invoice.billed_recurring)}; "
        f"{_segments_text(correct.lines)} gives {format_money(recurring)}")
    if step2 != step3:
        at_or_below = all(used <= plan.included_base_units for plan, used in invoice.usage)
        if at_or_below and invoice.billed_usage:
            used_text = ", ".join(f"{used:,} of {plan.included_base_units:,} included"
                                  for plan, used in invoice.usage) or "no usage"
            add(Rule.OVERAGE_AT_LIMIT, step2 - step3,
                f"overage of {format_money(invoice.billed_usage)} billed at {used_text}: "
                "usage must exceed the included quantity")
        else:
            add(Rule.UNEXPLAINED, step2 - step3,
                f"usage billed {format_money(invoice.billed_usage)}; the rules give "
                f"{format_money(usage)}")
    add(Rule.CREDIT_ON_FINALIZED, misapplied,
        f"a credit of {format_money(misapplied)} was applied after the invoice was finalized; "
        "it never reached the customer and belongs on the credit balance")
    return found


def reconcile_allocations(shares: Iterable[LegacyAllocationShare]) -> list[Discrepancy]:
    """Per tenant, the billed share against ``split_by_weights`` of the same total and weights."""
    groups: dict[str, list[LegacyAllocationShare]] = {}
    for share in shares:
        groups.setdefault(share.allocation_id, []).append(share)
    found: list[Discrepancy] = []
    for allocation_id, rows in groups.items():
        total = rows[0].total
        split = split_by_weights(total, {row.tenant_id: row.weight for row in rows})
        billed_sum = sum((row.billed_share for row in rows), Money.zero(total.currency))
        for row in rows:
            correct = split.amount_for(row.tenant_id)
            if row.billed_share != correct:
                found.append(Discrepancy(
                    Source.ALLOCATION, row.tenant_id, allocation_id, row.period_label,
                    Rule.ALLOCATION_ROUNDING, row.billed_share, correct,
                    row.billed_share - correct,
                    f"billed shares add up to {format_money(billed_sum)} of "
                    f"{format_money(total)}; the largest remainder method gives this tenant "
                    f"{format_money(correct)} (weight {row.weight.normalize():f})",
                    row.line_no))
    return found


def summarize(discrepancies: Iterable[Discrepancy]) -> ReconciliationTotals:
    """Totals per rule and overall, per currency: how much was overcharged and undercharged."""
    by_rule: dict[tuple[Rule, str], list[Money]] = {}
    overall: dict[str, list[Money]] = {}
    for item in discrepancies:
        by_rule.setdefault((item.rule, item.difference.currency), []).append(item.difference)
        overall.setdefault(item.difference.currency, []).append(item.difference)
    order = list(Rule)
    rule_rows = tuple(_rule_total(rule, currency, amounts)
                      for (rule, currency), amounts in sorted(
                          by_rule.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])))
    overall_rows = tuple(_rule_total(None, currency, amounts)
                         for currency, amounts in sorted(overall.items()))
    return ReconciliationTotals(rule_rows, overall_rows)


def _rule_total(rule: Rule | None, currency: str, amounts: Sequence[Money]) -> RuleTotal:
    zero = Money.zero(currency)
    over = sum((a for a in amounts if a.amount > 0), zero)
    under = sum((-a for a in amounts if a.amount < 0), zero)
    return RuleTotal(rule, currency, len(amounts), over, under)


def _duplicate(invoice: LegacyInvoice, first: LegacyInvoice) -> Discrepancy:
    zero = Money.zero(invoice.currency)
    return Discrepancy(
        Source.INVOICE, invoice.tenant_id, invoice.legacy_id, invoice.period.label,
        Rule.DUPLICATE_INVOICE, invoice.charged, zero, invoice.charged,
        f"{invoice.legacy_id} bills {invoice.period.label} again; {first.legacy_id} "
        "already does (one non-void invoice per tenant and period)", invoice.line_no)


def apply_discounts_legacy_order(subtotal: Money,
                                 discounts: Iterable[PercentOff | FixedOff]) -> DiscountResult:
    """The OLD, WRONG discount order, kept only to recognise and explain old bills.

    Before SPEC 4 was written down, every FixedOff came off the subtotal first
    (in listed order) and every PercentOff was then taken of what was left:
    the customer lost the percentage on the fixed amounts as well. Nothing
    that prices an invoice calls this; ``reconcile_invoice`` uses it to tell a
    discount-order error from an unexplained one, and the Preview screen shows
    it beside the correct price so support can reproduce a disputed old bill.
    Each step is rounded once, like the correct order; the total never goes
    below zero and an unused fixed amount is reported.

    $1000.00, 10% and $50.00 -> steps -$50.00, -$95.00; total $855.00 (correct: $850.00).
    """
    discounts = list(discounts)
    currency = subtotal.currency
    running = subtotal
    unused = Money.zero(currency)
    steps: list[InvoiceLine] = []
    for discount in discounts:
        if type(discount) is not FixedOff:
            continue
        if discount.amount.currency != currency:
            raise CurrencyMismatch(currency, discount.amount.currency, "discount")
        used = min(discount.amount, running)
        unused = unused + (discount.amount - used)
        steps.append(InvoiceLine(LineKind.DISCOUNT, discount.label, -used, -used.amount,
                                 f"{discount.amount} off {running} (fixed amounts first)"))
        running = running - used
    for discount in discounts:
        if type(discount) is not PercentOff:
            continue
        exact = running * discount.percent / 100
        step = exact.rounded()
        steps.append(InvoiceLine(LineKind.DISCOUNT, discount.label, -step, -exact.amount,
                                 f"{discount.percent:f}% of {running} -> -{step}"))
        running = running - step
    return DiscountResult(tuple(steps), running, unused)


def _segments_text(lines: Sequence[object]) -> str:
    parts = [f"{line.description} {format_money(line.amount)}"  # type: ignore[attr-defined]
             for line in lines if line.kind == LineKind.RECURRING]  # type: ignore[attr-defined]
    return "prorating by days (" + " + ".join(parts) + ")" if parts else "the plan segments"
