"""The old discount order, kept to explain past bills: fixed amounts first, then percentages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_core.discounts import FixedOff, PercentOff, apply_discounts
from billing_core.reconciliation import apply_discounts_legacy_order
from tests.helpers import usd


@pytest.mark.parametrize(("subtotal", "discounts", "legacy_total", "correct_total"), [
    pytest.param("1000.00",
                 [PercentOff(Decimal("10"), "Enterprise"), FixedOff(usd("50.00"), "Promo")],
                 "855.00", "850.00", id="initech-dispute"),
    pytest.param("1000.00",
                 [FixedOff(usd("50.00"), "Promo"), PercentOff(Decimal("10"), "Enterprise")],
                 "855.00", "850.00", id="listed-order-does-not-matter"),
    pytest.param("100.00", [FixedOff(usd("150.00"), "Promo"), PercentOff(Decimal("10"), "X")],
                 "0.00", "0.00", id="never-below-zero"),
    pytest.param("10.01", [PercentOff(Decimal("50"), "Half")], "5.00", "5.00",
                 id="each-step-rounded-half-up"),
])
def test_legacy_order_takes_fixed_amounts_first(subtotal, discounts, legacy_total, correct_total):
    legacy = apply_discounts_legacy_order(usd(subtotal), discounts)
    assert legacy.total == usd(legacy_total)
    assert apply_discounts(usd(subtotal), discounts).total == usd(correct_total)
    assert sum((step.amount for step in legacy.steps), usd(subtotal)) == legacy.total


def test_initech_steps_read_as_the_old_bill():
    legacy = apply_discounts_legacy_order(
        usd("1000.00"), [PercentOff(Decimal("10"), "Enterprise"), FixedOff(usd("50.00"), "Promo")])
    assert [(s.description, s.amount) for s in legacy.steps] == [
        ("Promo", usd("-50.00")), ("Enterprise", usd("-95.00"))]


def test_unused_fixed_amount_is_reported():
    legacy = apply_discounts_legacy_order(usd("30.00"), [FixedOff(usd("50.00"), "Promo")])
    assert (legacy.total, legacy.unused) == (usd("0.00"), usd("20.00"))
