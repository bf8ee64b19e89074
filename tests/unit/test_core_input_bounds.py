"""Every number from outside is measured before anything is computed with it.

A few characters in exponent form stand for millions of digits: "1e3000000"
turned into an integer froze the server for minutes (security review item 2).
Each test here hands the core such a number, huge or tiny, and expects a
refusal naming the field, raised before any arithmetic (so before the test
could hang), plus the examples of hardening item 7, one test each.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core.allocation import MAX_WEIGHT_DIGITS, split_by_weights, to_weight
from billing_core.discounts import MAX_PERCENT_DIGITS, PercentOff, apply_discounts
from billing_core.errors import InvalidInput
from billing_core.legacy_csv import LegacyFileError, parse_legacy_csv
from billing_core.money import (
    MAX_DIGITS,
    MAX_MINOR_UNITS,
    MAX_UNIT_PRICE_DECIMALS,
    Money,
    round_ratio,
    to_decimal,
)
from billing_core.money_text import parse_money
from billing_core.periods import Period, calendar_month, monthly_period
from billing_core.usage import MAX_BASE_UNITS, to_base_units

BOUNDS = settings(max_examples=200, deadline=None)
USD = "USD"
LARGEST_USD = "92233720368547758.07"  # MAX_MINOR_UNITS cents


def exponent_forms(beyond: int) -> st.SearchStrategy[str]:
    """Short texts of numbers with more than `beyond` digits written out: "7e3000000"."""
    exponent = st.one_of(st.integers(beyond + 1, 10**9), st.integers(-(10**9), -(beyond + 1)))
    mantissa = st.sampled_from(["1", "7", "-1", "1.5", "-9.99", "0.1"])
    letter = st.sampled_from(["e", "E"])
    return st.builds(lambda m, e, x: f"{m}{e}{x}", mantissa, letter, exponent)


# --- the one door: to_decimal -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["1e3000000", "1e-3000000", "-1E+3000000", "1e999999999",
                                  "0E-3000000"])
def test_an_exponent_form_beyond_the_bound_is_refused_naming_the_field(text):
    with pytest.raises(InvalidInput) as refused:
        to_decimal(text, "rate")
    assert refused.value.field == "rate"
    assert f"at most {MAX_DIGITS}" in refused.value.problem


@given(exponent_forms(MAX_DIGITS))
@BOUNDS
def test_any_number_with_too_many_digits_written_out_is_refused(text):
    with pytest.raises(InvalidInput, match=f"^weight: .*at most {MAX_DIGITS}"):
        to_decimal(text, "weight")
    with pytest.raises(InvalidInput, match="^weight: "):
        to_decimal(Decimal(text), "weight")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: max(d.adjusted() + 1, 0) + max(-d.as_tuple().exponent, 0) <= MAX_DIGITS))
@BOUNDS
def test_any_number_within_the_bound_passes_the_door_unchanged(number):
    assert to_decimal(str(number)) == number
    assert str(to_decimal(number)) == str(number)


@given(st.integers(MAX_DIGITS, 5000))
@BOUNDS
def test_a_huge_int_or_a_long_text_is_refused_before_it_is_converted(digits):
    with pytest.raises(InvalidInput, match="^count: "):
        to_decimal(10**digits, "count")
    with pytest.raises(InvalidInput, match="^count: "):
        to_decimal("9" * (digits + 1), "count")


def test_a_text_of_a_million_digits_is_refused_and_not_echoed_back():
    with pytest.raises(InvalidInput) as refused:
        to_decimal("1" * 1_000_000, "amount")
    assert len(str(refused.value)) < 200


@pytest.mark.parametrize("text", ["NaN", "-nan", "sNaN", "Infinity", "-Infinity", "inf", "-inf"])
def test_nan_and_infinity_in_any_spelling_are_refused_naming_the_field(text):
    with pytest.raises(InvalidInput, match="^percent: "):
        to_decimal(text, "percent")


@pytest.mark.parametrize("value", [0.5, 1e300, float("inf"), True, False], ids=repr)
def test_floats_and_bools_are_a_programming_error_at_every_door(value):
    for door in (
        lambda: to_decimal(value),
        lambda: Money(value, USD),
        lambda: parse_money(value, USD),
        lambda: PercentOff(value, "x"),
        lambda: to_weight(value),
        lambda: split_by_weights(Money("1.00", USD), {"a": 1, "b": value}),
        lambda: to_base_units(value, 1, "used"),
    ):
        with pytest.raises(TypeError):
            door()


def test_minus_zero_is_plain_zero_not_a_negative_amount():
    assert to_decimal("-0") == 0
    zero = parse_money("-0", USD)
    assert (str(zero.amount), zero.is_negative) == ("0.00", False)
    assert to_base_units("-0", 10**12, "used") == 0


# --- money amounts fit a BIGINT of minor units ------------------------------------------------


def test_the_largest_storable_amount_is_accepted_and_one_cent_more_is_refused():
    assert parse_money(LARGEST_USD, USD).to_minor_units() == MAX_MINOR_UNITS
    assert parse_money("-" + LARGEST_USD, USD, allow_negative=True).to_minor_units() == (
        -MAX_MINOR_UNITS)
    with pytest.raises(InvalidInput) as refused:
        parse_money("92,233,720,368,547,758.08", USD, "total")
    assert str(refused.value) == (
        "total: '92,233,720,368,547,758.08' is too large (at most $92,233,720,368,547,758.07)")


@given(minor=st.integers(-MAX_MINOR_UNITS, MAX_MINOR_UNITS),
       currency=st.sampled_from(["USD", "JPY", "BHD"]))
@BOUNDS
def test_every_amount_that_fits_a_bigint_round_trips(minor, currency):
    money = Money.from_minor_units(minor, currency)
    assert parse_money(str(money.amount), currency, allow_negative=True) == money
    assert Money(money.amount, currency).to_minor_units() == minor


@given(minor=st.one_of(st.integers(MAX_MINOR_UNITS + 1, 10**60),
                       st.integers(-(10**60), -MAX_MINOR_UNITS - 1)),
       currency=st.sampled_from(["USD", "JPY", "BHD"]))
@BOUNDS
def test_every_amount_beyond_a_bigint_is_refused_at_each_door(minor, currency):
    amount = Decimal(minor).scaleb(-{"USD": 2, "JPY": 0, "BHD": 3}[currency])
    with pytest.raises(InvalidInput, match="^credit: .*too large"):
        parse_money(format(amount, "f"), currency, "credit", allow_negative=True)
    with pytest.raises(InvalidInput, match="^amount: .*too large"):
        Money(amount, currency)
    with pytest.raises(InvalidInput, match="^amount: .*too large"):
        Money.from_minor_units(minor, currency)


@given(st.integers(50, 120))
@BOUNDS
def test_a_typed_amount_of_any_length_is_refused_without_a_decimal_error(digits):
    with pytest.raises(InvalidInput, match="^amount: "):
        parse_money("1" * digits, USD)
    with pytest.raises(InvalidInput, match="^amount: "):
        parse_money("0." + "0" * digits + "1", USD, allow_sub_minor=True)


def test_a_price_per_unit_is_kept_to_a_bounded_number_of_places():
    finest = "0." + "0" * (MAX_UNIT_PRICE_DECIMALS - 1) + "1"
    assert parse_money(finest, USD, allow_sub_minor=True).amount == Decimal(finest)
    with pytest.raises(InvalidInput, match=f"^price per unit: .*{MAX_UNIT_PRICE_DECIMALS}"):
        parse_money(finest + "1", USD, "price per unit", allow_sub_minor=True)


# --- hardening item 7, one test per example ---------------------------------------------------


def test_the_rounding_of_a_share_refuses_a_float_with_type_error():
    with pytest.raises(TypeError):
        round_ratio(100, 2.0)
    with pytest.raises(TypeError):
        round_ratio(True, 2)


def test_a_49_digit_typed_amount_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as refused:
        parse_money("1" * 49, USD)
    assert refused.value.field == "amount"
    assert "too large (at most $92,233,720,368,547,758.07)" in refused.value.problem


def test_to_decimal_refuses_1e999999999():
    with pytest.raises(InvalidInput) as refused:
        to_decimal("1e999999999")
    assert refused.value.field == "amount"


def test_a_52_digit_percentage_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as refused:
        apply_discounts(Money("1000.00", USD), [PercentOff("33." + "3" * 50, "Enterprise")])
    assert refused.value.field == "percent"
    assert f"at most {MAX_PERCENT_DIGITS}" in refused.value.problem


def test_monthly_period_at_the_end_of_the_calendar_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as refused:
        monthly_period(31, date(9999, 12, 31))
    assert refused.value.field == "containing_date"
    assert "9999-12-31" in refused.value.problem


# --- percentages, weights, quantities, periods ------------------------------------------------


@given(st.integers(MAX_PERCENT_DIGITS, 200))
@BOUNDS
def test_a_percentage_with_too_many_digits_is_refused_before_it_is_applied(decimals):
    with pytest.raises(InvalidInput, match=f"^percent: .*at most {MAX_PERCENT_DIGITS}"):
        PercentOff("3." + "3" * decimals, "x")


@given(st.decimals(0, 100, places=MAX_PERCENT_DIGITS - 3, allow_nan=False),
       st.integers(0, MAX_MINOR_UNITS))
@BOUNDS
def test_any_percentage_within_the_bound_discounts_any_storable_subtotal_exactly(percent, minor):
    subtotal = Money.from_minor_units(minor, USD)
    result = apply_discounts(subtotal, [PercentOff(percent, "x")])
    assert subtotal + sum(step.amount for step in result.steps) == result.total
    assert Money.zero(USD) <= result.total <= subtotal


@given(exponent_forms(MAX_WEIGHT_DIGITS))
@BOUNDS
def test_a_weight_in_exponent_form_is_refused_naming_the_tenant(text):
    with pytest.raises(InvalidInput) as refused:
        split_by_weights(Money("1000.00", USD), {"ent-initech": 1, "ent-acme-corp": text})
    assert refused.value.field == "weights"
    assert "the weight for 'ent-acme-corp'" in refused.value.problem
    assert f"at most {MAX_WEIGHT_DIGITS}" in refused.value.problem


@pytest.mark.parametrize("weight", [Decimal("1e3000000"), Decimal("1e-3000000"),
                                    Decimal("1." + "0" * 100_000), "1" * 19])
def test_a_huge_or_tiny_decimal_weight_is_refused_before_it_is_scaled(weight):
    with pytest.raises(InvalidInput, match="^weights: the weight for 'ent-acme-corp'"):
        split_by_weights(Money("1000.00", USD), {"ent-initech": Decimal("1.5"),
                                                 "ent-acme-corp": weight})


@given(st.lists(st.decimals(0, Decimal("99999999999.999999"), places=6, allow_nan=False),
                min_size=1, max_size=30).filter(any))
@BOUNDS
def test_weights_within_the_bound_still_split_to_the_total(weights):
    allocation = split_by_weights(Money("1000.00", USD),
                                  {f"t{i}": w for i, w in enumerate(weights)})
    assert sum(allocation.shares_minor.values()) == 100000


@given(exponent_forms(MAX_DIGITS), st.sampled_from([1, 10**9, 2**40]))
@BOUNDS
def test_a_quantity_in_exponent_form_is_refused_naming_the_field(text, per_unit):
    with pytest.raises(InvalidInput, match="^used quantity: "):
        to_base_units(text, per_unit, "used quantity")


@given(st.integers(0, MAX_BASE_UNITS))
@BOUNDS
def test_every_bigint_count_of_base_units_is_read_exactly(count):
    assert to_base_units(str(count), 1, "used") == count
    assert to_base_units(format(Decimal(count).scaleb(-12), "f"), 10**12, "used") == count


def test_a_quantity_beyond_a_bigint_of_base_units_is_refused():
    assert to_base_units("9223372.036854775807", 10**12, "used", "byte") == MAX_BASE_UNITS
    with pytest.raises(InvalidInput) as refused:
        to_base_units("9223372.036854775808", 10**12, "used", "byte")
    assert str(refused.value) == ("used: '9223372.036854775808' is too large "
                                  "(at most 9,223,372,036,854,775,807 bytes)")


@pytest.mark.parametrize(("anchor", "day", "edge"), [
    (1, date(9999, 12, 15), "9999-12-31"), (31, date(9999, 12, 31), "9999-12-31"),
    (2, date(1, 1, 1), "0001-01-01")])
def test_a_period_beyond_the_calendar_is_refused_not_a_crash(anchor, day, edge):
    with pytest.raises(InvalidInput, match=f"^containing_date: .*{edge}"):
        monthly_period(anchor, day)


def test_the_last_calendar_month_is_refused_and_its_days_still_have_a_label():
    with pytest.raises(InvalidInput, match="^period: '9999-12'"):
        calendar_month("9999-12")
    assert monthly_period(1, date(9999, 11, 30)).label == "9999-11"
    assert Period(date(9999, 12, 1), date(9999, 12, 31)).label == "9999-12-01..9999-12-31"


# --- the legacy export ------------------------------------------------------------------------

HEADER = ("record,tenant_id,period,legacy_id,currency,weight,allocation_total,billed_total,"
          "status,plans,used_base_units,included_base_units,base_units_per_unit,usage_metric,"
          "usage_price_per_unit,discounts\n")


@pytest.mark.parametrize(("row", "problem"), [
    pytest.param("allocation,ent-initech,2024-11,A1,USD,1e3000000,100.00,100.00,,,,,,,,",
                 "weight: '1e3000000' has too many digits", id="weight"),
    pytest.param("allocation,ent-initech,2024-11,A1,USD,1,100.00,1" + "0" * 60 + ",,,,,,,,",
                 "billed_total: ", id="billed-total"),
    pytest.param("invoice,ent-initech,2024-11,I1,USD,,,1e3000000,paid,2024-11-01 p 1.00,,,,,,",
                 "billed_total: '1e3000000' has too many digits", id="billed-exponent"),
    pytest.param("invoice,ent-initech,2024-11,I1,USD,,,1.00,paid,2024-11-01 p 1.00,"
                 + "9" * 5000 + ",0,1,storage,1.00,", "used_base_units: ", id="count"),
    pytest.param("invoice,ent-initech,2024-11,I1,USD,,,1.00,paid,2024-11-01 p 1.00,,,,,,"
                 "33." + "3" * 50 + "% Enterprise", "percent: ", id="percent"),
])
def test_a_legacy_line_with_an_unbounded_number_is_named_not_a_crash(row, problem):
    with pytest.raises(LegacyFileError) as refused:
        parse_legacy_csv(HEADER + row + "\n")
    assert refused.value.problems[0].line == 2
    assert problem in refused.value.problems[0].reason
