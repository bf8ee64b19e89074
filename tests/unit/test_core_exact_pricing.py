"""Pricing is the exact rational of each rule, rounded once: checked against a Fraction oracle.

``tests/unit/fraction_oracle.py`` writes SPEC's rules again on ``fractions.Fraction``
without any helper of billing_core. Every line of every invoice Hypothesis
makes must match it: kind, description, the amount in minor units, the exact
amount, the sentence word for word, the quantity, and the totals. And
``round_ratio``, the one rounding, must round like each mode of the ``decimal``
module, written out on Fractions.
"""

from __future__ import annotations

import copy
import decimal
import math
import pickle
from dataclasses import FrozenInstanceError
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core import money as money_module
from billing_core.discounts import FixedOff, PercentOff, apply_discounts
from billing_core.invoices import InvoiceLine, LineKind, price_invoice
from billing_core.money import (
    MAX_MINOR_UNITS,
    Money,
    exact_share,
    minor_units_ratio,
    round_ratio,
)
from billing_core.periods import Period, monthly_period
from billing_core.proration import PlanChange, prorate
from billing_core.usage import BYTES_PER_TB, BYTES_PER_TIB, MAX_BASE_UNITS, UsagePlan, price_usage
from tests.unit import fraction_oracle as oracle

PRICING = settings(max_examples=200, deadline=None)


# The one rounding --------------------------------------------------------------------------------

# Each mode of the decimal module, on a Fraction: the nearest whole numbers below and above,
# and which the mode picks.
def _toward_zero(value: Fraction) -> int:
    return math.trunc(value)


def _away(value: Fraction) -> int:
    return math.trunc(value) + (1 if value > 0 else -1)


def _half(value: Fraction, tie: int) -> int:
    distance = abs(value - math.trunc(value))
    if distance == oracle.HALF:
        return tie
    return _away(value) if distance > oracle.HALF else _toward_zero(value)


MODES = {
    decimal.ROUND_FLOOR: math.floor,
    decimal.ROUND_CEILING: math.ceil,
    decimal.ROUND_DOWN: _toward_zero,
    decimal.ROUND_UP: _away,
    decimal.ROUND_HALF_UP: lambda value: _half(value, _away(value)),
    decimal.ROUND_HALF_DOWN: lambda value: _half(value, _toward_zero(value)),
    decimal.ROUND_HALF_EVEN: lambda value: _half(
        value, _toward_zero(value) if _toward_zero(value) % 2 == 0 else _away(value)
    ),
    decimal.ROUND_05UP: lambda value: (
        _away(value) if abs(_toward_zero(value)) % 5 == 0 else _toward_zero(value)
    ),
}


def rounded(value: Fraction, mode: str) -> int:
    return int(value) if value.denominator == 1 else MODES[mode](value)


@pytest.mark.parametrize("mode", list(MODES))
@given(numerator=st.integers(-(10**15), 10**15),
       denominator=st.one_of(st.integers(1, 10**6), st.sampled_from([2, 4, 8, 10, 100, 1000])))
@settings(max_examples=150, deadline=None)
def test_round_ratio_rounds_like_the_named_mode_whatever_the_mode(mode, numerator, denominator):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(money_module, "ROUNDING_MODE", mode)
        expected = rounded(Fraction(numerator, denominator), mode)
        assert round_ratio(numerator, denominator) == expected
        assert round_ratio(-numerator, -denominator) == expected


@pytest.mark.parametrize(
    "numerator, denominator, expected",
    [(1001, 2, 501), (-1001, 2, -501), (1, 3, 0), (2, 3, 1), (-2, 3, -1), (15000, 30, 500),
     (0, 7, 0), (5, -2, -3)],
    ids=["half up", "half away from zero", "third down", "two thirds up", "negative two thirds",
         "exact", "zero", "negative denominator"],
)
def test_round_ratio_uses_round_half_up_by_default(numerator, denominator, expected):
    assert round_ratio(numerator, denominator) == expected


def test_round_ratio_refuses_zero_and_non_integers():
    with pytest.raises(ZeroDivisionError):
        round_ratio(1, 0)
    with pytest.raises(TypeError):
        round_ratio(Decimal(1), 2)


@given(
    minor=st.integers(0, MAX_MINOR_UNITS),
    part=st.integers(0, MAX_BASE_UNITS),
    whole=st.one_of(st.integers(1, 400),
                    st.sampled_from([BYTES_PER_TB, BYTES_PER_TIB, 10**19 + 9, MAX_BASE_UNITS])),
    currency=st.sampled_from(["USD", "JPY", "BHD"]),
)
@PRICING
def test_a_share_of_any_size_is_its_exact_rational_rounded_once(minor, part, whole, currency):
    # No bound sends a share elsewhere: the largest BIGINT of minor units times the largest
    # count, over any count, is still the one exact rational, rounded once.
    price = Money.from_minor_units(minor, currency)
    _, billable, _ = exact_share(price, part, whole)
    assert oracle.minor_units(billable) == oracle.round_half_up(Fraction(minor * part, whole))


