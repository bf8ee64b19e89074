"""SPEC 1: money is Decimal from input to storage, rounded once, never float."""

from __future__ import annotations

import decimal
from decimal import Decimal
from pathlib import Path

import pytest

from billing_core import money
from billing_core.errors import CurrencyMismatch, InvalidInput
from billing_core.money import (
    CURRENCY_EXPONENTS,
    ROUNDING_MODE,
    ROUNDING_MODE_LABEL,
    Money,
    exact_share,
    format_money,
    rounding_adjustment,
    to_decimal,
)
from billing_core.money_text import parse_money, plain_digits
from tests.helpers import usd


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1000.00", Decimal("1000.00"), id="numeric-string"),
        pytest.param(" 12.5 ", Decimal("12.5"), id="string-with-spaces"),
        pytest.param(1000, Decimal(1000), id="int"),
        pytest.param(Decimal("0.10"), Decimal("0.10"), id="decimal"),
    ],
)
def test_the_one_door_accepts_decimals_ints_and_numeric_strings(value, expected):
    assert to_decimal(value) == expected
    assert type(to_decimal(value)) is Decimal


@pytest.mark.parametrize(
    "value", [0.1, 1.0, float("nan"), True, False, None, [1]], ids=repr
)
def test_the_one_door_refuses_floats_bools_and_other_types_with_type_error(value):
    with pytest.raises(TypeError):
        to_decimal(value)


@pytest.mark.parametrize(
    "value", ["NaN", "nan", "Infinity", "-inf", Decimal("NaN"), Decimal("Infinity")], ids=str
)
def test_nan_and_infinity_are_refused_with_value_error_naming_the_field(value):
    with pytest.raises(ValueError, match="^rate: "):
        to_decimal(value, "rate")


def test_text_that_is_not_a_number_names_the_field_and_the_problem():
    with pytest.raises(InvalidInput) as refused:
        to_decimal("abc", "amount")
    assert (refused.value.field, str(refused.value)) == ("amount", "amount: 'abc' is not a number")


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("USD", 2), ("EUR", 2), ("GBP", 2), ("CHF", 2), ("CAD", 2), ("AUD", 2), ("JPY", 0)],
)
def test_each_currency_has_its_iso_4217_minor_unit_exponent(currency, exponent):
    assert CURRENCY_EXPONENTS[currency] == exponent
    assert Money.from_minor_units(1, currency).amount == Decimal(1).scaleb(-exponent)


def test_an_unknown_currency_is_refused_naming_the_currency_field():
    with pytest.raises(InvalidInput) as refused:
        Money("1.00", "XYZ")
    assert refused.value.field == "currency"


@pytest.mark.parametrize(
    ("exact", "currency", "rounded"),
    [
        pytest.param("0.005", "USD", "0.01", id="half-cent-rounds-up-not-to-even"),
        pytest.param("0.015", "USD", "0.02", id="half-up-from-odd"),
        pytest.param("2.675", "USD", "2.68", id="the-float-trap-2.675"),
        pytest.param("-0.005", "USD", "-0.01", id="negative-half-away-from-zero"),
        pytest.param("0.004999", "USD", "0.00", id="below-half-down"),
        pytest.param("1000.5", "JPY", "1001", id="yen-has-no-minor-unit"),
        pytest.param("322.580645161290322580645", "USD", "322.58", id="prorated-repeating"),
    ],
)
def test_rounding_happens_once_to_the_minor_unit_half_up(exact, currency, rounded):
    assert Money(exact, currency).rounded() == Money(rounded, currency)


def test_minor_units_round_trip_and_an_unrounded_amount_cannot_become_minor_units():
    assert usd("1000.00").to_minor_units() == 100000
    assert Money.from_minor_units(100000, "USD") == usd("1000.00")
    with pytest.raises(ValueError, match="round it first"):
        usd("0.005").to_minor_units()


