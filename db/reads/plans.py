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
    """Every plan, grouped by its first version, versions in order."""
    rows = session.execute(text("""
        WITH in_force AS (
            SELECT DISTINCT ON (tenant_id) tenant_id, plan_id FROM subscriptions
            WHERE starts_on <= :today ORDER BY tenant_id, starts_on DESC
        )
        SELECT p.plan_id, p.name, p.version, coalesce(p.first_plan_id, p.plan_id) AS first_id,
               p.currency, p.recurring_price_minor, p.usage_metric, p.usage_unit_name, p.retired_at,
               (SELECT count(*) FROM in_force f WHERE f.plan_id = p.plan_id) AS tenants_now
        FROM plans p
        ORDER BY first_id, p.version
    """), {"today": today})
    return [PlanVersionView(
        r.plan_id, r.name, r.version, r.first_id,
        Money.from_minor_units(r.recurring_price_minor, r.currency),
        f"{r.usage_metric} per {r.usage_unit_name}" if r.usage_metric else "",
        r.retired_at, r.tenants_now) for r in rows]
