"""Cost allocation as the screen reads it: stored runs with their shares, and the usage a
new split by usage would divide (the metric picker and each tenant's weight)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

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


def allocation_runs(session: Session, limit: int = 50) -> list[AllocationRunView]:
    """The latest allocation runs, newest first, each with its shares."""
    run_ids = session.execute(text(
        "SELECT run_id FROM allocation_runs ORDER BY run_id DESC LIMIT :limit"),
        {"limit": limit}).scalars().all()
    return [allocation_run(session, run_id) for run_id in run_ids]


def allocation_run(session: Session, run_id: int) -> AllocationRunView:
    row = session.execute(text("SELECT * FROM allocation_runs WHERE run_id = :run_id"),
                          {"run_id": run_id}).first()
    if row is None:
        raise NotFound("allocation run", run_id)
    shares = tuple(
        AllocationShareView(r.tenant_id, r.weight, r.quota,
                            Money.from_minor_units(r.floor_minor, row.currency), r.extra_minor,
                            Money.from_minor_units(r.amount_minor, row.currency))
        for r in session.execute(text("""
            SELECT * FROM allocation_shares WHERE run_id = :run_id ORDER BY tenant_id
        """), {"run_id": run_id}))
    return AllocationRunView(row.run_id, row.label, row.method, row.metric, row.period_start,
                             row.period_end, Money.from_minor_units(row.total_minor, row.currency),
                             row.actor, row.created_at, shares)


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
