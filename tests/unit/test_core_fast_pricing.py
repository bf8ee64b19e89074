"""Pricing on integer minor units gives the very cents, Decimals and sentences of the plain rules.

``billing_core`` rounds shares on integers (``money.round_ratio``) and writes
line explanations on first use. These tests hold it to the plain Decimal
rules of ``eager_pricing`` digit for digit (``repr``, so even the number of
decimal places must agree), and hold ``round_ratio`` to ``quantize`` in every
rounding mode.
"""

from __future__ import annotations

import copy
import decimal
import pickle
from dataclasses import FrozenInstanceError
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core import money as money_module
from billing_core.discounts import FixedOff, PercentOff, apply_discounts
from billing_core.invoices import InvoiceLine, LineKind, price_invoice
from billing_core.money import (
    Money,
    exact_share,
    round_ratio,
    scaled_minor_units,
    share_minor_units,
    whole_minor_units,
)
from billing_core.periods import Period, monthly_period
from billing_core.proration import PlanChange, prorate
from billing_core.usage import BYTES_PER_TB, BYTES_PER_TIB, UsagePlan, price_usage
from tests.unit.eager_pricing import eager_discounts, eager_invoice, eager_prorate, eager_usage

settings.register_profile("fast_pricing", max_examples=300, deadline=None)

MODES = [
    decimal.ROUND_HALF_UP, decimal.ROUND_HALF_EVEN, decimal.ROUND_HALF_DOWN, decimal.ROUND_UP,
    decimal.ROUND_DOWN, decimal.ROUND_CEILING, decimal.ROUND_FLOOR, decimal.ROUND_05UP,
]  # fmt: skip


def quantized(numerator: int, denominator: int, mode: str) -> int:
    wide = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])
    exact = wide.divide(Decimal(numerator), Decimal(denominator))  # terminates: see strategies
    return int(exact.quantize(Decimal(1), mode, decimal.Context(prec=200)))


# Denominators of the form 2**a * 5**b keep the Decimal oracle exact, ties included.
terminating = st.builds(lambda a, b: 2**a * 5**b, st.integers(0, 12), st.integers(0, 12))


@pytest.mark.parametrize("mode", MODES)
@given(numerator=st.integers(-(10**15), 10**15), denominator=terminating)
@settings(max_examples=300, deadline=None)
def test_round_ratio_rounds_like_quantize_in_every_mode(mode, numerator, denominator):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(money_module, "ROUNDING_MODE", mode)
        assert round_ratio(numerator, denominator) == quantized(numerator, denominator, mode)
        assert round_ratio(-numerator, -denominator) == quantized(numerator, denominator, mode)


@pytest.mark.parametrize(
    "numerator, denominator, expected",
    [(1001, 2, 501), (-1001, 2, -501), (1, 3, 0), (2, 3, 1), (-2, 3, -1), (15000, 30, 500),
     (0, 7, 0), (5, -2, -3)],
    ids=["half up", "half away from zero", "third down", "two thirds up", "negative two thirds",
         "exact", "zero", "negative denominator"],
)  # fmt: skip
def test_round_ratio_uses_round_half_up_by_default(numerator, denominator, expected):
    assert round_ratio(numerator, denominator) == expected


def test_round_ratio_refuses_zero_and_non_integers():
    with pytest.raises(ZeroDivisionError):
        round_ratio(1, 0)
    with pytest.raises(TypeError):
        round_ratio(Decimal(1), 2)


@given(
    minor=st.integers(0, 10**12),
    part=st.integers(0, 10**13),
    whole=st.one_of(
        st.integers(1, 400), st.sampled_from([BYTES_PER_TB, BYTES_PER_TIB, 10**19 + 9])
    ),
    currency=st.sampled_from(["USD", "JPY", "BHD"]),
)
def test_a_share_in_minor_units_is_the_cent_exact_share_rounds_to(minor, part, whole, currency):
    price = Money.from_minor_units(minor, currency)
    share = share_minor_units(minor, part, whole)
    assert share == exact_share(price, part, whole)[1].to_minor_units()


def test_a_share_too_large_for_the_integer_path_is_left_to_exact_share():
    assert share_minor_units(100, 1, 10**20) is None
    assert share_minor_units(10**29, 100, 1) is None
    assert share_minor_units(100000, 15, 30) == 50000  # SPEC 3


@pytest.mark.parametrize(
    "amount, currency, whole, scaled",
    [("500.00", "USD", 50000, 50000), ("500", "USD", 50000, None), ("500.000", "USD", 50000, None),
     ("10.005", "USD", None, None), ("-0.05", "USD", -5, -5), ("7", "JPY", 7, 7),
     ("1.234", "BHD", 1234, 1234)],
)  # fmt: skip
def test_minor_units_of_an_amount(amount, currency, whole, scaled):
    money = Money(amount, currency)
    assert whole_minor_units(money) == whole
    assert scaled_minor_units(money) == scaled