def test_money_arithmetic_is_closed_and_exact():
    assert usd("0.10") + usd("0.20") == usd("0.30")
    assert usd("1000.00") * Decimal("0.90") - usd("50.00") == usd("850.00")
    assert usd("1000.00") / 4 == usd("250.00")
    assert usd("300.00") / usd("1000.00") == Decimal("0.3")
    assert sum([usd("1.10"), usd("2.20")]) == usd("3.30")
    assert -usd("5.00") == usd("-5.00")
    assert usd("1.00") < usd("2.00")


def test_money_times_money_and_mixed_currencies_are_refused():
    with pytest.raises(TypeError):
        usd("1.00") * usd("2.00")
    with pytest.raises(CurrencyMismatch, match="USD with EUR"):
        usd("1.00") + Money("1.00", "EUR")
    with pytest.raises(CurrencyMismatch):
        usd("1.00") < Money("1.00", "EUR")  # noqa: B015
    with pytest.raises(TypeError):
        usd("1.00") + 1


def test_the_default_decimal_context_cannot_change_a_bill():
    with decimal.localcontext() as context:
        context.prec = 3
        context.rounding = decimal.ROUND_DOWN
        assert (usd("1000.00") * 10 / 31).rounded() == usd("322.58")
        assert usd("123456.78") + usd("0.01") == usd("123456.79")


def test_exact_share_returns_the_exact_value_and_the_value_rounded_once():
    assert exact_share(usd("1000.00"), 15, 30) == (Decimal("500"), usd("500.00"), True)
    exact, billable, is_exact = exact_share(usd("1000.00"), 10, 31)
    assert str(exact).startswith("322.5806451612903225806451612903")
    assert (billable, is_exact) == (usd("322.58"), False)
    # Terminating but long: one byte of a tebibyte at $23.00.
    exact, billable, is_exact = exact_share(usd("23.00"), 1, 2**40)
    assert exact * 2**40 == Decimal("23.00")
    assert (billable, is_exact) == (usd("0.00"), True)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        pytest.param(usd("1000"), "$1,000.00", id="dollars"),
        pytest.param(usd("-50"), "-$50.00", id="negative"),
        pytest.param(usd("-0.001"), "$0.00", id="negative-zero-has-no-sign"),
        pytest.param(usd("1234567.891"), "$1,234,567.89", id="exact-rounded-for-display"),
        pytest.param(Money("1000", "EUR"), "EUR 1,000.00", id="euro-by-code"),
        pytest.param(Money("1000", "JPY"), "JPY 1,000", id="yen-no-decimals"),
        pytest.param(Money("-0.5", "GBP"), "-GBP 0.50", id="negative-by-code"),
    ],
)
def test_format_money_shows_amounts_for_people(amount, text):
    assert format_money(amount) == text
    assert str(amount) == text


@pytest.mark.parametrize(
    ("typed", "currency", "expected"),
    [
        pytest.param("1,000.50", "USD", "1000.50", id="thousands-separator"),
        pytest.param("$1000", "USD", "1000.00", id="dollar-sign"),
        pytest.param("  12.3 ", "USD", "12.30", id="spaces-and-one-decimal"),
        pytest.param("USD 5", "USD", "5.00", id="code-prefix"),
        pytest.param(".5", "USD", "0.50", id="leading-point"),
        pytest.param("1000", "JPY", "1000", id="yen"),
        pytest.param("-0", "USD", "0.00", id="minus-zero-is-zero"),
    ],
)
def test_parse_money_reads_what_people_type(typed, currency, expected):
    assert parse_money(typed, currency) == Money(expected, currency)


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        pytest.param("", "USD", "amount: is empty", id="empty"),
        pytest.param("   ", "USD", "amount: is empty", id="blank"),
        pytest.param("abc", "USD", "amount: 'abc' is not a number", id="letters"),
        pytest.param("12.345", "USD", "amount: '12.345' has more than 2 decimal places for USD",
                     id="too-many-decimals"),
        pytest.param("12.5", "JPY", "amount: '12.5' has decimal places, but JPY has none",
                     id="yen-decimals"),
        pytest.param("1,0,0", "USD", "amount: '1,0,0' is not a number", id="bad-grouping"),
        pytest.param("-5", "USD", "amount: '-5' is negative; enter an amount of zero or more",
                     id="negative"),
        pytest.param("1e3", "USD", "amount: '1e3' is not a number", id="exponent"),
    ],
)
def test_parse_money_refuses_bad_input_naming_the_field_and_the_problem(typed, currency, message):
    with pytest.raises(InvalidInput) as refused:
        parse_money(typed, currency)
    assert str(refused.value) == message
    assert refused.value.field == "amount"


