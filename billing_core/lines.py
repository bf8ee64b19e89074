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

from billing_core.errors import InvalidInput
from billing_core.money import Money, minor_units_ratio, money_from_minor, round_ratio, to_decimal


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

    __slots__ = ("kind", "description", "amount", "quantity", "_exact", "_explanation", "_explain")
    __match_args__ = ("kind", "description", "amount", "exact_amount", "explanation", "quantity")

    kind: LineKind
    description: str
    amount: Money
    quantity: int | None
    _exact: Decimal
    _explanation: str
    _explain: tuple | None  # (write, *facts) until the sentence is written

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
        _set_kind(self, kind)
        _set_description(self, description)
        _set_amount(self, amount)
        _set_quantity(self, quantity)
        _set_exact(self, exact)
        _set_explanation(self, explanation)
        _set_explain(self, None)

    @property
    def exact_amount(self) -> Decimal:
        """The unrounded amount behind ``amount`` (negative for discounts and credits)."""
        if self._explain is not None:
            self._write_explanation()
        return self._exact

    @property
    def explanation(self) -> str:
        """The plain sentence that shows the arithmetic."""
        if self._explain is not None:
            self._write_explanation()
        return self._explanation

    def _write_explanation(self) -> None:
        explain = self._explain
        if explain is None:  # another thread got here first
            return
        exact, explanation = explain[0](self, *explain[1:])
        _set_exact(self, exact)
        _set_explanation(self, explanation)
        _set_explain(self, None)

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

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple:
        # Pickle and copy the written values, never the way to write them.
        return (InvoiceLine, self._fields())


# A frozen class sets its own slots through their descriptors, as a frozen dataclass does.
_set_kind = InvoiceLine.__dict__["kind"].__set__
_set_description = InvoiceLine.__dict__["description"].__set__
_set_amount = InvoiceLine.__dict__["amount"].__set__
_set_quantity = InvoiceLine.__dict__["quantity"].__set__
_set_exact = InvoiceLine.__dict__["_exact"].__set__
_set_explanation = InvoiceLine.__dict__["_explanation"].__set__
_set_explain = InvoiceLine.__dict__["_explain"].__set__


def priced_line(
    kind: LineKind, description: str, amount: Money, quantity: int | None, explain: tuple
) -> InvoiceLine:
    """A line that a rule of billing_core has just priced, with its sentence still to write.

    ``explain`` is ``(write, *facts)``: ``write(line, *facts)`` returns
    ``(exact_amount, explanation)`` when either is first read. The facts are
    immutable values, so the answer is the same whenever it is asked. The
    arguments are not checked again: the rule made them (``amount`` is
    rounded, ``kind`` a LineKind).
    """
    line = object.__new__(InvoiceLine)
    _set_kind(line, kind)
    _set_description(line, description)
    _set_amount(line, amount)
    _set_quantity(line, quantity)
    _set_explain(line, explain)
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
    numerator, denominator = minor_units_ratio(price)
    minor = round_ratio(numerator * part, denominator * whole)
    amount = money_from_minor(minor, price.currency)
    return priced_line(kind, description, amount, part, explain), minor


def describe_exact(value: Decimal, is_exact: bool) -> str:
    """The exact value for an explanation: "500.00", or "322.580645161290... (repeating)"."""
    text = format(value, "f")
    if is_exact:
        return text
    head, _, tail = text.partition(".")
    return f"{head}.{tail[:12]}... (repeating)"