# Whole invoices against the plain rules ------------------------------------------------------

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
    ))  # fmt: skip
    offsets = draw(st.lists(st.integers(-40, 45), min_size=1, max_size=4, unique=True))
    changes = [
        PlanChange(period.start + timedelta(days=o), draw(st.sampled_from(["Growth", "Compute"])),
                   draw(amounts(currency)))
        for o in offsets
    ]  # fmt: skip
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
    ), max_size=4))  # fmt: skip
    credit = draw(st.one_of(st.none(), st.integers(0, 10**7).map(
        lambda m: Money.from_minor_units(m, currency))))
    return period, changes, usage, discounts, credit


def line_values(line: InvoiceLine) -> str:
    return repr((line.kind, line.description, line.amount, line.exact_amount, line.explanation,
                 line.quantity))  # fmt: skip


def eager_values(line: tuple) -> str:
    return repr(line)


@given(invoices())
@settings(settings.get_profile("fast_pricing"))
def test_an_invoice_priced_on_integers_matches_the_plain_rules_digit_for_digit(invoice):
    period, changes, usage, discounts, credit = invoice
    priced = price_invoice(period, changes, usage, discounts, credit)
    lines, subtotal, discount_total, applied, total, unused, left = eager_invoice(*invoice)
    assert [line_values(line) for line in priced.lines] == [eager_values(line) for line in lines]
    assert repr((priced.subtotal, priced.discount_total, priced.credit_applied, priced.total,
                 priced.unused_fixed_discount, priced.credit_balance_left)) == repr(
        (subtotal, discount_total, applied, total, unused, left))  # fmt: skip


@given(invoices())
@settings(settings.get_profile("fast_pricing"))
def test_prorate_usage_and_discounts_on_their_own_match_the_plain_rules(invoice):
    period, changes, usage, discounts, _ = invoice
    assert [line_values(line) for line in prorate(changes, period)] == [
        eager_values(line) for line in eager_prorate(changes, period)
    ]
    for plan, used in usage:
        line, expected = price_usage(plan, used), eager_usage(plan, used)
        assert (line is None and expected is None) or line_values(line) == eager_values(expected)
    currency = changes[0].price.currency
    for subtotal in (
        Money.from_minor_units(123456, currency), Money("1000", currency),
        Money(Decimal("999.99512"), currency),
    ):  # fmt: skip
        result = apply_discounts(subtotal, discounts)
        steps, total, unused = eager_discounts(subtotal, discounts)
        assert [line_values(line) for line in result.steps] == [eager_values(s) for s in steps]
        assert repr((result.total, result.unused)) == repr((total, unused))


# The line itself: a value, frozen, whatever is worked out when --------------------------------


def a_priced_line() -> InvoiceLine:
    period = Period(date(2024, 11, 1), date(2024, 12, 1))
    changes = [PlanChange(date(2024, 10, 1), "Growth", Money("600.00", "USD")),
               PlanChange(date(2024, 11, 16), "Compute", Money("1000.00", "USD"))]  # fmt: skip
    return price_invoice(period, changes).lines[1]


def test_a_lazy_line_equals_the_same_line_built_eagerly_and_hashes_alike():
    lazy = a_priced_line()
    eager = InvoiceLine(
        LineKind.RECURRING, "Compute", Money("500.00", "USD"), Decimal("500.00"),
        "15 of 30 days from 2024-11-16 x $1,000.00 = 1000.00 x 15 / 30 = 500.00 -> $500.00", 15,
    )  # fmt: skip
    assert lazy == eager and hash(a_priced_line()) == hash(eager)
    assert repr(lazy) == repr(eager)
    assert repr(lazy).startswith("InvoiceLine(kind=<LineKind.RECURRING: 'recurring'>")


def test_a_line_cannot_be_changed():
    line = a_priced_line()
    for name in ("kind", "amount", "exact_amount", "explanation", "quantity"):
        with pytest.raises(FrozenInstanceError):
            setattr(line, name, None)
    with pytest.raises(FrozenInstanceError):
        del line.amount


def test_a_line_survives_pickle_and_copy_with_its_worked_out_values():
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
        eager = eager_prorate(changes, period)[1]
        assert str(line.exact_amount) == str(eager[3]) and line.explanation == eager[4]
    assert "= 1000.0 x 15 / 30 = 500.0 ->" in lines["1000.0"].explanation
    assert "= 1000.00 x 15 / 30 = 500.00 ->" in lines["1000.00"].explanation
