"""Periods: the stretch of calendar a charge covers.

A billing period is a half-open interval of dates, ``[start, end)``: it
contains ``start`` and stops just before ``end``, so consecutive periods share
a boundary without sharing a day, and a period's length is simply
``(end - start).days``, leap days included (SPEC 2). The calendar month
"2024-01" is ``[2024-01-01, 2024-02-01)``, 31 days.

Monthly periods may be anchored on any day from 1 to 31. A month without that
day clamps the boundary to its last day: anchor 31 gives Jan 31, then Feb 29
(in 2024), then Mar 31. Every boundary is computed from the anchor itself,
never from the previous boundary, which is why the schedule never drifts to
the 29th after passing through February.

Dates bound periods; instants (when a plan changed to the second) are
timezone-aware UTC ``datetime`` values, and a naive one is refused, because a
datetime without a zone is a guess about which day it belongs to.

The calendar ends on 9999-12-31 (``date.max``). A period that would run past
either end of it is refused as InvalidInput naming the date, not left to fail
as the standard library's bare ValueError.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, timedelta

from billing_core.errors import InvalidInput

ONE_DAY = timedelta(days=1)


def _require_date(value: object, field: str) -> date:
    # datetime is a subclass of date; letting one through would smuggle a time
    # of day (and perhaps a zone) into a rule that is about calendar days.
    if type(value) is not date:
        raise TypeError(f"{field}: expected a date, got {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Period:
    """The half-open date range ``[start, end)``; ``end`` must be after ``start``.

    SPEC 2: ``Period(date(2024, 1, 1), date(2024, 2, 1)).days == 31`` and its
    label is "2024-01".
    """

    start: date
    end: date
    # Worked out once: every line of every invoice of the period divides by it.
    days: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_date(self.start, "start")
        _require_date(self.end, "end")
        if self.end <= self.start:
            raise InvalidInput(
                "period", f"ends on {self.end} which is not after its start {self.start}"
            )
        object.__setattr__(self, "days", (self.end - self.start).days)

    @property
    def last_day(self) -> date:
        """The last date inside the period (``end`` itself is outside)."""
        return self.end - ONE_DAY

    @property
    def label(self) -> str:
        """"2024-01" for a calendar month, else "2024-01-15..2024-02-15" (half-open)."""
        start, end = self.start, self.end
        # Counted in months, not by building the next month's first day: after
        # December 9999 there is none.
        if start.day == 1 and end.day == 1 and _month_index(end) - _month_index(start) == 1:
            return month_label(start)
        return f"{start.isoformat()}..{end.isoformat()}"

    def __contains__(self, day: date) -> bool:
        return self.start <= _require_date(day, "day") < self.end

    def overlap(self, other: Period) -> Period | None:
        """The days both periods share, or None when they share none."""
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        return Period(start, end) if start < end else None

    def __str__(self) -> str:
        return self.label


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _anchored_day(year: int, month: int, anchor_day: int) -> date:
    # Clamp to the month's last day; computed afresh each month, so no drift.
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def monthly_period(anchor_day: int, containing_date: date) -> Period:
    """The monthly period anchored on ``anchor_day`` (1-31) that contains ``containing_date``.

    SPEC 2: anchor 31 clamps to short months without drifting:
    ``monthly_period(31, date(2024, 2, 10))`` is ``[2024-01-31, 2024-02-29)`` and
    ``monthly_period(31, date(2024, 3, 1))`` is ``[2024-02-29, 2024-03-31)``.
    Anchor 1 gives calendar months. An anchor outside 1..31 is InvalidInput, and
    so is a date whose period would run past 9999-12-31 or before 0001-01-01
    (field "containing_date").
    """
    if type(anchor_day) is not int:
        raise TypeError(f"anchor_day: expected an int, got {type(anchor_day).__name__}")
    if not 1 <= anchor_day <= 31:
        raise InvalidInput("anchor_day", f"{anchor_day} is not a day of the month (1-31)")
    day = _require_date(containing_date, "containing_date")
    boundary = _anchored_day(day.year, day.month, anchor_day)
    if day >= boundary:
        year, month = _shift_month(day.year, day.month, 1)
        if year > MAXYEAR:
            raise InvalidInput("containing_date", f"{day} is too late: its billing period "
                                                  f"would end after {date.max}")
        return Period(boundary, _anchored_day(year, month, anchor_day))
    year, month = _shift_month(day.year, day.month, -1)
    if year < MINYEAR:
        raise InvalidInput("containing_date", f"{day} is too early: its billing period "
                                              f"would start before {date.min}")
    return Period(_anchored_day(year, month, anchor_day), boundary)


_MONTH_LABEL = re.compile(r"(\d{4})-(\d{2})")


def calendar_month(label: str) -> Period:
    """The calendar month "2024-01" as ``[2024-01-01, 2024-02-01)``; bad text is InvalidInput."""
    match = _MONTH_LABEL.fullmatch(label.strip()) if isinstance(label, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise InvalidInput("period", f"{label!r} is not a month like 2024-01")
    start = date(int(match.group(1)), int(match.group(2)), 1)
    if (start.year, start.month) == (MAXYEAR, 12):
        raise InvalidInput("period", f"{label!r} is too late: a period ends on the day after "
                                     f"its last, and the calendar stops at {date.max}")
    return Period(start, _first_of_next_month(start))


def month_label(day: date) -> str:
    """``month_label(date(2024, 11, 16)) == "2024-11"``."""
    return f"{day.year:04d}-{day.month:02d}"


def require_aware_utc(instant: datetime, field: str = "instant") -> datetime:
    """Return ``instant`` in UTC; a naive datetime (no zone) raises TypeError.

    An aware instant in another zone is converted, not refused: it names one
    moment unambiguously.
    """
    if not isinstance(instant, datetime):
        raise TypeError(
            f"{field}: expected a timezone-aware datetime, got {type(instant).__name__}"
        )
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise TypeError(
            f"{field}: naive datetime {instant.isoformat()} refused; give it a timezone"
        )
    return instant.astimezone(UTC)


def period_start_instant(period: Period) -> datetime:
    """Midnight UTC at the period's start: where second-granularity proration begins."""
    return datetime(period.start.year, period.start.month, period.start.day, tzinfo=UTC)
