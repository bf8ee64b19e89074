"""The plan catalogue: every plan version, what it charges, and how many tenants it bills now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.money import Money


@dataclass(frozen=True, slots=True)
class PlanVersionView:
    plan_id: str
    name: str
    version: int
    first_plan_id: str
    price: Money
    usage_terms: str
    retired_at: datetime | None
    tenants_now: int
    """Tenants whose plan in force on the day read is this one."""


def plan_catalogue(session: Session, today: date) -> list[PlanVersionView]:
    """Every plan, grouped by its first version, versions in order.

    The plans in force are counted once, grouped, and joined: a count per plan row would
    sort every subscription once per plan (2 s at 25,000 tenants and 9 plans). Both keys
    descending, they are read backwards off the primary key, without a sort."""
    rows = session.execute(text("""
        WITH in_force AS (
            SELECT DISTINCT ON (tenant_id) tenant_id, plan_id FROM subscriptions
            WHERE starts_on <= :today ORDER BY tenant_id DESC, starts_on DESC
        ), counts AS (
            SELECT plan_id, count(*) AS tenants_now FROM in_force GROUP BY plan_id
        )
        SELECT p.plan_id, p.name, p.version, coalesce(p.first_plan_id, p.plan_id) AS first_id,
               p.currency, p.recurring_price_minor, p.usage_metric, p.usage_unit_name, p.retired_at,
               coalesce(c.tenants_now, 0) AS tenants_now
        FROM plans p LEFT JOIN counts c ON c.plan_id = p.plan_id
        ORDER BY first_id, p.version
    """), {"today": today})
    return [PlanVersionView(
        r.plan_id, r.name, r.version, r.first_id,
        Money.from_minor_units(r.recurring_price_minor, r.currency),
        f"{r.usage_metric} per {r.usage_unit_name}" if r.usage_metric else "",
        r.retired_at, r.tenants_now) for r in rows]
