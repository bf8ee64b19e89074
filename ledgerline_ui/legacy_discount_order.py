"""The discount order Ledgerline used before the fix, kept only to explain old bills.

Before SPEC 4 was written down, fixed amounts (promotional credits) came off
the subtotal first and percentages were then taken of what was left. On
$1000.00 with a 10% enterprise discount and a $50.00 promotional credit that
charged (1000 - 50) * 0.90 = **$855.00** instead of the correct $850.00: the
customer lost the 10% on the $50.00 as well. Support needs to reproduce that
figure to explain a disputed past invoice, so the wrong order lives here,
clearly named, next to the screens and never in `billing_core`, where nothing
that prices a real invoice can reach it.

Each step is rounded once, like the correct order; the total never goes below zero.
"""

from __future__ import annotations

from collections.abc import Iterable

from billing_core.discounts import DiscountResult, FixedOff, PercentOff
from billing_core.errors import CurrencyMismatch
from billing_core.invoices import InvoiceLine, LineKind
from billing_core.money import Money


def apply_discounts_legacy_order(subtotal: Money,
                                 discounts: Iterable[PercentOff | FixedOff]) -> DiscountResult:
    """The OLD, WRONG order: every FixedOff first (listed order), then every PercentOff.

    $1000.00, 10% and $50.00 -> steps -$50.00, -$95.00; total $855.00 (correct: $850.00).
    """
    discounts = list(discounts)
    currency = subtotal.currency
    running = subtotal
    unused = Money.zero(currency)
    steps: list[InvoiceLine] = []
    for discount in discounts:
        if not isinstance(discount, FixedOff):
            continue
        if discount.amount.currency != currency:
            raise CurrencyMismatch(currency, discount.amount.currency, "discount")
        used = min(discount.amount, running)
        unused = unused + (discount.amount - used)
        steps.append(InvoiceLine(LineKind.DISCOUNT, discount.label, -used, -used.amount,
                                 f"{discount.amount} off {running} (fixed amounts first)"))
        running = running - used
    for discount in discounts:
        if not isinstance(discount, PercentOff):
            continue
        exact = running * discount.percent / 100
        step = exact.rounded()
        steps.append(InvoiceLine(LineKind.DISCOUNT, discount.label, -step, -exact.amount,
                                 f"{discount.percent.normalize():f}% of {running} -> -{step}"))
        running = running - step
    return DiscountResult(tuple(steps), running, unused)

