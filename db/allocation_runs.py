"""Shared-cost allocation runs: split a total across tenants and keep the result (SPEC 7).

The split itself is `billing_core.allocation.split_by_weights` (largest
remainder, in minor units: the parts always add up to the total). This module
chooses the weights, either given by hand or the tenants' stored usage of
one metric in a period, and stores the run with one share per tenant: the
weight, the exact quota, its floor, the extra minor unit from the largest
remainders and the amount, so a manager can see why each tenant pays what it pays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.allocation import Allocation, split_by_weights
from billing_core.allocation_runs import AllocationMethod
from billing_core.errors import InvalidInput
from billing_core.money import Money
from billing_core.periods import Period
from db.audit import AuditRecord, record_audit
from db.errors import NotFound


@dataclass(frozen=True, slots=True)
class AllocationRunResult:
    run_id: int
    shares: dict[str, Money]


def allocate_by_weights(session: Session, label: str, total: Money,
                        weights: Mapping[str, int | Decimal | str], *,
                        actor: Actor) -> AllocationRunResult:
    """Split `total` across the tenants in `weights` in proportion to them; store the run.

    SPEC 7: $1000.00 by 33.33 / 33.33 / 33.34 -> $333.30 / $333.30 / $333.40.
    """
    require(actor, Permission.RUN_ALLOCATIONS)
    label = _require_label(label)
    _require_tenants(session, list(weights))
    allocation = split_by_weights(total, weights)
    return _store_run(session, label, AllocationMethod.WEIGHTS, None, None, allocation, actor)


def allocate_by_usage(session: Session, label: str, total: Money, metric: str, period: Period,
                      *, actor: Actor) -> AllocationRunResult:
    """Split `total` across the tenants that used `metric` in `period`, by their usage
    (integer base units); tenants without usage pay nothing. Stores the run."""
    require(actor, Permission.RUN_ALLOCATIONS)
    label = _require_label(label)
    if not isinstance(metric, str) or not metric.strip():
        raise InvalidInput("metric", "is empty")
    rows = session.execute(text("""
        SELECT tenant_id, sum(quantity_base_units)::bigint FROM usage_days
        WHERE metric = :metric AND used_on >= :period_start AND used_on < :period_end
        GROUP BY tenant_id ORDER BY tenant_id
    """), {"metric": metric, "period_start": period.start, "period_end": period.end}).all()
    allocation = split_by_weights(total, dict(rows))
    return _store_run(session, label, AllocationMethod.USAGE, metric, period, allocation, actor)


def _store_run(session: Session, label: str, method: AllocationMethod, metric: str | None,
               period: Period | None, allocation: Allocation, actor: Actor) -> AllocationRunResult:
    total = allocation.total
    run_id = session.execute(text("""
        INSERT INTO allocation_runs (label, method, metric, period_start, period_end,
                                     total_minor, currency, actor)
        VALUES (:label, :method, :metric, :period_start, :period_end, :total_minor, :currency,
                :actor)
        RETURNING run_id
    """), {"label": label, "method": method, "metric": metric,
           "period_start": period.start if period else None,
           "period_end": period.end if period else None,
           "total_minor": total.to_minor_units(), "currency": total.currency,
           "actor": actor.user_id}).scalar_one()
    session.execute(text("""
        INSERT INTO allocation_shares (tenant_id, run_id, weight, quota, floor_minor,
                                       extra_minor, amount_minor)
        VALUES (:tenant_id, :run_id, :weight, :quota, :floor_minor, :extra_minor, :amount_minor)
    """), [{"tenant_id": row.tenant_id, "run_id": run_id, "weight": row.weight,
            "quota": row.quota, "floor_minor": row.floor.to_minor_units(),
            "extra_minor": row.extra_minor, "amount_minor": row.amount.to_minor_units()}
           for row in allocation.rows()])
    shares = allocation.amounts()
    record_audit(session, AuditRecord(
        actor, "allocation.run", "allocation_run", str(run_id), None, before=None,
        after={"label": label, "method": method, "metric": metric,
               "period": period.label if period else None,
               "total_minor": total.to_minor_units(), "currency": total.currency,
               "shares_minor": dict(allocation.shares_minor)}))
    return AllocationRunResult(run_id, shares)


def _require_tenants(session: Session, tenant_ids: list[str]) -> None:
    found = set(session.execute(text(
        "SELECT tenant_id FROM tenants WHERE tenant_id = ANY(:tenant_ids)"
    ), {"tenant_ids": tenant_ids}).scalars())
    missing = sorted(set(tenant_ids) - found)
    if missing:
        raise NotFound("tenant", missing[0])


def _require_label(label: str) -> str:
    if not isinstance(label, str) or not label.strip():
        raise InvalidInput("label", "is empty; name the shared cost")
    return label.strip()
