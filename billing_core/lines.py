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

from dataclasses import FrozenInstanceError
from decimal import Decimal
from enum import StrEnum
from typing import NoReturn

from billing_core.errors import InvalidInput
from billing_core.money import Money, money_from_minor, share_minor, to_decimal


class LineKind(StrEnum):
    RECURRING = "recurring"
    USAGE = "usage"
    DISCOUNT = "discount"
    CREDIT = "credit"


class InvoiceLine:
    """``InvoiceLine(kind, description, amount, exact_amount, explanation, quantity=None)``.

    ``amount`` is rounded once to the minor unit; ``exact_amount`` is the
    unrounded value it came from; ``quantity`` is the counted thing behind the
    line when there is one (segment days, overage base units).

    SPEC 3: ``InvoiceLine("recurring", "Compute", Money("500.00", "USD"),
    Decimal("500"), "15 of 30 days x $1,000.00 = ... -> $500.00", 15)``.

    An immutable value with the fields above, compared and hashed by them like
    a frozen dataclass. A line that a rule of ``billing_core`` prices
    (``priced_line``) writes its exact amount and sentence when they are first
    read: a preview prices many more lines than anyone reads, and the sentence
    costs more than the cent. Once written they are kept.
    """

    __slots__ = (
        "_kind", "_description", "_amount", "_quantity", "_exact", "_explanation", "_explain"
    )
    __match_args__ = ("kind", "description", "amount", "exact_amount", "explanation", "quantity")

    # Private slots behind read-only properties, as in Money: a ``__setattr__`` that
    # refuses would make every line set its slots through descriptors, twice the cost,
    # and an invoice makes a line per rule. Assigning to or deleting a field raises
    # FrozenInstanceError (``_read_only``); a slotted class takes no other attribute.
    _kind: LineKind
    _description: str
    _amount: Money
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
        self._amount = amount
        self._quantity = quantity
        self._exact = exact
        self._explanation = explanation
        self._explain = None

    @property
    def kind(self) -> LineKind:
        return self._kind

    @kind.setter
    def kind(self, value: LineKind) -> None:
        _refuse_assignment("kind")

    @kind.deleter
    def kind(self) -> None:
        _refuse_deletion("kind")

    @property
    def description(self) -> str:
        return self._description

    @description.setter
    def description(self, value: str) -> None:
        _refuse_assignment("description")

    @description.deleter
    def description(self) -> None:
        _refuse_deletion("description")

    @property
    def amount(self) -> Money:
        """Rounded once to the minor unit."""
        return self._amount

    @amount.setter
    def amount(self, value: Money) -> None:
        _refuse_assignment("amount")

    @amount.deleter
    def amount(self) -> None:
        _refuse_deletion("amount")

    @property
    def quantity(self) -> int | None:
        """The counted thing behind the line (segment days, overage base units), or None."""
        return self._quantity

    @quantity.setter
    def quantity(self, value: int | None) -> None:
        _refuse_assignment("quantity")

    @quantity.deleter
    def quantity(self) -> None:
        _refuse_deletion("quantity")

    @property
    def exact_amount(self) -> Decimal:
        """The unrounded amount behind ``amount`` (negative for discounts and credits)."""
        explain = self._explain
        if explain is not None:  # written on first read (``priced_line``)
            self._exact, self._explanation = explain[0](self, explain)
            self._explain = None  # last: a thread that still sees the facts writes the same
        return self._exact

    @exact_amount.setter
    def exact_amount(self, value: Decimal) -> None:
        _refuse_assignment("exact_amount")

    @exact_amount.deleter
    def exact_amount(self) -> None:
        _refuse_deletion("exact_amount")

    @property
    def explanation(self) -> str:
        """The plain sentence that shows the arithmetic."""
        explain = self._explain
        if explain is not None:  # as for ``exact_amount``
            self._exact, self._explanation = explain[0](self, explain)
            self._explain = None
        return self._explanation

    @explanation.setter
    def explanation(self, value: str) -> None:
        _refuse_assignment("explanation")

    @explanation.deleter
    def explanation(self) -> None:
        _refuse_deletion("explanation")

    def _fields(self) -> tuple:
        return (
            self.kind, self.description, self.amount, self.exact_amount, self.explanation,
            self.quantity,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is InvoiceLine:
            return self._fields() == other._fields()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"InvoiceLine(kind={self.kind!r}, description={self.description!r}, "
            f"amount={self.amount!r}, exact_amount={self.exact_amount!r}, "
            f"explanation={self.explanation!r}, quantity={self.quantity!r})"
        )

    def __reduce__(self) -> tuple:
        # Pickle and copy the written values, never the way to write them.
        return (InvoiceLine, self._fields())


_new = object.__new__


def _refuse_assignment(name: str) -> NoReturn:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_deletion(name: str) -> NoReturn:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def priced_line(
    kind: LineKind, description: str, amount: Money, quantity: int | None, explain: tuple
) -> InvoiceLine:
    """A line that a rule of billing_core has just priced, with its sentence still to write.

    ``explain`` is ``(write, *facts)``: ``write(line, explain)`` returns
    ``(exact_amount, explanation)`` when either is first read (the writer
    unpacks its own facts from the tuple: no slicing, no star-call per line). The facts are
    immutable values, so the answer is the same whenever it is asked. The
    arguments are not checked again: the rule made them (``amount`` is
    rounded, ``kind`` a LineKind).
    """
    line = _new(InvoiceLine)
    line._kind = kind
    line._description = description
    line._amount = amount
    line._quantity = quantity
    line._explain = explain
    return line


def share_line(
    kind: LineKind, description: str, price: Money, part: int, whole: int, explain: tuple
) -> tuple[InvoiceLine, int]:
    """The line billing ``price * part / whole``, exactly, rounded once, and its minor units.

    The rule behind proration (``part`` of ``whole`` days of a period) and usage
    (``part`` overage base units of a billing unit of ``whole``), so ``part`` is
    the line's quantity. SPEC 3: $1000.00 for 15 of 30 days is a line of $500.00
    and 50000. ``explain`` is as for ``priced_line``.
    """
    minor = share_minor(price, part, whole)
    amount = money_from_minor(minor, price.currency)
    return priced_line(kind, description, amount, part, explain), minor


def describe_exact(value: Decimal, is_exact: bool) -> str:
    """The exact value for an explanation: "500.00", or "322.580645161290... (repeating)"."""
    text = format(value, "f")
    if is_exact:
        return text
    head, _, tail = text.partition(".")
    return f"{head}.{tail[:12]}... (repeating)"
