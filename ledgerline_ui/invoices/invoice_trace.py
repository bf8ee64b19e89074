"""An invoice's calculation trace: every line, the math behind it, and the sum.

Finance must be able to check an invoice without trusting a single number that
is not on the page. So the invoice screen (and the PDF) show, for each line in
the order it was priced: what it is (plan segment, usage, discount step, credit),
the sentence that shows the arithmetic (days used of days in the period, the
percentage of the running amount, the credit taken), the exact amount before
rounding, the rounded amount, and the running total. Then the lines are added
up in front of the reader and compared with the stored total.

The arithmetic on money lives here, not in the page: the page only renders
what `invoice_trace` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from billing_core.lines import LineKind
from billing_core.money import (
    CURRENCY_EXPONENTS,
    CURRENCY_SYMBOLS,
    ROUNDING_MODE_LABEL,
    Money,
    rounding_adjustment,
)
from billing_core.money_text import plain_digits
from db.reads.invoices import InvoiceDetail, LineView
from ledgerline_ui.tables.formatting import money

KIND_LABELS: Mapping[LineKind, str] = MappingProxyType({
    LineKind.RECURRING: "Plan",
    LineKind.USAGE: "Usage",
    LineKind.DISCOUNT: "Discount",
    LineKind.CREDIT: "Credit",
})


@dataclass(frozen=True, slots=True)
class TraceRow:
    step: int
    kind: str
    description: str
    calculation: str
    exact: str
    rounding: str
    amount: str
    running_total: str


@dataclass(frozen=True, slots=True)
class InvoiceTrace:
    rows: tuple[TraceRow, ...]
    lines_sum: Money
    sum_text: str
    """The addition written out: "$300.00 + $500.00 = $800.00"."""
    matches_total: bool
    totals_text: str
    """Subtotal - discounts - credit = total, written out."""


def invoice_trace(detail: InvoiceDetail) -> InvoiceTrace:
    """The trace of `detail`'s lines in order, with the running total and the check sum."""
    invoice = detail.invoice
    currency = invoice.total.currency
    running = Money.zero(currency)
    rows = []
    for line in detail.lines:
        running = running + line.amount
        rows.append(TraceRow(
            step=line.line_no,
            kind=KIND_LABELS[LineKind(line.kind)],
            description=line.description,
            calculation=line.explanation,
            exact=exact_money_text(line.exact_amount, currency),
            rounding=rounding_text(line),
            amount=money(line.amount),
            running_total=money(running),
        ))
    terms = [money(line.amount) for line in detail.lines]
    addition = " + ".join(terms).replace("+ -", "- ") if terms else money(running)
    sum_text = f"{addition} = {money(running)}"
    totals_text = (f"Subtotal {money(invoice.subtotal)} - discounts {money(invoice.discount)}"
                   f" - credit {money(invoice.credit)} = total {money(invoice.total)}")
    return InvoiceTrace(tuple(rows), running, sum_text, running == invoice.total, totals_text)


def exact_money_text(exact: Decimal, currency: str) -> str:
    """The unrounded amount as money, every digit kept, at least to the minor unit.

    `Decimal("-100.00000000")` in USD -> "-$100.00"; `Decimal("333.3333333")` -> "$333.3333333".
    Trailing zeros are cut from the text; nothing is rounded, however many digits there are.
    """
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    whole, _, decimals = plain_digits(exact.copy_abs()).partition(".")
    # Built from the text: abs() and formatting with a precision ("{:,.50f}") both round
    # to the context's 28 digits (copy_abs() does not). Padding adds only zeros.
    grouped = f"{int(whole):,}"
    if exponent or decimals:
        grouped += "." + decimals.ljust(exponent, "0")
    symbol = CURRENCY_SYMBOLS.get(currency)
    prefix = symbol if symbol else f"{currency} "
    return f"-{prefix}{grouped}" if exact < 0 else f"{prefix}{grouped}"


def rounding_text(line: LineView) -> str:
    """'exact' when nothing was rounded, else the adjustment rounding made (once, ROUNDING_MODE)."""
    adjustment = rounding_adjustment(line.amount, line.exact_amount)
    if adjustment == 0:
        return "exact, no rounding"
    sign = "+" if adjustment > 0 else "-"
    return f"rounded {ROUNDING_MODE_LABEL} once ({sign}{plain_digits(adjustment.copy_abs())})"
