"""SPEC 2: half-open periods, anchored months that clamp without drifting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from billing_core.errors import InvalidInput
from billing_core.periods import (
    Period,
    calendar_month,
    month_label,
    monthly_period,
    require_aware_utc,
)


def test_the_monthly_period_2024_01_is_half_open_and_31_days():
    january = calendar_month("2024-01")
    assert (january.start, january.end, january.days) == (date(2024, 1, 1), date(2024, 2, 1), 31)
    assert date(2024, 1, 31) in january
    assert date(2024, 2, 1) not in january
    assert january.label == "2024-01"


@pytest.mark.parametrize(
    ("label", "days"),
    [("2023-02", 28), ("2024-02", 29), ("2024-11", 30), ("2024-12", 31), ("2100-02", 28)],
)
def test_period_length_counts_leap_days(label, days):
    assert calendar_month(label).days == days


@pytest.mark.parametrize(
    ("anchor", "inside", "start", "end"),
    [
        pytest.param(31, "2024-01-31", "2024-01-31", "2024-02-29", id="31-jan-to-leap-feb"),
        pytest.param(31, "2024-02-28", "2024-01-31", "2024-02-29", id="31-day-before-boundary"),
        pytest.param(31, "2024-02-29", "2024-02-29", "2024-03-31", id="31-leap-feb-to-mar-31"),
        pytest.param(31, "2024-03-31", "2024-03-31", "2024-04-30", id="31-no-drift-after-feb"),
        pytest.param(31, "2023-02-28", "2023-02-28", "2023-03-31", id="31-common-year-feb"),
        pytest.param(31, "2023-02-27", "2023-01-31", "2023-02-28", id="31-jan-to-feb-28"),
        pytest.param(30, "2024-02-29", "2024-02-29", "2024-03-30", id="30-clamps-in-leap-feb"),
        pytest.param(30, "2023-03-15", "2023-02-28", "2023-03-30", id="30-common-feb"),
        pytest.param(29, "2023-02-28", "2023-02-28", "2023-03-29", id="29-clamps-in-2023"),
        pytest.param(29, "2024-02-29", "2024-02-29", "2024-03-29", id="29-exists-in-2024"),
        pytest.param(29, "2024-02-28", "2024-01-29", "2024-02-29", id="29-day-before"),
        pytest.param(1, "2024-12-31", "2024-12-01", "2025-01-01", id="1-is-calendar-month"),
        pytest.param(15, "2024-01-14", "2023-12-15", "2024-01-15", id="15-across-new-year"),
    ],
)
def test_anchored_months_clamp_to_the_last_day_without_drifting(anchor, inside, start, end):
    period = monthly_period(anchor, date.fromisoformat(inside))
    assert period == Period(date.fromisoformat(start), date.fromisoformat(end))


def test_anchor_31_walks_a_whole_leap_year_without_drift():
    day, ends = date(2024, 1, 31), []
    for _ in range(12):
        period = monthly_period(31, day)
        ends.append(period.end)
        day = period.end
    assert ends == [
        date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31),
        date(2024, 6, 30), date(2024, 7, 31), date(2024, 8, 31), date(2024, 9, 30),
        date(2024, 10, 31), date(2024, 11, 30), date(2024, 12, 31), date(2025, 1, 31),
    ]


@pytest.mark.parametrize(
    ("day", "period"),
    [
        pytest.param(date(2025, 2, 28), (date(2025, 2, 28), date(2025, 3, 29)), id="2025-clamps"),
        pytest.param(date(2028, 2, 29), (date(2028, 2, 29), date(2028, 3, 29)), id="2028-leap"),
    ],
)
def test_a_feb_29_anniversary_falls_on_feb_28_in_common_years(day, period):
    assert monthly_period(29, day) == Period(*period)


@pytest.mark.parametrize("anchor", [0, 32, -1])
def test_an_anchor_outside_1_to_31_is_refused(anchor):
    with pytest.raises(InvalidInput) as refused:
        monthly_period(anchor, date(2024, 1, 1))
    assert refused.value.field == "anchor_day"


def test_a_period_must_end_after_it_starts_and_takes_dates_not_datetimes():
    with pytest.raises(InvalidInput):
        Period(date(2024, 1, 1), date(2024, 1, 1))
    with pytest.raises(TypeError):
        Period(datetime(2024, 1, 1, tzinfo=UTC), date(2024, 2, 1))


def test_overlap_and_labels():
    november = calendar_month("2024-11")
    assert november.overlap(Period(date(2024, 11, 16), date(2025, 1, 1))) == Period(
        date(2024, 11, 16), date(2024, 12, 1)
    )
    assert november.overlap(calendar_month("2024-12")) is None
    assert Period(date(2024, 1, 15), date(2024, 2, 15)).label == "2024-01-15..2024-02-15"
    assert month_label(date(2024, 11, 16)) == "2024-11"


@pytest.mark.parametrize("text", ["2024-13", "2024-1", "24-01", "", "January"])
def test_a_bad_month_label_is_refused(text):
    with pytest.raises(InvalidInput, match="^period: "):
        calendar_month(text)


def test_naive_instants_are_refused_and_aware_ones_become_utc():
    with pytest.raises(TypeError, match="naive"):
        require_aware_utc(datetime(2024, 11, 16, 12, 0))
    plus_two = timezone(timedelta(hours=2))
    assert require_aware_utc(datetime(2024, 11, 16, 2, 0, tzinfo=plus_two)) == datetime(
        2024, 11, 16, 0, 0, tzinfo=UTC
    )
    assert require_aware_utc(datetime(2024, 11, 16, 2, 0, tzinfo=plus_two)).tzinfo is UTC
