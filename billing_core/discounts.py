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
from billing_core.lines import InvoiceLine, LineKind, describe_exact, make_lazy_line
from billing_core.money import (
    Money,
    _money_from_minor,
    exact_quotient,
    exact_ratio,
    exact_share,
    format_money,
    scaled_minor_units,
    share_minor_units,
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
    """
    if type(subtotal) is not Money:
        raise TypeError(f"subtotal: expected Money, got {type(subtotal).__name__}")
    steps, total, unused, _ = discount_steps(subtotal, scaled_minor_units(subtotal), discounts)
    result = _new(DiscountResult)
    _set_steps(result, tuple(steps))
    _set_total(result, total)
    _set_unused(result, unused)
    return result


def discount_steps(
    subtotal: Money, subtotal_minor: int | None, discounts: Iterable[PercentOff | FixedOff]
) -> tuple[list[InvoiceLine], Money, Money, int | None]:
    # Private to billing_core (price_invoice): ``apply_discounts`` as (steps,
    # total, unused, total in minor units or None). ``subtotal_minor`` is the
    # subtotal in minor units when its Decimal sits at the currency's scale
    # (as every sum of lines does, see ``scaled_minor_units``); the steps are
    # then worked out on integers for as long as every amount does. None: in
    # Decimal, as before. Both give the same Decimals, digit for digit.
    if subtotal.amount < 0:
        raise InvalidInput("subtotal", f"{subtotal} is negative; there is nothing to discount")
    currency = subtotal.currency
    percents: list[PercentOff] = []
    fixed: list[FixedOff] = []
    for discount in discounts:
        kind = type(discount)
        if kind is PercentOff:
            percents.append(discount)
        elif kind is FixedOff:
            fixed.append(discount)
        else:
            raise TypeError(f"discounts: expected PercentOff or FixedOff, got {kind.__name__}")

    steps: list[InvoiceLine] = []
    running = subtotal  # the Decimal path's running total; unused while running_minor is set
    running_minor = subtotal_minor
    for discount in percents:
        percent = discount.percent
        if running_minor is not None:
            numerator, denominator = exact_ratio(percent)
            step_minor = share_minor_units(running_minor, numerator, denominator * 100)
            if step_minor is not None:
                steps.append(
                    make_lazy_line(
                        LineKind.DISCOUNT,
                        discount.label,
                        _money_from_minor(-step_minor, currency),
                        None,
                        (_explain_percent_of_minor, percent, running_minor),
                    )
                )
                running_minor -= step_minor
                continue
            running = _money_from_minor(running_minor, currency)
            running_minor = None  # beyond the integer path: Decimal from here on
        step = exact_share(running, percent, 100)[1]
        steps.append(
            make_lazy_line(
                LineKind.DISCOUNT, discount.label, -step, None, (_explain_percent, percent, running)
            )
        )
        running = running - step

    unused = Money.zero(currency)
    unused_minor = 0
    for discount in fixed:
        offered = discount.amount
        if offered.currency != currency:
            raise CurrencyMismatch(currency, offered.currency, "discount")
        if running_minor is not None:
            offered_minor = scaled_minor_units(offered)
            if offered_minor is not None:
                used_minor = offered_minor if offered_minor <= running_minor else running_minor
                unused_minor += offered_minor - used_minor
                steps.append(
                    make_lazy_line(
                        LineKind.DISCOUNT,
                        discount.label,
                        _money_from_minor(-used_minor, currency),
                        None,
                        (_explain_fixed_of_minor, offered, running_minor),
                    )
                )
                running_minor -= used_minor
                continue
            running = _money_from_minor(running_minor, currency)
            running_minor = None
            if unused_minor:
                unused = _money_from_minor(unused_minor, currency)
        if offered.amount <= running.amount:
            used = offered
        else:
            used = running
            unused = unused + (offered - running)
        steps.append(
            make_lazy_line(
                LineKind.DISCOUNT, discount.label, -used, None, (_explain_fixed, offered, running)
            )
        )
        running = running - used
    if running_minor is not None:
        if percents or fixed:
            running = _money_from_minor(running_minor, currency)
        if unused_minor:
            unused = _money_from_minor(unused_minor, currency)
    return steps, running, unused, running_minor


def _explain_percent_of_minor(
    line: InvoiceLine, percent: Decimal, running_minor: int
) -> tuple[Decimal, str]:
    return _explain_percent(line, percent, _money_from_minor(running_minor, line.amount.currency))


def _explain_percent(line: InvoiceLine, percent: Decimal, running: Money) -> tuple[Decimal, str]:
    """A percentage step's exact amount and sentence, worked out on first use."""
    exact, is_exact = exact_quotient(running, percent, 100)
    return exact.copy_negate(), (  # not -exact: unary minus would round to 28 digits
        f"{percent}% of {format_money(running)} = "
        f"{describe_exact(exact, is_exact)} -> -{format_money(-line.amount)}"
    )


def _explain_fixed_of_minor(
    line: InvoiceLine, offered: Money, running_minor: int
) -> tuple[Decimal, str]:
    return _explain_fixed(line, offered, _money_from_minor(running_minor, line.amount.currency))


def _explain_fixed(line: InvoiceLine, offered: Money, running: Money) -> tuple[Decimal, str]:
    """A fixed step's exact amount and sentence, worked out on first use."""
    if offered.amount <= running.amount:
        used = offered
        explanation = f"{format_money(offered)} off {format_money(running)}"
    else:
        used = running
        explanation = (
            f"{format_money(offered)} offered, only {format_money(used)} used so the "
            f"total stays at zero; {format_money(offered - running)} unused"
        )
    return used.amount.copy_negate(), explanation


# Pricing builds a DiscountResult per invoice from values it has just made.
_new = object.__new__
_set_steps = DiscountResult.__dict__["steps"].__set__
_set_total = DiscountResult.__dict__["total"].__set__
_set_unused = DiscountResult.__dict__["unused"].__set__
