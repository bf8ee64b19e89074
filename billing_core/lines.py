"""Invoice lines: one billable amount and the sentence that explains it.

A line is what a finance user reads on an invoice and what the database
stores: its kind (recurring, usage, discount, credit), a description, the
amount rounded once to the minor unit, the exact amount before that rounding,
and a plain explanation that shows the arithmetic ("15 of 30 days from
2024-11-16 x $1,000.00 = 1000.00 x 15 / 30 = 500.00 -> $500.00"). Discounts and
credits are lines with negative amounts, so an invoice's lines always add up
to its total: there is no hidden adjustment between what is listed and what
is owed.

Lines live in their own small module because proration, usage, discounts and
invoices all make them; ``billing_core.invoices`` re-exports both names.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter
from typing import Any

from billing_core.errors import InvalidInput
from billing_core.money import FieldValue, Money, money_from_minor, read_only, to_decimal


class LineKind(StrEnum):
    RECURRING = "recurring"
    USAGE = "usage"
    DISCOUNT = "discount"
    CREDIT = "credit"


# The kinds as plain names for the rules that price lines: reading a member from its Enum
# class goes through the class's own lookup (about 140 ns on Python 3.11, five times an
# invoice), a module name does not.
RECURRING = LineKind.RECURRING
USAGE = LineKind.USAGE
DISCOUNT = LineKind.DISCOUNT
CREDIT = LineKind.CREDIT


def _written(read: Callable[[InvoiceLine], object]) -> Callable[[InvoiceLine], Any]:
    # The exact amount or the sentence of a line (``read`` from its slot), both written on
    # the first read of either while the line still holds its facts (``priced_line``).
    def read_written(line: InvoiceLine) -> object:
        explain = line._explain
        if explain is not None:
            line._exact, line._explanation = explain[0](line, explain)
            line._explain = None  # last: a thread that still sees the facts writes the same
        return read(line)

    return read_written


class InvoiceLine(FieldValue):
    """``InvoiceLine(kind, description, amount, exact_amount, explanation, quantity=None)``.

    ``amount`` is rounded once to the minor unit; ``exact_amount`` is the
    unrounded value it came from; ``quantity`` is the counted thing behind the
    line when there is one (segment days, overage base units).

    SPEC 3: ``InvoiceLine("recurring", "Compute", Money("500.00", "USD"),
    Decimal("500"), "15 of 30 days x $1,000.00 = ... -> $500.00", 15)``.

    An immutable value with the fields above, compared and hashed by them like
    a frozen dataclass. The amount is kept as what the rules add up, whole
    minor units (``amount_minor``) beside the ``currency``; ``amount`` is that
    as Money. A line that a rule of ``billing_core`` prices (``priced_line``)
    writes its exact amount and sentence when they are first read: a preview
    prices many more lines than anyone reads, and the sentence costs more than
    the cent. Once written they are kept.
    """

    __slots__ = (
        "_kind", "_description", "_minor", "_currency", "_quantity", "_exact", "_explanation",
        "_explain",
    )
    __match_args__ = ("kind", "description", "amount", "exact_amount", "explanation", "quantity")
    FIELDS = __match_args__

    _kind: LineKind
    _description: str
    _minor: int
    _currency: str
    _quantity: int | None
    _exact: Decimal
    _explanation: str
    _explain: tuple | None  # (write, *facts) until the sentence is written; write(line, explain)

    def __init__(
        self,
        kind: LineKind | str,
        description: str,
        amount: Money,
        exact_amount: Decimal | int | str,
        explanation: str,
        quantity: int | None = None,
    ) -> None:
        kind = LineKind(kind)
        if type(amount) is not Money:
            raise TypeError(f"amount: expected Money, got {type(amount).__name__}")
        if not amount.is_rounded:
            raise InvalidInput("amount", f"{amount.amount} is not rounded to the minor unit")
        exact = to_decimal(exact_amount, "exact_amount")
        if quantity is not None and type(quantity) is not int:
            raise TypeError(f"quantity: expected an int, got {type(quantity).__name__}")
        self._kind = kind
        self._description = description
        self._minor = amount.to_minor_units()
        self._currency = amount.currency
        self._quantity = quantity
        self._exact = exact
        self._explanation = explanation
        self._explain = None

    kind: LineKind = read_only("kind", attrgetter("_kind"), "recurring, usage, discount or credit")
    description: str = read_only("description", attrgetter("_description"), "What is billed.")
    amount: Money = read_only(
        "amount", lambda line: money_from_minor(line._minor, line._currency),
        "Rounded once to the minor unit.",
    )
    amount_minor: int = read_only(
        "amount_minor", attrgetter("_minor"), "``amount`` in minor units: $500.00 -> 50000."
    )
    currency: str = read_only("currency", attrgetter("_currency"), "The amount's currency.")
    quantity: int | None = read_only(
        "quantity", attrgetter("_quantity"),
        "The counted thing behind the line (segment days, overage base units), or None.",
    )
    exact_amount: Decimal = read_only(
        "exact_amount", _written(attrgetter("_exact")),
        "The unrounded amount behind ``amount`` (negative for discounts and credits).",
    )
    explanation: str = read_only(
        "explanation", _written(attrgetter("_explanation")),
        "The plain sentence that shows the arithmetic.",
    )


_new = object.__new__


def priced_line(
    kind: LineKind, description: str, minor: int, currency: str, quantity: int | None,
    explain: tuple,
) -> InvoiceLine:
    """A line that a rule of billing_core has just priced, with its sentence still to write.

    ``minor`` is the amount in minor units of ``currency``, rounded once by the
    rule. ``explain`` is ``(write, *facts)``: ``write(line, explain)`` returns
    ``(exact_amount, explanation)`` when either is first read (the writer
    unpacks its own facts from the tuple: no slicing, no star-call per line).
    The facts are immutable values, so the answer is the same whenever it is
    asked. The arguments are not checked again: the rule made them (``kind``
    is a LineKind, ``currency`` a checked code).
    """
    line = _new(InvoiceLine)
    line._kind = kind
    line._description = description
    line._minor = minor
    line._currency = currency
    line._quantity = quantity
    line._explain = explain
    return line


def describe_exact(value: Decimal, is_exact: bool = True) -> str:
    """The exact value for an explanation: "500.00", or "322.580645161290... (repeating)"."""
    text = str(value)  # plain digits unless the exponent would show: then format "f", slower
    if "E" in text:
        text = format(value, "f")
    if is_exact:
        return text
    head, _, tail = text.partition(".")
    return f"{head}.{tail[:12]}... (repeating)"
