"""Cost allocation as the screen reads it: stored runs with their shares, and the usage a
new split by usage would divide (the metric picker and each tenant's weight)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from threading import Lock

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
    run_id: int
    label: str
    method: str
    metric: str | None
    period_start: date | None
    period_end: date | None
    total: Money
    actor: str
    created_at: datetime
    shares: tuple[AllocationShareView, ...]


_RUNS_KEPT = 64
"""Saved runs kept read per process: a saved run never changes (nothing updates or deletes
one), so a run read once, with its 25,000 shares, is not read and built again on the next
render (the screen lists 50 runs: 16 s of reading and building at 25,000 tenants)."""
_kept_runs: OrderedDict[tuple[str, int, datetime], AllocationRunView] = OrderedDict()
_kept_lock = Lock()


def allocation_runs(session: Session, limit: int = 50) -> list[AllocationRunView]:
    """The latest allocation runs, newest first, each with its shares."""
    return _runs(session, "ORDER BY run_id DESC LIMIT :limit", {"limit": limit})


def allocation_run(session: Session, run_id: int) -> AllocationRunView:
    runs = _runs(session, "WHERE run_id = :run_id", {"run_id": run_id})
    if not runs:
        raise NotFound("allocation run", run_id)
    return runs[0]


def _runs(session: Session, choice: str, params: dict[str, object]) -> list[AllocationRunView]:
    """The runs `choice` picks, in its order: headers in one read, then the shares of those
    not kept yet in one more (the run's id and time name it, so a database made again under
    the same name is not taken for the old one)."""
    database = session.connection().engine.url.render_as_string(hide_password=True)
    headers = session.execute(text(f"SELECT * FROM allocation_runs {choice}"), params).all()
    keys = {row.run_id: (database, row.run_id, row.created_at) for row in headers}
    with _kept_lock:
        kept = {run_id: _kept_runs[key] for run_id, key in keys.items() if key in _kept_runs}
    missing = [row for row in headers if row.run_id not in kept]
    shares: dict[int, list[AllocationShareView]] = {row.run_id: [] for row in missing}
    currency = {row.run_id: row.currency for row in missing}
    if missing:
        # Unpacked by position: a Row's attributes cost more than the rest at 25,000 a run.
        for run_id, tenant_id, weight, quota, floor_minor, extra_minor, amount_minor in (
                session.execute(text("""
                    SELECT run_id, tenant_id, weight, quota, floor_minor, extra_minor,
                           amount_minor
                    FROM allocation_shares WHERE run_id = ANY(:run_ids)
                    ORDER BY run_id, tenant_id
                """), {"run_ids": list(shares)})):
            code = currency[run_id]
            shares[run_id].append(AllocationShareView(
                tenant_id, weight, quota, Money.from_minor_units(floor_minor, code), extra_minor,
                Money.from_minor_units(amount_minor, code)))
    for row in missing:
        kept[row.run_id] = AllocationRunView(
            row.run_id, row.label, row.method, row.metric, row.period_start, row.period_end,
            Money.from_minor_units(row.total_minor, row.currency), row.actor, row.created_at,
            tuple(shares[row.run_id]))
    with _kept_lock:
        for row in missing:
            _kept_runs[keys[row.run_id]] = kept[row.run_id]
        for key in keys.values():
            if key in _kept_runs:  # another render may have let it go meanwhile
                _kept_runs.move_to_end(key)
        while len(_kept_runs) > _RUNS_KEPT:
            _kept_runs.popitem(last=False)
    return [kept[row.run_id] for row in headers]


def usage_metrics(session: Session) -> list[str]:
    """Every metric with stored usage (for the allocation screen's metric picker)."""
    return list(session.execute(text(
        "SELECT DISTINCT metric FROM usage_records ORDER BY metric")).scalars())


def usage_weights(session: Session, metric: str, period_start: date,
                  period_end: date) -> dict[str, int]:
    """Each tenant's usage of `metric` in [period_start, period_end), in base units, by tenant id.

    The same sums `db.allocation_runs.allocate_by_usage` splits by, read without storing a
    run, so a screen can show the split before it is saved. Tenants without usage are absent.
    """
    rows = session.execute(text("""
        SELECT tenant_id, sum(quantity_base_units)::bigint FROM usage_records
        WHERE metric = :metric AND used_on >= :period_start AND used_on < :period_end
        GROUP BY tenant_id ORDER BY tenant_id
    """), {"metric": metric, "period_start": period_start, "period_end": period_end})
    return {tenant_id: used for tenant_id, used in rows}
