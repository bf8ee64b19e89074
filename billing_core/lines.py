"""Invoice lines: one billable amount and the sentence that explains it.

A line is what a finance user reads on an invoice and what the database
stores: its kind (recurring, usage, discount, credit), a description, the
amount rounded once to the minor unit, the exact amount before that rounding,
and a plain explanation that shows the arithmetic ("15 of 30 days x $1,000.00
= 1000.00 x 15 / 30 = 500 -> $500.00"). Discounts and credits are lines with
negative amounts, so an invoice's lines always add up to its total: there is
no hidden adjustment between what is listed and what is owed.

Lines live in their own small module because proration, usage, discounts and
invoices all make them; ``billing_core.invoices`` re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from billing_core.errors import InvalidInput
from billing_core.money import Money, to_decimal


class LineKind(StrEnum):
    RECURRING = "recurring"
    USAGE = "usage"
    DISCOUNT = "discount"
    CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """``InvoiceLine(kind, description, amount, exact_amount, explanation, quantity=None)``.

    ``amount`` is rounded once to the minor unit; ``exact_amount`` is the
    unrounded value it came from; ``quantity`` is the counted thing behind the
    line when there is one (segment days, overage base units).

    SPEC 3: ``InvoiceLine("recurring", "Compute", Money("500.00", "USD"),
    Decimal("500"), "15 of 30 days x $1,000.00 = ... -> $500.00", 15)``.
    """

    kind: LineKind
    description: str
    amount: Money
    exact_amount: Decimal
    explanation: str
    quantity: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", LineKind(self.kind))
        if type(self.amount) is not Money:
            raise TypeError(f"amount: expected Money, got {type(self.amount).__name__}")
        if not self.amount.is_rounded:
            raise InvalidInput("amount", f"{self.amount.amount} is not rounded to the minor unit")
        object.__setattr__(self, "exact_amount", to_decimal(self.exact_amount, "exact_amount"))
        if self.quantity is not None and type(self.quantity) is not int:
            raise TypeError(f"quantity: expected an int, got {type(self.quantity).__name__}")


_new = object.__new__
_set_kind = InvoiceLine.__dict__["kind"].__set__
_set_description = InvoiceLine.__dict__["description"].__set__
_set_amount = InvoiceLine.__dict__["amount"].__set__
_set_exact_amount = InvoiceLine.__dict__["exact_amount"].__set__
_set_explanation = InvoiceLine.__dict__["explanation"].__set__
_set_quantity = InvoiceLine.__dict__["quantity"].__set__


def make_line(
    kind: LineKind,
    description: str,
    amount: Money,
    exact_amount: Decimal,
    explanation: str,
    quantity: int | None = None,
) -> InvoiceLine:
    # Private to billing_core: the pricing functions build lines from values
    # they have just computed and rounded, so the public checks would only cost
    # time on the hot path (100,000 invoices a second).
    line = _new(InvoiceLine)
    _set_kind(line, kind)
    _set_description(line, description)
    _set_amount(line, amount)
    _set_exact_amount(line, exact_amount)
    _set_explanation(line, explanation)
    _set_quantity(line, quantity)
    return line


def describe_exact(value: Decimal, is_exact: bool) -> str:
    """The exact value for an explanation: "500.00", or "322.580645161290... (repeating)"."""
    text = format(value, "f")
    if is_exact:
        return text
    head, _, tail = text.partition(".")
    return f"{head}.{tail[:12]}... (repeating)"
