"""Discounts: what comes off the subtotal, and in which order.

Order changes the total, so it is a rule (SPEC 4), not a habit. First every
percentage discount, each taken off what is left after the previous one, in
the order listed (10% then 5% is 14.5% off, not 15%); then every fixed
amount (a promotional credit, a fixed discount), in the order listed. On
$1000.00 with a 10% enterprise discount and a $50.00 promotional credit the
customer owes $850.00 (``1000 * 0.90 - 50``). Taking the $50.00 first would give
$855.00, the figure from the original dispute.

Each step is rounded once (the discount is rounded, not the result) and
becomes its own negative invoice line, so the lines add up to the total. A
total never goes below zero: a fixed amount larger than what remains is used
only in part, and the unused part is reported on the result instead of
disappearing.

A percentage has at most ``MAX_PERCENT_DIGITS`` digits, checked as it enters
(``PercentOff``): 52 digits of percentage times an amount would not fit the
exact arithmetic that explains each step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from billing_core.errors import CurrencyMismatch, InvalidInput
from billing_core.lines import DISCOUNT, InvoiceLine, describe_exact, priced_line
from billing_core.money import (
    Money,
    exact_percent,
    minor_units_decimal,
    minor_units_text,
    money_from_minor,
    round_ratio,
    to_decimal,
)

MAX_PERCENT_DIGITS = 30
"""The most digits a percentage may have written out ("12.5" has 3).

