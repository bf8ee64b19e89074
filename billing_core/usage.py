"""Usage: metered quantities and the overage beyond what a plan includes.

Usage is counted in integer base units (bytes, requests, seconds) and never
in fractional "units", because a count converted to terabytes early is a
count rounded early. A plan states its billing unit explicitly as a number of
base units: a terabyte is ``10**12`` bytes and a tebibyte ``2**40`` bytes, and
plans built on them are different plans (SPEC 6), so both constants are named
here rather than guessed at in the screens.

Overage is ``max(0, used - included)``: a charge exists only when usage
*exceeds* what is included. Exactly 1 TB on a 1 TB plan is no overage; one
byte more is an overage of exactly one byte, priced exactly
(``price_per_unit * 1 / 10**12``) and rounded once.

One byte over may round to $0.00. The line still appears: the customer went
over, and the invoice should say so and show why it costs nothing, rather
than leave a usage record that no line explains. Usage at or below the limit
produces no line at all.

A quantity typed or imported as text becomes a count through
``to_base_units``, which measures it before multiplying: at most
``MAX_BASE_UNITS``, what the BIGINT column of a usage record holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, localcontext

from billing_core.errors import InvalidInput
from billing_core.lines import USAGE, InvoiceLine, describe_exact, priced_line
from billing_core.money import (
    CURRENCY_SYMBOLS,
    MAX_DIGITS,
    MAX_NUMBER_TEXT,
    Money,
    exact_quotient,
    format_money,
    minor_units_text,
    share_minor,
    to_decimal,
)
from billing_core.money_text import plain_digits

BYTES_PER_GB = 10**9
BYTES_PER_GIB = 2**30
BYTES_PER_TB = 10**12
BYTES_PER_TIB = 2**40

MAX_BASE_UNITS = 2**63 - 1
"""The most base units one quantity may count: what a BIGINT column holds (9.2 EB in bytes)."""

# Wide enough that a bounded quantity times a BIGINT of base units per unit is exact.
_SCALING = Context(prec=MAX_DIGITS + 20, traps=[Inexact])


def _require_count(value: object, field: str) -> int:
    if type(value) is not int:
        raise TypeError(f"{field}: expected an int count of base units, got {type(value).__name__}")
    if value < 0:
        raise InvalidInput(field, f"{value:,} is negative; a count cannot be")
    return value


@dataclass(frozen=True, slots=True)
class UsagePlan:
    """What a plan includes and charges beyond, in explicit units.

    ``UsagePlan(metric, unit_name, base_units_per_unit, included_base_units,
    price_per_unit, base_unit_name="unit")``. SPEC 6: a 1 TB storage plan is
    ``UsagePlan("storage", "TB", BYTES_PER_TB, BYTES_PER_TB, Money("23.00",
    "USD"), "byte")``.
    """

    metric: str
    unit_name: str
    base_units_per_unit: int
    included_base_units: int
    price_per_unit: Money
    base_unit_name: str = "unit"
    # The words of a usage line that are the plan's own (its description "storage overage";
    # in its sentence "bytes, included 1,000: overage" and "x $23.00 per TB (1,000,000,000,000
    # bytes) ="), written once: month-end prices every tenant on a plan with the one UsagePlan
    # it loaded, so each line only adds its counts.
    _words: tuple[str, str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if _require_count(self.base_units_per_unit, "base_units_per_unit") == 0:
            raise InvalidInput("base_units_per_unit", "must be at least 1")
        _require_count(self.included_base_units, "included_base_units")
        if type(self.price_per_unit) is not Money:
            raise TypeError(
                f"price_per_unit: expected Money, got {type(self.price_per_unit).__name__}"
            )
        if self.price_per_unit.is_negative:
            raise InvalidInput("price_per_unit", f"{self.price_per_unit} is negative")
        for name in ("metric", "unit_name", "base_unit_name"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(name, "needs a name")
        base = self.base_unit_name
        object.__setattr__(self, "_words", (
            f"{self.metric} overage",
            f"{base}s, included {self.included_base_units:,}: overage",
            f"x {unit_price_text(self.price_per_unit)} per {self.unit_name} "
            f"({self.base_units_per_unit:,} {base}s) =",
        ))


def to_base_units(
    quantity: Decimal | int | str, per_unit: int, field: str, base_unit_name: str = "unit"
) -> int:
    """``quantity`` in its billing unit as a whole count of base units, bounded.

    ``to_base_units("1.5", BYTES_PER_TB, "used")`` is 1_500_000_000_000 bytes,
    exactly. Read through the one number door (float is TypeError; "1e900000"
    is refused before anything is multiplied); refused with InvalidInput naming
    ``field``: a negative quantity, a fraction of a base unit, and more than
    ``MAX_BASE_UNITS``. Thousands separators ("1,000" or "1_000") are allowed.
    """
    if type(per_unit) is not int or not 1 <= per_unit <= MAX_BASE_UNITS:
        raise TypeError(f"per_unit: expected an int count of base units, got {per_unit!r}")
    text = quantity
    if type(quantity) is str and len(quantity) <= MAX_NUMBER_TEXT:  # longer: refused as it is
        text = quantity.replace(",", "").replace("_", "")
    number = to_decimal(text, field)
    shown = repr(quantity) if type(quantity) is str else str(quantity)
    if number < 0:
        raise InvalidInput(field, f"{shown} is negative; a quantity is zero or more")
    base_units = _SCALING.multiply(number, per_unit)  # at most 100 digits times 19: exact
    if base_units > MAX_BASE_UNITS:
        raise InvalidInput(field, f"{shown} is too large (at most {MAX_BASE_UNITS:,} "
                                  f"{base_unit_name}s)")
    if base_units != base_units.to_integral_value():
        raise InvalidInput(field, f"{shown} is not a whole number of {base_unit_name}s")
    return int(base_units)


def overage(used: int, included: int) -> int:
    """``overage(used, included) -> int``: base units strictly above the included quantity.

    SPEC 6: ``overage(10**12, 10**12) == 0``; ``overage(10**12 + 1, 10**12) == 1``.
    """
    used = _require_count(used, "used")
    included = _require_count(included, "included")
    return used - included if used > included else 0


def price_usage(plan: UsagePlan, used_base_units: int) -> InvoiceLine | None:
    """The usage line for ``used_base_units``, or None at or below the included quantity.

    ``price_per_unit * overage / base_units_per_unit``, exact, rounded once.
    SPEC 6: one byte over a 1 TB plan at $23.00/TB is exactly $0.000000000023,
    a line of $0.00 with quantity 1.
    """
    if type(used_base_units) is not int or used_base_units < 0:
        _require_count(used_base_units, "used_base_units")
    extra = used_base_units - plan.included_base_units
    if extra <= 0:
        return None
    price = plan.price_per_unit
    minor = share_minor(price, extra, plan.base_units_per_unit)
    return priced_line(USAGE, plan._words[0], minor, price.currency, extra,
                       (_explain_usage, plan, extra, minor))


def _explain_usage(line: InvoiceLine, explain: tuple) -> tuple[Decimal, str]:
    """The exact amount and the sentence of a usage line, written when first read."""
    _, plan, extra, billed = explain
    price = plan.price_per_unit
    exact, is_exact = exact_quotient(price, extra, plan.base_units_per_unit)
    base = plan.base_unit_name
    _, counted, rate = plan._words
    return exact, (
        f"used {plan.included_base_units + extra:,} {counted} {extra:,} "
        f"{base}{'' if extra == 1 else 's'} {rate} {describe_exact(exact, is_exact)} "
        f"-> {minor_units_text(billed, price.currency)}"
    )


def unit_price_text(price: Money) -> str:
    """A unit price as charged: "$23.00", or "$0.023" when finer than the minor unit.

    The explanation must show the price the overage was computed with; rounding
    it for display ("$0.02 per GB") would make the sentence's arithmetic wrong.
    """
    if price.is_rounded:
        return format_money(price)
    digits = plain_digits(price.amount)
    symbol = CURRENCY_SYMBOLS.get(price.currency)
    return f"{symbol}{digits}" if symbol else f"{price.currency} {digits}"


def quantity_text(base_units: int, per_unit: int) -> str:
    """A count of base units in the billing unit, in plain digits, not rounded.

    1_000_000_000_000 bytes at 10**12 per TB -> "1"; 1.5 TB -> "1.5"; one byte
    over a TiB -> "1.0000000000009094947017729282379150390625" (every digit: a
    quotient by a power of two or ten terminates, and 28 digits would cut it).
    """
    with localcontext(Context(prec=100)):
        return plain_digits(Decimal(base_units) / Decimal(per_unit))
