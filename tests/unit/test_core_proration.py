"""SPEC 3: price * segment_days / period_days, exact, rounded once; the change day is the new
plan's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from billing_core.errors import CurrencyMismatch, InvalidInput
from billing_core.money import Money
from billing_core.periods import Period, calendar_month
from billing_core.proration import (
    PlanChange,
    TimedPlanChange,
    prorate,
    prorate_by_seconds,
    segments,
)
from tests.helpers import usd

NOVEMBER_2024 = calendar_month("2024-11")


@pytest.mark.parametrize(
    ("changes", "period", "expected"),
    [
        pytest.param(
            [("2024-11-16", "Compute", "1000.00")], NOVEMBER_2024, [("Compute", "500.00", 15)],
            id="spec-15-of-30-days-is-500-not-502",
        ),
        pytest.param(
            [("2024-10-01", "Growth", "600.00"), ("2024-11-16", "Compute", "1000.00")],
            NOVEMBER_2024,
            [("Growth", "300.00", 15), ("Compute", "500.00", 15)],
            id="spec-upgrade-600-to-1000",
        ),
        pytest.param(
            [("2024-01-01", "Compute", "1000.00")], NOVEMBER_2024, [("Compute", "1000.00", 30)],
            id="unchanged-plan-is-full-price",
        ),
        pytest.param(
            [("2024-10-01", "Growth", "1000.00"), ("2024-10-11", "Compute", "1000.00")],
            calendar_month("2024-10"),
            [("Growth", "322.58", 10), ("Compute", "677.42", 21)],
            id="31-day-month-repeating-quotients",
        ),
        pytest.param(
            [("2024-02-01", "Basic", "290.00"), ("2024-02-29", "Pro", "580.00")],
            calendar_month("2024-02"),
            [("Basic", "280.00", 28), ("Pro", "20.00", 1)],
            id="leap-day-belongs-to-the-new-plan",
        ),
        pytest.param(
            [("2024-11-30", "Compute", "1000.00")], NOVEMBER_2024, [("Compute", "33.33", 1)],
            id="last-day-signup",
        ),
        pytest.param(
            [("2024-12-01", "Compute", "1000.00")], NOVEMBER_2024, [],
            id="change-at-period-end-is-next-period",
        ),
        pytest.param(
            [("2024-09-01", "Old", "10.00"), ("2024-10-01", "Growth", "600.00")],
            NOVEMBER_2024, [("Growth", "600.00", 30)],
            id="only-the-last-change-before-the-period-counts",
        ),
    ],
)
def test_prorate_charges_each_segment_exactly_and_rounds_once(changes, period, expected):
    plan_changes = [PlanChange(date.fromisoformat(d), plan, usd(p)) for d, plan, p in changes]
    lines = prorate(plan_changes, period)
    assert [(line.description, line.amount, line.quantity) for line in lines] == [
        (plan, usd(amount), days) for plan, amount, days in expected
    ]
    assert all(line.kind == "recurring" for line in lines)


def test_each_recurring_line_explains_days_formula_and_exact_value():
    october = calendar_month("2024-10")
    [line] = prorate([PlanChange(date(2024, 10, 11), "Compute", usd("1000.00"))], october)
    assert line.explanation == (
        "21 of 31 days from 2024-10-11 x $1,000.00 = 1000.00 x 21 / 31 = "
        "677.419354838709... (repeating) -> $677.42"
    )
    assert str(line.exact_amount).startswith("677.4193548387096774193548387")
    [half] = prorate([PlanChange(date(2024, 11, 16), "Compute", usd("1000.00"))], NOVEMBER_2024)
    assert half.explanation == (
        "15 of 30 days from 2024-11-16 x $1,000.00 = 1000.00 x 15 / 30 = 500.00 -> $500.00"
    )


def test_the_same_plan_listed_twice_is_one_segment_at_full_price():
    lines = prorate(
        [
            PlanChange(date(2024, 11, 1), "Tiny", usd("0.05")),
            PlanChange(date(2024, 11, 16), "Tiny", usd("0.05")),
        ],
        NOVEMBER_2024,
    )
    # Rounded separately, two halves of $0.05 would be $0.03 + $0.03 = $0.06.
    assert [line.amount for line in lines] == [usd("0.05")]


def test_segments_cut_the_period_at_each_change():
    growth = PlanChange(date(2024, 10, 1), "Growth", usd("600.00"))
    compute = PlanChange(date(2024, 11, 16), "Compute", usd("1000.00"))
    assert segments([compute, growth], NOVEMBER_2024) == [
        (growth, Period(date(2024, 11, 1), date(2024, 11, 16))),
        (compute, Period(date(2024, 11, 16), date(2024, 12, 1))),
    ]


def test_two_changes_on_one_day_and_mixed_currencies_are_refused():
    with pytest.raises(InvalidInput, match="two plan changes start at 2024-11-16"):
        prorate(
            [
                PlanChange(date(2024, 11, 16), "A", usd("1.00")),
                PlanChange(date(2024, 11, 16), "B", usd("2.00")),
            ],
            NOVEMBER_2024,
        )
    with pytest.raises(CurrencyMismatch):
        prorate(
            [
                PlanChange(date(2024, 11, 1), "A", usd("1.00")),
                PlanChange(date(2024, 11, 16), "B", Money("2.00", "EUR")),
            ],
            NOVEMBER_2024,
        )


def test_a_plan_change_needs_a_date_a_name_and_a_non_negative_money_price():
    with pytest.raises(TypeError):
        PlanChange(datetime(2024, 11, 16, tzinfo=UTC), "Compute", usd("1.00"))
    with pytest.raises(TypeError):
        PlanChange(date(2024, 11, 16), "Compute", "1000.00")
    with pytest.raises(InvalidInput):
        PlanChange(date(2024, 11, 16), " ", usd("1.00"))
    with pytest.raises(InvalidInput):
        PlanChange(date(2024, 11, 16), "Compute", usd("-1.00"))


def test_second_granularity_proration_agrees_with_days_at_midnight():
    lines = prorate_by_seconds(
        [
            TimedPlanChange(datetime(2024, 10, 1, tzinfo=UTC), "Growth", usd("600.00")),
            TimedPlanChange(datetime(2024, 11, 16, tzinfo=UTC), "Compute", usd("1000.00")),
        ],
        NOVEMBER_2024,
    )
    assert [line.amount for line in lines] == [usd("300.00"), usd("500.00")]
    assert lines[1].quantity == 1_296_000
    assert "1,296,000 of 2,592,000 seconds" in lines[1].explanation


def test_second_granularity_counts_the_change_second_for_the_new_plan():
    # Noon on 2024-11-16 in UTC+2 is 10:00 UTC: 15 days minus 10 hours remain.
    noon_plus_two = datetime(2024, 11, 16, 12, 0, 0, 700000, tzinfo=timezone(timedelta(hours=2)))
    lines = prorate_by_seconds(
        [TimedPlanChange(noon_plus_two, "Compute", usd("2592.00"))], NOVEMBER_2024
    )
    seconds = 15 * 86_400 - 10 * 3_600
    assert lines[0].quantity == seconds
    assert lines[0].amount == usd(str(seconds // 1000)) + usd(f"0.{seconds % 1000:03d}")


def test_second_granularity_refuses_naive_instants():
    with pytest.raises(TypeError, match="naive"):
        TimedPlanChange(datetime(2024, 11, 16), "Compute", usd("1.00"))