def test_the_largest_price_for_all_but_one_second_of_a_month_is_exact():
    price = Money.from_minor_units(MAX_MINOR_UNITS, "USD")
    period = monthly_period(1, date(2024, 11, 1))
    [line] = prorate([PlanChange(date(2024, 11, 2), "Everything", price)], period)
    assert oracle.minor_units(line.amount) == oracle.round_half_up(
        Fraction(MAX_MINOR_UNITS * 29, 30))


@pytest.mark.parametrize(
    "amount, currency, ratio",
    [("500.00", "USD", (50000, 1)), ("500", "USD", (50000, 1)), ("500.000", "USD", (50000, 1)),
     ("10.005", "USD", (2001, 2)), ("-0.05", "USD", (-5, 1)), ("7", "JPY", (7, 1)),
     ("1.234", "BHD", (1234, 1)), ("0.023", "USD", (23, 10))],
)
def test_an_amount_in_minor_units_is_an_exact_fraction(amount, currency, ratio):
    numerator, denominator = minor_units_ratio(Money(amount, currency))
    assert (numerator, denominator) == ratio


# Whole invoices against the oracle ----------------------------------------------------------------

currencies = st.sampled_from(["USD", "JPY", "BHD"])


def amounts(currency: str, max_minor: int = 10**9):
    minor = st.integers(0, max_minor)
    return st.one_of(
        minor.map(lambda m: Money.from_minor_units(m, currency)),  # "500.00"
        minor.map(lambda m: Money(str(m), currency)),  # "500": fewer places than the currency
        minor.map(lambda m: Money(Decimal(m).scaleb(-5), currency)),  # finer than the minor unit
    )


def rounded_amounts(currency: str):
    minor = st.integers(0, 10**8)
    return st.one_of(
        minor.map(lambda m: Money.from_minor_units(m, currency)),
        minor.map(lambda m: Money(str(m), currency)),
        minor.map(lambda m: Money(Decimal(m).scaleb(-money_module.CURRENCY_EXPONENTS[currency])
                                  .quantize(Decimal("1E-6")), currency)),
    )


@st.composite
def invoices(draw):
    currency = draw(currencies)
    period = draw(st.one_of(
        st.builds(monthly_period, st.integers(1, 31),
                  st.dates(date(2023, 1, 1), date(2026, 12, 31))),
        st.builds(lambda d, n: Period(d, d + timedelta(days=n)),
                  st.dates(date(2024, 1, 1), date(2024, 12, 31)), st.integers(1, 400)),
    ))
    offsets = draw(st.lists(st.integers(-40, 45), min_size=1, max_size=4, unique=True))
    changes = [
        PlanChange(period.start + timedelta(days=o), draw(st.sampled_from(["Growth", "Compute"])),
                   draw(amounts(currency)))
        for o in offsets
    ]
    usage = []
    for _ in range(draw(st.integers(0, 2))):
        per = draw(st.sampled_from([1, 3, 7, 1000, BYTES_PER_TB, BYTES_PER_TIB, 10**25 + 7]))
        included = draw(st.integers(0, 3)) * per
        plan = UsagePlan("storage", "TB", per, included, draw(amounts(currency, 10**6)), "byte")
        usage.append((plan, included + draw(st.one_of(st.just(0), st.just(1),
                                                      st.integers(0, 5 * per)))))
    percent = st.one_of(
        st.integers(0, 100).map(Decimal),
        st.decimals(0, 100, places=3, allow_nan=False, allow_infinity=False),
        st.just(Decimal("33.33333333333333333333333")),
    )
    discounts = draw(st.lists(st.one_of(
        percent.map(lambda p: PercentOff(p, "Enterprise discount")),
        rounded_amounts(currency).map(lambda m: FixedOff(m, "Promotional credit")),
    ), max_size=4))
    credit = draw(st.one_of(st.none(), st.integers(0, 10**7).map(
        lambda m: Money.from_minor_units(m, currency))))
    return period, changes, usage, discounts, credit


def seen(line: InvoiceLine) -> tuple:
    """A priced line as the oracle states one: amounts as Fractions, in minor units."""
    return (line.kind.value, line.description, oracle.minor_units(line.amount),
            Fraction(line.exact_amount), line.explanation, line.quantity)


