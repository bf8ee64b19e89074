"""Cost allocation as the screen reads it: saved runs, a run's shares a page at a time, its
trend across saved runs, and the usage a new split by usage would divide.

A saved run can hold a share for each of 25,000 tenants, and a person reads a screenful of
them. So the list of runs reads their headers only; a chosen run's sum check is added up in
the database; its shares are read sorted and paged by the database (and all of them only
for the CSV); and the trend across runs picks its few largest tenants in the database too.
Building every share of every listed run in Python took seconds on each render.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.money import Money
from db.errors import NotFound


@dataclass(frozen=True, slots=True)
class AllocationShareView:
    tenant_id: str
    weight: Decimal
    quota: Decimal
    floor: Money
    extra_minor: int
    amount: Money


@dataclass(frozen=True, slots=True)
class AllocationRunView:
    """A saved run's header: what was split, how, by whom (its shares are read apart)."""

    run_id: int
    label: str
    method: str
    metric: str | None
    period_start: date | None
    period_end: date | None
    total: Money
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ShareTotals:
    """A run's shares added up in the database: the sum check without reading them."""

    tenant_count: int
    parts: Money
    extra_minor: int


class ShareOrder(StrEnum):
    """How a run's shares are sorted, in the database, across every page."""

    LARGEST = "largest amount first"
    SMALLEST = "smallest amount first"
    TENANT = "tenant name"


# The tenant id breaks ties, so a page boundary never splits equal amounts at random.
_SHARE_ORDERS: dict[ShareOrder, str] = {
    ShareOrder.LARGEST: "s.amount_minor DESC, s.tenant_id",
    ShareOrder.SMALLEST: "s.amount_minor, s.tenant_id",
    ShareOrder.TENANT: "t.name, s.tenant_id",
}


@dataclass(frozen=True, slots=True)
class TrendPoint:
    run_id: int
    period_start: date | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AllocationTrend:
    """The saved runs of one shared cost, oldest first, and the amounts of its largest
    tenants in each (a tenant without a share in a run is absent from that run's amounts)."""

    points: tuple[TrendPoint, ...]
    amounts: Mapping[str, Mapping[int, Money]]
    """By tenant id, then run id; only the tenants with the largest parts."""
    tenant_count: int
    """Tenants with a share in any of the points (the chart names the largest few)."""


_RUN_COLUMNS = ("run_id, label, method, metric, period_start, period_end, total_minor, "
                "currency, actor, created_at")


def allocation_runs(session: Session, limit: int = 50) -> list[AllocationRunView]:
    """The latest allocation runs' headers, newest first."""
    rows = session.execute(text(f"""
        SELECT {_RUN_COLUMNS} FROM allocation_runs ORDER BY run_id DESC LIMIT :limit
    """), {"limit": limit})
    return [_run(row) for row in rows]


def allocation_run(session: Session, run_id: int) -> AllocationRunView:
    row = session.execute(text(f"SELECT {_RUN_COLUMNS} FROM allocation_runs "
                               "WHERE run_id = :run_id"), {"run_id": run_id}).first()
    if row is None:
        raise NotFound("allocation run", run_id)
    return _run(row)


def share_totals(session: Session, run: AllocationRunView) -> ShareTotals:
    count, parts_minor, extra_minor = session.execute(text("""
        SELECT count(*), coalesce(sum(amount_minor), 0)::bigint,
               coalesce(sum(extra_minor), 0)::bigint
        FROM allocation_shares WHERE run_id = :run_id
    """), {"run_id": run.run_id}).one()
    return ShareTotals(count, Money.from_minor_units(parts_minor, run.total.currency),
                       extra_minor)


