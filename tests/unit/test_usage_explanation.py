"""A usage line's explanation shows the unit price it was computed with, to the last digit."""

from __future__ import annotations

import pytest

from billing_core.money import Money
from billing_core.usage import BYTES_PER_GB, BYTES_PER_TB, UsagePlan, price_usage


@pytest.mark.parametrize(("price", "unit", "per", "used", "shown", "amount"), [
    pytest.param(Money("0.023", "USD"), "GB", BYTES_PER_GB, 612_500_000_000,
                 "x $0.023 per GB", "2.59", id="sub-cent-price-is-not-rounded-for-display"),
    pytest.param(Money("23.0000000000", "USD"), "TB", BYTES_PER_TB, BYTES_PER_TB + 1,
                 "x $23.00 per TB", "0.00", id="stored-scale-still-reads-as-cents"),
    pytest.param(Money("0.0125", "EUR"), "GB", BYTES_PER_GB, 600_000_000_000,
                 "x EUR 0.0125 per GB", "1.25", id="other-currencies-by-code"),
])
def test_explanation_shows_the_exact_unit_price(price, unit, per, used, shown, amount):
    plan = UsagePlan("storage", unit, per, 500 * BYTES_PER_GB if per == BYTES_PER_GB else per,
                     price, "byte")
    line = price_usage(plan, used)
    assert shown in line.explanation
    assert line.amount == Money(amount, price.currency)
