"""Drafts priced again: what changes, what stays, and finalizing what was reviewed (SPEC 11, 13).

A draft is priced when it is generated and again whenever something it is
priced from changes inside its period: a plan change, a discount, usage. The
new pricing replaces every recurring, usage and discount line; the credits the
draft already carries (the credit balance it consumed when generated, service
credits applied to it since) stay as they are, after the new lines, because
they are money the tenant was given, not a price. If the new total cannot
hold them, the draft is not silently cut: re-pricing is refused, and finance
voids the draft (its credit returns to the balance) and generates it again.

Each re-pricing bumps the draft's price version. A person finalizes the
version they reviewed; if it was re-priced since, finalizing is refused with
the total they saw and the total it has now:
"Invoice #12 changed since you opened it: $800.00 is now $812.40; review it again".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from billing_core.errors import BillingError
from billing_core.invoices import PricedInvoice
from billing_core.lines import InvoiceLine
from billing_core.money import Money, format_money


class DraftChanged(BillingError):
    """Finalizing names a price version the draft has left behind."""

    def __init__(self, invoice: str, reviewed_total: Money | None, current_total: Money) -> None:
        self.invoice = invoice
        self.reviewed_total = reviewed_total
        self.current_total = current_total
        change = (f"{format_money(reviewed_total)} is now {format_money(current_total)}"
                  if reviewed_total is not None
                  else f"it is now {format_money(current_total)}")
        super().__init__(f"Invoice {invoice} changed since you opened it: {change}; "
                         "review it again")


class CreditsExceedNewTotal(BillingError):
    """A re-priced draft's total would be smaller than the credits it already carries."""

    def __init__(self, invoice: str, credit: Money, new_total: Money) -> None:
        self.invoice = invoice
        self.credit = credit
        self.new_total = new_total
        super().__init__(
            f"Invoice {invoice} carries {format_money(credit)} of credit, more than its new "
            f"total {format_money(new_total)}: void the draft (its credit returns to the "
            "balance) and generate it again")


def check_reviewed_version(invoice: str, reviewed_version: int | None, current_version: int,
                           reviewed_total: Money | None, current_total: Money) -> None:
    """Refuse (DraftChanged) when the version reviewed is not the draft's current one.

    `reviewed_version` None means the caller showed no version (a job finalizing what it
    generated): nothing to compare.
    """
    if reviewed_version is None:
        return
    if type(reviewed_version) is not int:
        raise TypeError(f"reviewed_version: expected int, got {type(reviewed_version).__name__}")
    if reviewed_version != current_version:
        raise DraftChanged(invoice, reviewed_total, current_total)


@dataclass(frozen=True, slots=True)
class RepricedBreakdown:
    """A draft's new lines (new prices first, then the credits it kept) and totals."""

    lines: tuple[InvoiceLine, ...]
    subtotal: Money
    discount_total: Money
    credit: Money
    total: Money
    unused_fixed_discount: Money


def keep_credits(invoice: str, priced: PricedInvoice,
                 credit_lines: Sequence[InvoiceLine]) -> RepricedBreakdown:
    """The re-priced draft: `priced` (priced without any credit balance) followed by the
    credit lines the draft carried.

    SPEC 11 example: a $1,000.00 draft with a $200.00 credit, upgraded so it prices at
    $1,100.00, becomes $1,100.00 - $200.00 = $900.00; priced at $150.00 it is refused.
    """
    credit = sum((-line.amount for line in credit_lines), Money.zero(priced.currency))
    if credit > priced.total:
        raise CreditsExceedNewTotal(invoice, credit, priced.total)
    return RepricedBreakdown(
        lines=priced.lines + tuple(credit_lines), subtotal=priced.subtotal,
        discount_total=priced.discount_total, credit=credit, total=priced.total - credit,
        unused_fixed_discount=priced.unused_fixed_discount)
