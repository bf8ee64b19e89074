"""SPEC's pricing rules written again on ``fractions.Fraction``: the oracle the pricing tests use.

Independent of billing_core on purpose: it reads only the input values
(``PlanChange``, ``UsagePlan``, ``PercentOff``, ``FixedOff``, ``Money``) and works
out everything else itself, as a finance team would by hand. Segments are
found day by day, every amount is an exact Fraction, rounding is half away
from zero (SPEC 1) written out on Fractions, and every number in a sentence
is written from its Fraction. Nothing here calls a helper of billing_core, so
the tests compare two implementations, not one with a copy of itself.

What the sentences show (the rules the production code must keep):

- money rounded to the minor unit: "$1,000.00", "-$50.00", "EUR 1,000.00",
  "JPY 1,000" (only the dollar has a symbol);
- an exact amount with as many decimals as the numbers it came from (a price
  of 1000.0 gives "500.0", 1000.00 gives "500.00"), or more when the quotient
  needs them; a quotient that does not end within 50 significant digits is
  shown to 12 decimals and "... (repeating)", and the line's exact amount is
  then that quotient to 50 significant digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from billing_core.discounts import FixedOff, PercentOff

EXPONENTS = {"USD": 2, "EUR": 2, "JPY": 0, "BHD": 3}  # ISO 4217, the currencies tests use
HALF = Fraction(1, 2)


@dataclass(frozen=True)
class Line:
    kind: str
    description: str
    minor: int  # the amount in minor units, rounded once
    exact: Fraction  # the amount before rounding, in the currency's major unit
    explanation: str
    quantity: int | None = None


@dataclass(frozen=True)
class Invoice:
    lines: list[Line]
    subtotal: int  # these in minor units
    discount_total: int
    credit_applied: int
    total: int
    unused: int
    balance_left: int


# Numbers ---------------------------------------------------------------------------------------


def round_half_up(value: Fraction) -> int:
    """To the nearest whole number; a half goes away from zero."""
    magnitude = math.floor(abs(value) + HALF)
    return magnitude if value >= 0 else -magnitude


def places_of(number: Decimal) -> int:
    """How many decimals a Decimal is written with: 1000.00 -> 2, 1000 -> 0."""
    return max(0, -number.as_tuple().exponent)


def places_needed(value: Fraction) -> int | None:
    """The fewest decimals that write ``value`` exactly; None when its expansion never ends."""
    rest, twos, fives = value.denominator, 0, 0
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    return max(twos, fives) if rest == 1 else None


def significant_digits(value: Fraction, places: int) -> int:
    return len(str(abs(value.numerator * 10**places // value.denominator)).lstrip("0")) or 1


def decimal_text(value: Fraction, places: int) -> str:
    """``value`` (which ``places`` decimals write exactly) in plain digits."""
    scaled = value * 10**places
    assert scaled.denominator == 1, (value, places)
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
    if not places:
        return sign + digits
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def to_fifty_digits(value: Fraction) -> tuple[Fraction, int]:
    """``value`` rounded half to even at 50 significant digits, and how many decimals that has."""
    magnitude = 0  # 10**magnitude <= |value| < 10**(magnitude + 1)
    while abs(value) >= Fraction(10) ** (magnitude + 1):
        magnitude += 1
    while abs(value) < Fraction(10) ** magnitude:
        magnitude -= 1
    places = 49 - magnitude
    digits = round(value * Fraction(10) ** places)  # round() on a Fraction: half to even
    if abs(digits) == 10**50:  # rounding carried into a 51st digit
        places -= 1
        digits //= 10
    return Fraction(digits) / Fraction(10) ** places, places


def shown_exact(value: Fraction, min_places: int) -> tuple[Fraction, str]:
    """The exact amount a line keeps, and how its sentence writes it."""
    needed = places_needed(value)
    if needed is not None:
        places = max(min_places, needed)
        if value == 0 or significant_digits(value, places) <= 50:
            return value, decimal_text(value, places)
    kept, places = to_fifty_digits(value)
    text = decimal_text(kept, max(places, 0))
    head, _, tail = text.partition(".")
    return kept, f"{head}.{tail[:12]}... (repeating)"


def money_text(minor: Fraction | int, currency: str) -> str:
    """Rounded to the minor unit for people: "$1,000.00", "-$50.00", "EUR 1,000.00", "JPY 1,000"."""
    units = round_half_up(Fraction(minor))
    exponent = EXPONENTS[currency]
    whole, part = divmod(abs(units), 10**exponent)
    digits = f"{whole:,}" + (f".{part:0{exponent}d}" if exponent else "")
    prefix = "$" if currency == "USD" else f"{currency} "
    return ("-" if units < 0 else "") + prefix + digits


def minor_units(money) -> Fraction:
    return Fraction(money.amount) * 10 ** EXPONENTS[money.currency]


# Rules -----------------------------------------------------------------------------------------


def prorate(plan_changes, period) -> list[Line]:
    """SPEC 3, day by day: each day is billed to the plan in force on it (a change's day to the
    new plan); consecutive days of the same plan at the same price are one segment."""
    period_days = (period.end - period.start).days
    runs: list[list] = []  # [first change of the run, first day, days]
    for offset in range(period_days):
        day = period.start + timedelta(days=offset)
        change = _in_force(plan_changes, day)
        if change is None:
            continue
        last = runs[-1] if runs else None
        if last and last[0].plan == change.plan and last[0].price == change.price and (
                last[1] + timedelta(days=last[2]) == day):
            last[2] += 1
        else:
            runs.append([change, day, 1])
    return [_segment(change, since, days, period_days) for change, since, days in runs]


def _in_force(plan_changes, day: date):
    started = [change for change in plan_changes if change.starts_on <= day]
    return max(started, key=lambda change: change.starts_on) if started else None


def _segment(change, since: date, days: int, period_days: int) -> Line:
    price, currency = change.price, change.price.currency
    exact_minor = minor_units(price) * days / period_days
    minor = round_half_up(exact_minor)
    price_text = money_text(minor_units(price), currency)
    head = f"{days:,} of {period_days:,} days from {since} x {price_text}"
    if days == period_days:
        return Line("recurring", change.plan, minor, Fraction(price.amount),
                    f"{head} = full price -> {money_text(minor, currency)}", days)
    exact, shown = shown_exact(Fraction(price.amount) * days / period_days,
                               places_of(price.amount))
    return Line("recurring", change.plan, minor, exact,
                f"{head} = {price.amount} x {days:,} / {period_days:,} = {shown} "
                f"-> {money_text(minor, currency)}", days)


def price_usage(plan, used: int) -> Line | None:
    """SPEC 6: a charge only for what exceeds the included quantity, priced exactly."""
    extra = used - plan.included_base_units
    if extra <= 0:
        return None
    price, per, base = plan.price_per_unit, plan.base_units_per_unit, plan.base_unit_name
    currency = price.currency
    minor = round_half_up(minor_units(price) * extra / per)
    exact, shown = shown_exact(Fraction(price.amount) * extra / per, places_of(price.amount))
    return Line("usage", f"{plan.metric} overage", minor, exact,
                f"used {used:,} {base}s, included {plan.included_base_units:,}: overage "
                f"{extra:,} {base}{'' if extra == 1 else 's'} x {_unit_price(price)} per "
                f"{plan.unit_name} ({per:,} {base}s) = {shown} -> {money_text(minor, currency)}",
                extra)


def _unit_price(price) -> str:
    exact = minor_units(price)
    if exact.denominator == 1:
        return money_text(exact, price.currency)
    value = Fraction(price.amount)
    digits = decimal_text(value, places_needed(value))
    return ("$" if price.currency == "USD" else f"{price.currency} ") + digits


def discount(subtotal: int, currency: str, discounts) -> tuple[list[Line], int, int]:
    """SPEC 4 on ``subtotal`` minor units: (steps, total, unused fixed amount), in minor units.

    Every percentage first, each of what the previous left, in the order
    listed; then every fixed amount in the order listed, never below zero.
    """
    steps, running = [], subtotal
    unit = 10 ** EXPONENTS[currency]  # minor units in one major unit
    for percent_off in [d for d in discounts if type(d) is PercentOff]:
        percent = percent_off.percent
        step = round_half_up(running * Fraction(percent) / 100)
        # The running total is written at the minor unit: the percentage's places come on top.
        exact, shown = shown_exact(Fraction(running, unit) * Fraction(percent) / 100,
                                   EXPONENTS[currency] + places_of(percent))
        steps.append(Line("discount", percent_off.label, -step, -exact,
                          f"{percent}% of {money_text(running, currency)} = {shown} -> "
                          f"-{money_text(step, currency)}"))
        running -= step
    unused = 0
    for fixed_off in [d for d in discounts if type(d) is FixedOff]:
        offered = int(minor_units(fixed_off.amount))
        used = min(offered, running)
        if used == offered:
            sentence = f"{money_text(offered, currency)} off {money_text(running, currency)}"
        else:
            sentence = (f"{money_text(offered, currency)} offered, only "
                        f"{money_text(used, currency)} used so the total stays at zero; "
                        f"{money_text(offered - used, currency)} unused")
        steps.append(Line("discount", fixed_off.label, -used, Fraction(-used, unit), sentence))
        unused += offered - used
        running -= used
    return steps, running, unused


def price_invoice(period, plan_changes, usage=(), discounts=(), credit_balance=None) -> Invoice:
    lines = prorate(plan_changes, period)
    lines += [line for line in (price_usage(plan, used) for plan, used in usage) if line]
    currency = plan_changes[0].price.currency
    subtotal = sum(line.minor for line in lines)
    steps, total, unused = discount(subtotal, currency, discounts)
    lines += steps
    balance = int(minor_units(credit_balance)) if credit_balance is not None else 0
    applied = min(total, balance) if balance > 0 else 0
    if applied:
        lines.append(Line("credit", "Credit balance", -applied,
                          Fraction(-applied, 10 ** EXPONENTS[currency]),
                          f"{money_text(applied, currency)} of the {money_text(balance, currency)} "
                          f"credit balance; {money_text(balance - applied, currency)} stays on the "
                          "balance"))
    return Invoice(lines, subtotal, subtotal - total, applied, total - applied, unused,
                   balance - applied)
