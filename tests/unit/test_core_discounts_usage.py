"""SPEC 4 (discount order, never below zero) and SPEC 6 (integer usage, strict overage)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_core.discounts import FixedOff, PercentOff, apply_discounts
from billing_core.errors import InvalidInput
from billing_core.money import Money
from billing_core.usage import (
    BYTES_PER_TB,
    BYTES_PER_TIB,
    UsagePlan,
    overage,
    price_usage,
    quantity_text,
    unit_price_text,
)
from tests.helpers import usd


def discount(spec: str) -> PercentOff | FixedOff:
    return PercentOff(spec[:-1], spec) if spec.endswith("%") else FixedOff(usd(spec), spec)


@pytest.mark.parametrize(
    ("subtotal", "discounts", "steps", "total", "unused"),
    [
        pytest.param("1000.00", ["10%", "50.00"], ["-100.00", "-50.00"], "850.00", "0.00",
                     id="spec-850-not-855"),
        pytest.param("1000.00", ["50.00", "10%"], ["-100.00", "-50.00"], "850.00", "0.00",
                     id="percent-first-whatever-the-order-listed"),
        pytest.param("1000.00", ["10%", "5%"], ["-100.00", "-45.00"], "855.00", "0.00",
                     id="10-then-5-is-14.5-percent-off"),
        pytest.param("100.00", ["30.00", "80.00"], ["-30.00", "-70.00"], "0.00", "10.00",
                     id="never-below-zero-unused-reported"),
        pytest.param("0.00", ["5.00"], ["0.00"], "0.00", "5.00", id="nothing-to-discount"),
        pytest.param("0.05", ["10%"], ["-0.01"], "0.04", "0.00", id="half-cent-step-rounds-up"),
        pytest.param("33.33", ["33.333%"], ["-11.11"], "22.22", "0.00",
                     id="each-step-rounded-once"),
        pytest.param("500.00", ["100%", "1.00"], ["-500.00", "0.00"], "0.00", "1.00",
                     id="hundred-percent"),
        pytest.param("500.00", [], [], "500.00", "0.00", id="no-discounts"),
    ],
)
def test_discounts_apply_percentages_first_then_fixed_amounts(
    subtotal, discounts, steps, total, unused
):
    result = apply_discounts(usd(subtotal), [discount(spec) for spec in discounts])
    assert [step.amount for step in result.steps] == [usd(step) for step in steps]
    assert (result.total, result.unused) == (usd(total), usd(unused))
    assert usd(subtotal) + sum((s.amount for s in result.steps), Money.zero("USD")) == result.total
    assert all(step.kind == "discount" for step in result.steps)


def test_discount_steps_explain_themselves():
    result = apply_discounts(
        usd("100.00"), [PercentOff("10", "Enterprise"), FixedOff(usd("95.00"), "Promo")]
    )
    assert [step.explanation for step in result.steps] == [
        "10% of $100.00 = 10.00 -> -$10.00",
        "$95.00 offered, only $90.00 used so the total stays at zero; $5.00 unused",
    ]


@pytest.mark.parametrize("percent", ["-1", "100.01", "250"])
def test_a_percentage_outside_0_to_100_is_refused(percent):
    with pytest.raises(InvalidInput) as refused:
        PercentOff(percent, "bad")
    assert refused.value.field == "percent"


def test_a_subtotal_finer_than_the_minor_unit_is_refused_rather_than_discounted_below_zero():
    # A subtotal is a sum of rounded lines. 100% of $999.99512 rounds to a $1,000.00 step,
    # which would leave -$0.00488: refused, naming the field, like a sub-cent FixedOff.
    with pytest.raises(InvalidInput) as refused:
        apply_discounts(Money("999.99512", "USD"), [PercentOff("100", "Sponsored")])
    assert refused.value.field == "subtotal"
    assert "999.99512" in refused.value.problem and "minor unit" in refused.value.problem
    # Whole minor units written with other places are fine: "1000" is $1,000.00.
    assert apply_discounts(Money("1000", "USD"), [PercentOff("100", "x")]).total == usd("0.00")


def test_a_negative_or_sub_cent_fixed_discount_is_refused():
    with pytest.raises(InvalidInput):
        FixedOff(usd("-1.00"), "bad")
    with pytest.raises(InvalidInput):
        FixedOff(usd("0.001"), "bad")


TB_PLAN = UsagePlan("storage", "TB", BYTES_PER_TB, BYTES_PER_TB, usd("23.00"), "byte")
TIB_PLAN = UsagePlan("storage", "TiB", BYTES_PER_TIB, BYTES_PER_TIB, usd("23.00"), "byte")


@pytest.mark.parametrize(
    ("used", "included", "over"),
    [
        pytest.param(10**12, 10**12, 0, id="exactly-1-TB-is-no-overage"),
        pytest.param(10**12 + 1, 10**12, 1, id="one-byte-over"),
        pytest.param(10**12 - 1, 10**12, 0, id="under"),
        pytest.param(0, 0, 0, id="nothing"),
        pytest.param(5, 0, 5, id="no-allowance"),
    ],
)
def test_overage_is_strictly_above_the_included_quantity(used, included, over):
    assert overage(used, included) == over


@pytest.mark.parametrize(
    ("plan", "used", "amount", "exact", "quantity"),
    [
        pytest.param(TB_PLAN, 10**12, None, None, None, id="tb-at-limit-no-line"),
        pytest.param(
            TB_PLAN, 10**12 + 1, "0.00", "0.000000000023", 1, id="tb-one-byte-line-of-0.00"
        ),
        pytest.param(TB_PLAN, 2 * 10**12, "23.00", "23", 10**12, id="tb-one-tb-over"),
        pytest.param(TB_PLAN, 10**12 + 5 * 10**11, "11.50", "11.5", 5 * 10**11, id="half-tb"),
        pytest.param(
            TIB_PLAN, 2 * 10**12, "18.84", None, 2 * 10**12 - 2**40, id="tib-is-a-different-plan"
        ),
        pytest.param(TIB_PLAN, 2**40, None, None, None, id="tib-at-limit"),
    ],
)
def test_usage_is_priced_exactly_and_rounded_once(plan, used, amount, exact, quantity):
    line = price_usage(plan, used)
    if amount is None:
        assert line is None
        return
    assert (line.amount, line.quantity, line.kind) == (usd(amount), quantity, "usage")
    if exact is not None:
        assert line.exact_amount == Decimal(exact)


def test_one_byte_over_explains_why_it_costs_nothing():
    line = price_usage(TB_PLAN, 10**12 + 1)
    assert line.explanation == (
        "used 1,000,000,000,001 bytes, included 1,000,000,000,000: overage 1 byte x $23.00 per TB "
        "(1,000,000,000,000 bytes) = 0.000000000023 -> $0.00"
    )


def test_usage_counts_are_integers_and_never_negative():
    with pytest.raises(TypeError):
        overage(Decimal("1.5"), 0)
    with pytest.raises(InvalidInput):
        overage(-1, 0)
    with pytest.raises(InvalidInput):
        price_usage(TB_PLAN, -1)
    with pytest.raises(InvalidInput):
        UsagePlan("storage", "TB", 0, 0, usd("1.00"))


def test_a_stored_rate_scale_does_not_leak_into_the_explanation():
    # A percent read from NUMERIC(9,6) arrives as 10.000000.
    [step] = apply_discounts(Money("1000.00", "USD"),
                             [PercentOff(Decimal("10.000000"), "Enterprise")]).steps
    assert step.explanation == "10% of $1,000.00 = 100.00 -> -$100.00"
    assert step.exact_amount == Decimal("-100.00")
    assert PercentOff(Decimal("12.500000"), "x").percent == Decimal("12.5")


@pytest.mark.parametrize(
    ("base_units", "per_unit", "text"),
    [
        pytest.param(BYTES_PER_TB, BYTES_PER_TB, "1", id="one-tb"),
        pytest.param(1_500_000_000_000, BYTES_PER_TB, "1.5", id="one-and-a-half"),
        pytest.param(BYTES_PER_TIB + 1, BYTES_PER_TIB, "1.0000000000009094947017729282379150390625",
                     id="one-byte-over-a-tib-every-digit"),
        pytest.param(0, 10**6, "0", id="none"),
    ],
)
def test_a_quantity_in_its_billing_unit_is_shown_exactly(base_units, per_unit, text):
    assert quantity_text(base_units, per_unit) == text


@pytest.mark.parametrize(
    ("price", "text"),
    [
        pytest.param(Money("23.00", "USD"), "$23.00", id="whole-cents"),
        pytest.param(Money("0.023", "USD"), "$0.023", id="finer-than-a-cent-not-rounded"),
        pytest.param(Money("0.0230", "EUR"), "EUR 0.023", id="code-and-zeros-cut"),
    ],
)
def test_a_unit_price_is_shown_as_charged(price, text):
    assert unit_price_text(price) == text