def allocation_shares(session: Session, run: AllocationRunView,
                      order: ShareOrder = ShareOrder.LARGEST, *, limit: int | None = None,
                      offset: int = 0) -> list[AllocationShareView]:
    """`run`'s shares in `order`: `limit` of them after the first `offset` (all without a
    limit). OFFSET walks the skipped rows, which at a run's size (tens of thousands) costs
    milliseconds; the invoice list's keyset paging is for millions."""
    currency = run.total.currency
    rows = session.execute(text(f"""
        SELECT s.tenant_id, s.weight, s.quota, s.floor_minor, s.extra_minor, s.amount_minor
        FROM allocation_shares s JOIN tenants t ON t.tenant_id = s.tenant_id
        WHERE s.run_id = :run_id
        ORDER BY {_SHARE_ORDERS[order]} LIMIT :limit OFFSET :offset
    """), {"run_id": run.run_id, "limit": limit, "offset": offset})
    # Unpacked by position: a Row's attributes cost more than the rest at 25,000 a run.
    return [AllocationShareView(tenant_id, weight, quota,
                                Money.from_minor_units(floor_minor, currency), extra_minor,
                                Money.from_minor_units(amount_minor, currency))
            for tenant_id, weight, quota, floor_minor, extra_minor, amount_minor in rows]


def allocation_trend(session: Session, label: str, currency: str, *, runs: int,
                     tenants: int) -> AllocationTrend:
    """The latest `runs` saved runs of the shared cost `label` in `currency`, oldest first
    (by the month they split, or the day they were saved), with the amounts of the `tenants`
    tenants whose largest amount in them is largest (ties: the tenant id that sorts first)."""
    params = {"label": label, "currency": currency, "runs": runs, "tenants": tenants}
    points = [TrendPoint(*row) for row in session.execute(text("""
        SELECT run_id, period_start, created_at FROM (
            SELECT run_id, period_start, created_at FROM allocation_runs
            WHERE label = :label AND currency = :currency
            ORDER BY coalesce(period_start, created_at::date) DESC, run_id DESC LIMIT :runs
        ) latest ORDER BY coalesce(period_start, created_at::date), run_id
    """), params)]
    if not points:
        return AllocationTrend((), {}, 0)
    params["run_ids"] = [point.run_id for point in points]
    amounts: dict[str, dict[int, Money]] = {}
    tenant_count = 0
    for tenant_id, run_id, amount_minor, count in session.execute(text("""
        WITH largest AS (
            SELECT tenant_id, count(*) OVER () AS tenant_count FROM allocation_shares
            WHERE run_id = ANY(:run_ids) GROUP BY tenant_id
            ORDER BY max(amount_minor) DESC, tenant_id LIMIT :tenants
        )
        SELECT s.tenant_id, s.run_id, s.amount_minor, l.tenant_count
        FROM largest l JOIN allocation_shares s ON s.tenant_id = l.tenant_id
        WHERE s.run_id = ANY(:run_ids)
    """), params):
        amounts.setdefault(tenant_id, {})[run_id] = Money.from_minor_units(amount_minor,
                                                                           currency)
        tenant_count = count
    return AllocationTrend(tuple(points), amounts, tenant_count)


def _run(row) -> AllocationRunView:
    return AllocationRunView(row.run_id, row.label, row.method, row.metric, row.period_start,
                             row.period_end, Money.from_minor_units(row.total_minor,
                                                                    row.currency),
                             row.actor, row.created_at)


def usage_metrics(session: Session) -> list[str]:
    """Every metric with stored usage (for the allocation screen's metric picker)."""
    return list(session.execute(text(
        "SELECT DISTINCT metric FROM usage_days ORDER BY metric")).scalars())


def usage_weights(session: Session, metric: str, period_start: date,
                  period_end: date) -> dict[str, int]:
    """Each tenant's usage of `metric` in [period_start, period_end), in base units, by tenant id.

    The same sums `db.allocation_runs.allocate_by_usage` splits by, read without storing a
    run, so a screen can show the split before it is saved. Tenants without usage are absent.
    """
    rows = session.execute(text("""
        SELECT tenant_id, sum(quantity_base_units)::bigint FROM usage_days
        WHERE metric = :metric AND used_on >= :period_start AND used_on < :period_end
        GROUP BY tenant_id ORDER BY tenant_id
    """), {"metric": metric, "period_start": period_start, "period_end": period_end})
    return {tenant_id: used for tenant_id, used in rows}