def expected(line: oracle.Line) -> tuple:
    return (line.kind, line.description, line.minor, line.exact, line.explanation, line.quantity)


@given(invoices())
@PRICING
def test_every_line_and_total_of_an_invoice_is_what_the_oracle_works_out(invoice):
    period, changes, usage, discounts, credit = invoice
    priced = price_invoice(period, changes, usage, discounts, credit)
    want = oracle.price_invoice(period, changes, usage, discounts, credit)
    assert [seen(line) for line in priced.lines] == [expected(line) for line in want.lines]
    assert [oracle.minor_units(amount) for amount in (
        priced.subtotal, priced.discount_total, priced.credit_applied, priced.total,
        priced.unused_fixed_discount, priced.credit_balance_left)] == [
        want.subtotal, want.discount_total, want.credit_applied, want.total, want.unused,
        want.balance_left]
    # Every amount an invoice holds sits at its currency's minor unit, as it is stored.
    places = money_module.CURRENCY_EXPONENTS[priced.currency]
    for amount in (*(line.amount for line in priced.lines), priced.subtotal, priced.total,
                   priced.discount_total, priced.unused_fixed_discount):
        assert -amount.amount.as_tuple().exponent == places


@given(invoices())
@PRICING
def test_prorate_usage_and_discounts_on_their_own_are_what_the_oracle_works_out(invoice):
    period, changes, usage, discounts, _ = invoice
    assert [seen(line) for line in prorate(changes, period)] == [
        expected(line) for line in oracle.prorate(changes, period)
    ]
    for plan, used in usage:
        line, want = price_usage(plan, used), oracle.price_usage(plan, used)
        assert (line is None and want is None) or seen(line) == expected(want)
    currency = changes[0].price.currency
    for subtotal in (Money.from_minor_units(123456, currency), Money("1000", currency)):
        result = apply_discounts(subtotal, discounts)
        minor = int(oracle.minor_units(subtotal))
        steps, total, unused = oracle.discount(minor, currency, discounts)
        assert [seen(step) for step in result.steps] == [expected(step) for step in steps]
        assert oracle.minor_units(result.total) == total
        assert oracle.minor_units(result.unused) == unused


# The line itself: a value, frozen, whenever its sentence is written -------------------------------


def a_priced_line() -> InvoiceLine:
    period = Period(date(2024, 11, 1), date(2024, 12, 1))
    changes = [PlanChange(date(2024, 10, 1), "Growth", Money("600.00", "USD")),
               PlanChange(date(2024, 11, 16), "Compute", Money("1000.00", "USD"))]
    return price_invoice(period, changes).lines[1]


def test_a_priced_line_equals_the_same_line_built_whole_and_hashes_alike():
    priced = a_priced_line()
    whole = InvoiceLine(
        LineKind.RECURRING, "Compute", Money("500.00", "USD"), Decimal("500.00"),
        "15 of 30 days from 2024-11-16 x $1,000.00 = 1000.00 x 15 / 30 = 500.00 -> $500.00", 15,
    )
    assert priced == whole and hash(a_priced_line()) == hash(whole)
    assert repr(priced) == repr(whole)
    assert repr(priced).startswith("InvoiceLine(kind=<LineKind.RECURRING: 'recurring'>")


def test_a_line_cannot_be_changed():
    line = a_priced_line()
    for name in ("kind", "amount", "exact_amount", "explanation", "quantity"):
        with pytest.raises(FrozenInstanceError):
            setattr(line, name, None)
    with pytest.raises(FrozenInstanceError):
        del line.amount


def test_a_line_survives_pickle_and_copy_with_its_written_sentence():
    line = a_priced_line()
    for twin in (pickle.loads(pickle.dumps(line)), copy.copy(line), copy.deepcopy(line)):
        assert type(twin) is InvoiceLine and twin == line
        assert twin.explanation == line.explanation


def test_equal_prices_of_another_scale_keep_their_own_digits_in_the_sentence():
    # Recurring sentences are memoised; 1000.0 == 1000.00, yet each line shows its own digits.
    period = monthly_period(1, date(2024, 11, 1))
    lines = {}
    for price in ("1000.00", "1000.0", "1000.00"):
        changes = [PlanChange(date(2024, 10, 1), "Small", Money("10.00", "USD")),
                   PlanChange(date(2024, 11, 16), "Compute", Money(price, "USD"))]
        [_, line] = prorate(changes, period)
        lines.setdefault(price, line)
        assert seen(line) == expected(oracle.prorate(changes, period)[1])
    assert "= 1000.0 x 15 / 30 = 500.0 ->" in lines["1000.0"].explanation
    assert "= 1000.00 x 15 / 30 = 500.00 ->" in lines["1000.00"].explanation
