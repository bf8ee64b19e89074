"""SPEC 7: largest remainder in minor units; ties to the larger weight, then the smaller id."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_core.allocation import split_by_weights
from billing_core.errors import AllocationError, InvalidInput
from billing_core.money import Money
from tests.helpers import usd


@pytest.mark.parametrize(
    ("total", "weights", "shares"),
    [
        pytest.param("1000.00", {"x": "33.33", "y": "33.33", "z": "33.34"},
                     {"x": 33330, "y": 33330, "z": 33340}, id="spec-33.33-33.33-33.34"),
        pytest.param("1000.00", {"c": 1, "b": 1, "a": 1},
                     {"a": 33334, "b": 33333, "c": 33333}, id="spec-equal-weights-smaller-id-wins"),
        pytest.param("0.02", {"a": 1, "b": 3},
                     {"a": 0, "b": 2}, id="equal-remainders-larger-weight-wins"),
        pytest.param("0.02", {"c": 1, "b": 2, "a": 1},
                     {"a": 1, "b": 1, "c": 0}, id="equal-remainders-equal-weights-smaller-id"),
        pytest.param("0.01", {"b": 1, "a": 1}, {"a": 1, "b": 0}, id="one-cent-smaller-id"),
        pytest.param("10.00", {"a": 0, "b": 3}, {"a": 0, "b": 1000}, id="zero-weight-gets-nothing"),
        pytest.param("100.00", {"a": "0.25", "b": "0.2", "c": "0.55"},
                     {"a": 2500, "b": 2000, "c": 5500}, id="mixed-decimal-places"),
        pytest.param("0.00", {"a": 1, "b": 1}, {"a": 0, "b": 0}, id="zero-total"),
    ],
)
def test_split_by_weights_uses_the_largest_remainder_in_minor_units(total, weights, shares):
    typed = {t: Decimal(w) if isinstance(w, str) else w for t, w in weights.items()}
    allocation = split_by_weights(usd(total), typed)
    assert allocation.shares_minor == shares
    assert sum(allocation.shares_minor.values()) == usd(total).to_minor_units()


def test_yen_is_split_in_whole_yen():
    allocation = split_by_weights(Money("100", "JPY"), {"a": 1, "b": 1, "c": 1})
    assert allocation.shares_minor == {"a": 34, "b": 33, "c": 33}
    assert allocation.amount_for("a") == Money("34", "JPY")
    assert allocation.tenant_ids == ("a", "b", "c")


def test_the_explanation_rows_show_quota_floor_remainder_and_extra_cent():
    rows = split_by_weights(usd("1000.00"), {"c": 1, "b": 1, "a": 1}).rows()
    assert [(r.tenant_id, r.floor, r.extra_minor, r.amount) for r in rows] == [
        ("c", usd("333.33"), 0, usd("333.33")),
        ("b", usd("333.33"), 0, usd("333.33")),
        ("a", usd("333.33"), 1, usd("333.34")),
    ]
    assert str(rows[0].quota).startswith("333.3333333333")
    assert str(rows[0].remainder).startswith("0.3333333333")
    assert rows[0].weight == 1


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        pytest.param({"a": 1, "b": -1}, "the weight for 'b' is negative", id="negative"),
        pytest.param({"a": 0, "b": Decimal("0.00")}, "all weights are zero", id="all-zero"),
        pytest.param({}, "there are no tenants", id="empty"),
        pytest.param({"a": "NaN"}, "not a finite number", id="nan"),
    ],
)
def test_unusable_weights_are_refused_naming_the_weights_field(weights, problem):
    with pytest.raises(InvalidInput) as refused:
        split_by_weights(usd("1000.00"), weights)
    assert refused.value.field == "weights"
    assert problem in str(refused.value)
    if problem != "not a finite number":
        assert isinstance(refused.value, AllocationError)


def test_a_total_finer_than_a_cent_or_negative_is_refused():
    with pytest.raises(InvalidInput, match="^total: "):
        split_by_weights(usd("0.001"), {"a": 1})
    with pytest.raises(InvalidInput, match="^total: "):
        split_by_weights(usd("-1.00"), {"a": 1})


def test_a_large_split_still_sums_to_the_total_and_stays_within_floor_and_ceiling():
    weights = {f"tenant-{i:05d}": (i * 7919) % 1000 for i in range(20_000)}
    allocation = split_by_weights(usd("12345.67"), weights)
    whole = sum(weights.values())
    assert sum(allocation.shares_minor.values()) == 1234567
    for tenant, weight in weights.items():
        floor = 1234567 * weight // whole
        assert allocation.shares_minor[tenant] - floor in (0, 1)
        if 1234567 * weight % whole == 0:
            assert allocation.shares_minor[tenant] == floor
