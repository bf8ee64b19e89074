"""Proration: charging a recurring price for the part of a period it was in force.

A plan that changes mid-period is charged per segment: each plan pays
``price * segment_days / period_days``, computed exactly and rounded once
(SPEC 3). The day of a change belongs to the new plan: an upgrade on
2024-11-16 in the 30-day period ``[2024-11-01, 2024-12-01)`` gives the old plan
15 days (1st-15th) and the new plan 15 days (16th-30th). Dividing by the
period's real length is what keeps "$1000.00 for 15 of 30 days" at $500.00
rather than the $502.00 a fixed 30.4-day month would produce.

A plan that does not change is charged exactly its price. If the same plan at
the same price is listed again mid-period (a renewal, a no-op edit), the
adjacent segments are merged before pricing, because rounding two halves
separately could drift a cent from the whole.

Plan changes are listed as ``PlanChange(starts_on, plan, price)``: the plan in
force from that day until the next change. Only the last change on or before
the period's start matters for the start; a first change after the start
means nothing was billed before it (a mid-period sign-up).

Day granularity is the default. ``prorate_by_seconds`` offers the same rule
to the second for plans that change at a precise instant: instants are
timezone-aware UTC, the period runs from midnight UTC of its first day, and
sub-second parts are ignored (the change's second belongs to the new plan).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from typing import TypeVar

from billing_core.errors import CurrencyMismatch, InvalidInput
from billing_core.lines import RECURRING, InvoiceLine, describe_exact, priced_line
from billing_core.money import Money, exact_quotient, format_money, minor_units_text, share_minor
from billing_core.periods import Period, _require_date, period_start_instant, require_aware_utc


class _InForce:
    # The checks a plan change of either grain makes, in one place: its start by the
    # subclass's ``_checked_start``, then a named plan and a price that is Money, not negative.
    __slots__ = ()
    plan: str
    price: Money

    def __post_init__(self) -> None:
        self._checked_start()
        if not isinstance(self.plan, str) or not self.plan.strip():
            raise InvalidInput("plan", "needs a name")
        if type(self.price) is not Money:
            raise TypeError(f"price: expected Money, got {type(self.price).__name__}")
        if self.price.is_negative:
            raise InvalidInput("price", f"{self.price} is negative")

    def _checked_start(self) -> None:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class PlanChange(_InForce):
    """``PlanChange(starts_on, plan, price)``: in force from ``starts_on`` until the next change.

    The day of the change belongs to this plan (SPEC 3).
    """

    starts_on: date
    plan: str
    price: Money

    def _checked_start(self) -> None:
        _require_date(self.starts_on, "starts_on")


@dataclass(frozen=True, slots=True)
class TimedPlanChange(_InForce):
    """A plan in force from the aware instant ``starts_at`` (kept in UTC), for seconds."""

    starts_at: datetime
    plan: str
    price: Money

    def _checked_start(self) -> None:
        object.__setattr__(self, "starts_at", require_aware_utc(self.starts_at, "starts_at"))


_Change = TypeVar("_Change", PlanChange, TimedPlanChange)


def _spans(
    offsets: list[tuple[int, _Change]], total: int, describe_start: Callable[[_Change], object]
) -> list[tuple[_Change, int, int]]:
    """Cut ``[0, total)`` into (change, start, end) spans, one per plan in force.

    ``offsets`` pairs each change with its start measured in units from the
    period's start (negative: before the period). Every plan must share one
    currency and no two may start together; each pair of neighbours is checked
    as the loop meets it (every invoice passes here, so the loop is the only one).
    """
    offsets.sort(key=_first)
    spans: list[tuple[_Change, int, int]] = []
    before: _Change | None = None
    start_before = 0
    for offset, change in offsets:
        if before is not None:
            if (change.price.currency != before.price.currency
                    or offset == start_before):
                _refuse_neighbours(before, change, describe_start)
            _add_span(spans, before, start_before, offset if offset < total else total)
        before, start_before = change, offset
    if before is not None:
        _add_span(spans, before, start_before, total)
    return spans


def _add_span(spans: list[tuple[_Change, int, int]], change: _Change, start: int, end: int) -> None:
    # ``change`` in force from ``start`` until ``end``, cut to the period (which starts at 0).
    if start < 0:
        start = 0
    if start >= end:
        return  # over before the period starts, or starting after it ends
    if spans:
        last = spans[-1][0]
        if last.plan == change.plan and last.price == change.price:
            # An unchanged plan is one segment: it must cost exactly its price.
            spans[-1] = (last, spans[-1][1], end)
            return
    spans.append((change, start, end))


def _refuse_neighbours(
    before: _Change, change: _Change, describe_start: Callable[[_Change], object]
) -> None:
    """One currency for every plan, and one plan per start (``change`` follows ``before``)."""
    if change.price.currency != before.price.currency:
        raise CurrencyMismatch(before.price.currency, change.price.currency, "prorate")
    raise InvalidInput(
        "plan_changes", f"two plan changes start at {describe_start(change)}; keep one"
    )


_first = itemgetter(0)


def _starts_on(change: PlanChange) -> date:
    return change.starts_on


def segments(plan_changes: Sequence[PlanChange], period: Period) -> list[tuple[PlanChange, Period]]:
    """Each plan in force during ``period`` with the sub-period it covers.

    SPEC 3: changes to $600.00 on 2024-10-01 and $1000.00 on 2024-11-16, period
    November 2024 -> ``[($600 plan, [11-01, 11-16)), ($1000 plan, [11-16, 12-01))]``.
    """
    start = period.start
    spans = _day_spans(plan_changes, period)
    return [
        (change, Period(start + timedelta(days=lo), start + timedelta(days=hi)))
        for change, lo, hi in spans
    ]


def _day_spans(
    plan_changes: Sequence[PlanChange], period: Period
) -> list[tuple[PlanChange, int, int]]:
    origin = period.start.toordinal()
    return _spans(
        [(change.starts_on.toordinal() - origin, change) for change in plan_changes],
        period.days,
        _starts_on,
    )


def prorate(plan_changes: Sequence[PlanChange], period: Period) -> list[InvoiceLine]:
    """One recurring line per plan segment: ``price * segment_days / period_days``, rounded once.

    ``prorate(plan_changes, period) -> list[InvoiceLine]``. SPEC 3: in the
    30-day period ``[2024-11-01, 2024-12-01)``, an upgrade from $600.00 to
    $1000.00 on 2024-11-16 gives $300.00 + $500.00; an unchanged plan gives
    exactly its price.
    """
    lines: list[InvoiceLine] = []
    prorate_into(plan_changes, period, lines)
    return lines


def prorate_into(
    plan_changes: Sequence[PlanChange], period: Period, lines: list[InvoiceLine]
) -> int:
    # Private to billing_core (price_invoice): ``prorate`` appending to
    # ``lines`` and returning the sum of the new lines in minor units, so the
    # invoice adds integers rather than Decimals.
    start = period.start
    return _bill_spans(
        _day_spans(plan_changes, period), period.days, "days",
        lambda change, lo: change.starts_on if lo else start, lines,
    )


def prorate_by_seconds(
    plan_changes: Sequence[TimedPlanChange], period: Period
) -> list[InvoiceLine]:
    """Like ``prorate`` but to the second: ``price * segment_seconds / period_seconds``.

    ``prorate_by_seconds(plan_changes, period) -> list[InvoiceLine]``. The
    period runs from midnight UTC of ``period.start`` to midnight UTC of
    ``period.end``. Example: $1000.00 from 2024-11-16T00:00:00Z in November 2024
    is 1,296,000 of 2,592,000 seconds -> $500.00, the same as by days.
    """
    origin = period_start_instant(period)
    period_seconds = period.days * 86_400
    offsets = []
    for change in plan_changes:
        if type(change) is not TimedPlanChange:
            raise TypeError(f"plan_changes: expected TimedPlanChange, got {type(change).__name__}")
        delta = change.starts_at - origin
        # Whole seconds by integer arithmetic (timedelta.total_seconds() is a float).
        offsets.append((delta.days * 86_400 + delta.seconds, change))
    lines: list[InvoiceLine] = []
    _bill_spans(
        _spans(offsets, period_seconds, _starts_at), period_seconds, "seconds",
        lambda change, lo: (origin + timedelta(seconds=lo)).isoformat(), lines,
    )
    return lines


def _starts_at(change: TimedPlanChange) -> str:
    return change.starts_at.isoformat()


def _bill_spans(
    spans: list[tuple[_Change, int, int]], whole: int, unit: str,
    since: Callable[[_Change, int], object], lines: list[InvoiceLine],
) -> int:
    """A recurring line per span, ``price * used / whole``, exactly, rounded once, appended to
    ``lines``; returns their sum in minor units. ``since(change, start)`` is the span's first
    day (or second) as its sentence names it."""
    total = 0
    for change, lo, hi in spans:
        used = hi - lo
        price = change.price
        minor = share_minor(price, used, whole)
        lines.append(priced_line(
            RECURRING, change.plan, minor, price.currency, used,
            (_explain_segment, price, used, whole, unit, since(change, lo), minor),
        ))
        total += minor
    return total


def _explain_segment(line: InvoiceLine, explain: tuple) -> tuple[Decimal, str]:
    """The exact amount and the sentence of a recurring line, written when first read."""
    _, price, used, whole, unit, since, billed = explain
    # ``decimals``: equal prices of another scale (1000.0, 1000.00) keep their own digits.
    return _segment_sentence(price, price.decimals, billed, used, whole, unit, since)


# Every tenant on a plan whose segment starts the same day gets the same
# sentence: month-end writes a few distinct recurring sentences thousands of
# times. Kept because it pays: in bench/bench_core.py's invoices, pricing with every
# sentence made took 15.6 us an invoice with it and 21.5 us without (20,000 invoices,
# best of 15, same run, CPU; the plain peer 24 us).
@lru_cache(maxsize=4096)
def _segment_sentence(
    price: Money, decimals: int, billed: int, used: int, whole: int, unit: str, since: object
) -> tuple[Decimal, str]:
    currency = price.currency
    head = f"{used:,} of {whole:,} {unit} from {since} x {format_money(price)} ="
    if used == whole:
        # An unchanged plan costs exactly its price: nothing to divide.
        return price.amount, f"{head} full price -> {minor_units_text(billed, currency)}"
    exact, is_exact = exact_quotient(price, used, whole)
    # The price's own digits (1000.0 or 1000.00): the exact amount has as many decimals.
    return exact, (
        f"{head} {price.amount!s} x {used:,} / {whole:,} = {describe_exact(exact, is_exact)} "
        f"-> {minor_units_text(billed, currency)}"
    )