def test_parse_money_allows_negative_amounts_only_when_asked():
    assert parse_money("-$50.00", "USD", allow_negative=True) == usd("-50.00")
    with pytest.raises(InvalidInput, match="^refund: "):
        parse_money("-50", "USD", "refund")


def _production_files():
    from pathlib import Path

    root = Path(money.__file__).parent.parent
    for package in ("billing_core", "db", "ledgerline_ui", "pages"):
        yield from sorted((root / package).rglob("*.py"))
    yield root / "Home.py"
    yield root / "app.py"


def test_only_the_money_module_calls_quantize():
    root = Path(money.__file__).parent.parent
    callers = [str(path.relative_to(root)) for path in _production_files()
               if ".quantize(" in path.read_text()]
    assert callers == ["billing_core/money.py"]


def test_the_rounding_label_follows_the_rounding_mode_and_is_written_nowhere_else():
    words = {decimal.ROUND_HALF_UP: "half up", decimal.ROUND_HALF_EVEN: "half to even"}
    assert words[ROUNDING_MODE] == ROUNDING_MODE_LABEL
    root = Path(money.__file__).parent.parent
    spelled_out = [str(path.relative_to(root)) for path in _production_files()
                   if ROUNDING_MODE_LABEL in path.read_text()]
    assert spelled_out == ["billing_core/money.py"]


@pytest.mark.parametrize(
    ("billable", "exact", "adjustment"),
    [
        pytest.param("333.33", "333.3333333333333333333333333333333333333333333333",
                     "-0.0033333333333333333333333333333333333333333333", id="fifty-digits-kept"),
        pytest.param("0.01", "0.005", "0.005", id="half-up"),
        pytest.param("500.00", "500", "0", id="exact"),
    ],
)
def test_the_rounding_adjustment_is_exact(billable, exact, adjustment):
    assert rounding_adjustment(usd(billable), Decimal(exact)) == Decimal(adjustment)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("100.00000000", "100", id="trailing-zeros-cut"),
        pytest.param("1E+2", "100", id="no-exponent"),
        pytest.param("2.3E-11", "0.000000000023", id="tiny"),
        pytest.param("-0.000", "0", id="negative-zero"),
        pytest.param("1." + "0" * 40 + "1", "1." + "0" * 40 + "1",
                     id="more-digits-than-the-default-context"),
    ],
)
def test_plain_digits_cuts_zeros_and_rounds_nothing(value, text):
    assert plain_digits(Decimal(value)) == text


@pytest.mark.parametrize(
    ("typed", "currency", "amount"),
    [
        pytest.param("0.023", "USD", "0.023", id="finer-than-a-cent-kept-exact"),
        pytest.param("$1,000.0005", "USD", "1000.0005", id="symbol-and-grouping"),
        pytest.param("0.5", "JPY", "0.5", id="yen-fraction"),
    ],
)
def test_parse_money_keeps_a_price_finer_than_the_minor_unit_only_when_asked(
    typed, currency, amount
):
    parsed = parse_money(typed, currency, "price per unit", allow_sub_minor=True)
    assert (str(parsed.amount), parsed.currency) == (amount, currency)
    with pytest.raises(InvalidInput, match="decimal places"):
        parse_money(typed, currency, "price per unit")


def test_parse_money_still_scales_a_price_within_the_minor_unit():
    assert str(parse_money("12.3", "USD", allow_sub_minor=True).amount) == "12.30"
