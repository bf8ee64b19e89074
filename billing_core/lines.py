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

from dataclasses import FrozenInstanceError
from decimal import Decimal
from enum import StrEnum

from billing_core.errors import InvalidInput
from billing_core.money import Money, to_decimal


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
    a frozen dataclass. Lines that ``billing_core`` prices itself work out
    ``exact_amount`` and ``explanation`` on first use rather than up front:
    an invoice run prices many more lines per second than anyone reads, and
    writing the sentence costs more than computing the cent. The lazy values
    are the same Decimal and the same text the eager rule would give (a unit
    test compares them), and once worked out they are kept.
    """

    __slots__ = ("kind", "description", "amount", "quantity", "_exact", "_explanation", "_recipe")
    __match_args__ = ("kind", "description", "amount", "exact_amount", "explanation", "quantity")

    kind: LineKind
    description: str
    amount: Money
    quantity: int | None

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
        _set_recipe(self, None)

    @property
    def exact_amount(self) -> Decimal:
        """The unrounded amount behind ``amount`` (negative for discounts and credits)."""
        if self._recipe is not None:
            self._work_out()
        return self._exact

    @property
    def explanation(self) -> str:
        """The plain sentence that shows the arithmetic."""
        if self._recipe is not None:
            self._work_out()
        return self._explanation

    def _work_out(self) -> None:
        recipe = self._recipe
        if recipe is None:  # another thread got here first
            return
        exact, explanation = recipe[0](self, *recipe[1:])
        _set_exact(self, exact)
        _set_explanation(self, explanation)
        _set_recipe(self, None)

    def _fields(self) -> tuple:
        return (
            self.kind, self.description, self.amount, self.exact_amount, self.explanation,
            self.quantity,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
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
        # Pickle and copy the worked-out values, never the recipe.
        return (InvoiceLine, self._fields())


_new = object.__new__
_set_kind = InvoiceLine.__dict__["kind"].__set__
_set_description = InvoiceLine.__dict__["description"].__set__
_set_amount = InvoiceLine.__dict__["amount"].__set__
_set_quantity = InvoiceLine.__dict__["quantity"].__set__
_set_exact = InvoiceLine.__dict__["_exact"].__set__
_set_explanation = InvoiceLine.__dict__["_explanation"].__set__
_set_recipe = InvoiceLine.__dict__["_recipe"].__set__


def make_lazy_line(
    kind: LineKind, description: str, amount: Money, quantity: int | None, recipe: tuple
) -> InvoiceLine:
    # Private to billing_core: ``exact_amount`` and ``explanation`` come from
    # ``recipe = (work_out, *args)`` on first use:
    # ``work_out(line, *args) -> (exact_amount, explanation)``. The arguments
    # must be immutable values, so the answer is the same whenever it is asked.
    #
    # The hot path of pricing makes several lines per invoice. A line is filled
    # in as a _LineDraft (same slots, plain attribute stores, several times
    # cheaper than calling slot descriptors) and then becomes an InvoiceLine.
    line = _new(_LineDraft)
    line.kind = kind
    line.description = description
    line.amount = amount
    line.quantity = quantity
    line._recipe = recipe
    line.__class__ = InvoiceLine
    return line


class _LineDraft:
    """An InvoiceLine being filled in by make_lazy_line; never seen outside it."""

    __slots__ = InvoiceLine.__slots__


def describe_exact(value: Decimal, is_exact: bool) -> str:
    """The exact value for an explanation: "500.00", or "322.580645161290... (repeating)"."""
    text = format(value, "f")
    if is_exact:
        return text
    head, _, tail = text.partition(".")
    return f"{head}.{tail[:12]}... (repeating)"