An amount has at most 19 significant digits (a BIGINT of minor units); times a
percentage of at most 30 it stays within the 50 digits of exact arithmetic, so
every step is computed exactly. 33.3333333333333333333333333 % still fits.
"""


@dataclass(frozen=True, slots=True)
class PercentOff:
    """``PercentOff(percent, label)``: ``percent`` in 0..100 (``Decimal("10")`` is 10% off).

    More than ``MAX_PERCENT_DIGITS`` digits is InvalidInput (field "percent").
    """

    percent: Decimal
    label: str

    def __post_init__(self) -> None:
        percent = to_decimal(self.percent, "percent", max_digits=MAX_PERCENT_DIGITS)
        if not 0 <= percent <= 100:
            raise InvalidInput("percent", f"{percent} is outside 0..100")
        object.__setattr__(self, "percent", _without_trailing_zeros(percent))


def _without_trailing_zeros(rate: Decimal) -> Decimal:
    """``10.000000`` -> ``10``: the same rate without a storage column's scale.

    A rate read from a ``NUMERIC`` column carries that column's scale, which
    would spread into every exact amount and sentence ("10.000000% of $1,000.00
    = 100.00000000"). The digits are cut from the text, not by ``normalize()``,
    which rounds to the context's precision and writes 10 as ``1E+1``.
    """
    text = format(rate, "f")
    return Decimal(text.rstrip("0").rstrip(".")) if "." in text else rate


@dataclass(frozen=True, slots=True)
class FixedOff:
    """``FixedOff(amount, label)``: a fixed discount or promotional credit, zero or more."""

    amount: Money
    label: str

    def __post_init__(self) -> None:
        if type(self.amount) is not Money:
            raise TypeError(f"amount: expected Money, got {type(self.amount).__name__}")
        if self.amount.is_negative:
            raise InvalidInput("amount", f"{self.amount} is negative; a discount takes money off")
        if not self.amount.is_rounded:
            raise InvalidInput("amount", f"{self.amount.amount} is finer than the minor unit")


@dataclass(frozen=True, slots=True)
class DiscountResult:
    """The discount steps (negative lines, in the order applied), the total after them, and
    the part of the fixed amounts that could not be used."""

    steps: tuple[InvoiceLine, ...]
    total: Money
    unused: Money


def apply_discounts(subtotal: Money, discounts: Iterable[PercentOff | FixedOff]) -> DiscountResult:
    """``apply_discounts(subtotal, discounts) -> DiscountResult(steps, total, unused)``.

    Every PercentOff first, compounding in listed order, then every FixedOff
    in listed order; each step rounded once; never below zero.
    SPEC 4: $1000.00 with 10% and $50.00 -> steps -$100.00, -$50.00; total $850.00.
    A subtotal is a sum of rounded lines: one finer than the minor unit is
    InvalidInput (a 100% step, rounded, could take it below zero).
    """
    if type(subtotal) is not Money:
        raise TypeError(f"subtotal: expected Money, got {type(subtotal).__name__}")
    if not subtotal.is_rounded:
        raise InvalidInput("subtotal", f"{subtotal.amount} is finer than the minor unit; "
                                       "a subtotal is a sum of rounded lines")
    currency = subtotal.currency
    steps, total, unused = discount_steps(subtotal.to_minor_units(), currency, discounts)
    return DiscountResult(
        tuple(steps), money_from_minor(total, currency), money_from_minor(unused, currency)
    )


def discount_steps(
    subtotal: int, currency: str, discounts: Iterable[PercentOff | FixedOff]
) -> tuple[list[InvoiceLine], int, int]:
    # Private to billing_core (price_invoice): ``apply_discounts`` on a subtotal
    # in minor units, returning (steps, total, unused) with the totals in minor
    # units too.
    if subtotal < 0:
        shown = minor_units_text(subtotal, currency)
        raise InvalidInput("subtotal", f"{shown} is negative; there is nothing to discount")
    steps: list[InvoiceLine] = []
    running = subtotal
    # SPEC 4's order: each percentage as it is listed, compounding; the fixed amounts after
    # them all, in their listed order.
    fixed: list[FixedOff] = []
    for discount in discounts:
        if type(discount) is PercentOff:
            percent = discount.percent
            numerator, denominator = percent.as_integer_ratio()
            step = round_ratio(running * numerator, denominator * 100)
            steps.append(priced_line(DISCOUNT, discount.label, -step, currency, None,
                                     (_explain_percent, percent, running, step, currency)))
            running -= step
        elif type(discount) is FixedOff:
            if discount.amount.currency != currency:
                raise CurrencyMismatch(currency, discount.amount.currency, "discount")
            fixed.append(discount)
        else:
            kind = type(discount).__name__
            raise TypeError(f"discounts: expected PercentOff or FixedOff, got {kind}")
    unused = 0
    for fixed_off in fixed:
        offered = fixed_off.amount.to_minor_units()  # a FixedOff is rounded
        used = offered if offered < running else running
        steps.append(priced_line(DISCOUNT, fixed_off.label, -used, currency, None,
                                 (_explain_fixed, offered, running, currency)))
        unused += offered - used
        running -= used
    return steps, running, unused


def _explain_percent(line: InvoiceLine, explain: tuple) -> tuple[Decimal, str]:
    """A percentage step's exact amount and sentence, written when first read."""
    _, percent, running, step, currency = explain
    exact = exact_percent(running, currency, percent)  # always terminates: no "(repeating)"
    return exact.copy_negate(), (  # not -exact: unary minus would round to 28 digits
        f"{percent!s}% of {minor_units_text(running, currency)} = "
        f"{describe_exact(exact)} -> -{minor_units_text(step, currency)}"
    )


def _explain_fixed(line: InvoiceLine, explain: tuple) -> tuple[Decimal, str]:
    """A fixed step's exact amount (its own amount: nothing to divide) and sentence."""
    _, offered, running, currency = explain
    exact = minor_units_decimal(-min(offered, running), currency)
    if offered <= running:
        return exact, (
            f"{minor_units_text(offered, currency)} off {minor_units_text(running, currency)}"
        )
    return exact, (
        f"{minor_units_text(offered, currency)} offered, only "
        f"{minor_units_text(running, currency)} used so the total stays at zero; "
        f"{minor_units_text(offered - running, currency)} unused"
    )
