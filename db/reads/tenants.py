"""Tenants as the screens read them: the list with balances, names by id, and one tenant's
whole story (plans, discounts, usage, invoices, credits, balance, audit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.money import Money
from billing_core.periods import calendar_month
from db.credit_ledger import balance_minor_sql
from db.errors import NotFound
from db.reads.audit import AuditView, audit_log
from db.reads.credits import CreditNoteView, CreditView, credit_notes_of, credits_of
from db.reads.invoices import InvoiceSummary, tenant_invoices


@dataclass(frozen=True, slots=True)
class TenantSummary:
    tenant_id: str
    name: str
    currency: str
    billing_anchor_day: int
    is_active: bool
    current_plan_id: str | None
    credit_balance: Money


@dataclass(frozen=True, slots=True)
class PlanSegmentView:
    starts_on: date
    plan_id: str
    plan_name: str
    recurring_price: Money
    usage_metric: str | None
    usage_unit_name: str | None
    usage_base_units_per_unit: int | None
    usage_included_base_units: int | None
    usage_price_per_unit: Money | None


@dataclass(frozen=True, slots=True)
class UsageMonth:
    """A month of one metric: used vs included (base units), with the plan's unit."""

    month_label: str
    metric: str
    used_base_units: int
    included_base_units: int | None
    unit_name: str | None
    base_units_per_unit: int | None


@dataclass(frozen=True, slots=True)
class DiscountView:
    position: int
    label: str
    percent: Decimal | None
    amount: Money | None
    valid_from: date | None
    valid_until: date | None


@dataclass(frozen=True, slots=True)
class LedgerEntryView:
    entry_id: int
    entry_kind: str
    amount: Money
    balance_after: Money
    credit_id: int | None
    invoice_id: int | None
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TenantStory:
    tenant: TenantSummary
    plan_history: tuple[PlanSegmentView, ...]
    discounts: tuple[DiscountView, ...]
    usage: tuple[UsageMonth, ...]
    invoices: tuple[InvoiceSummary, ...]
    credits: tuple[CreditView, ...]
    credit_notes: tuple[CreditNoteView, ...]
    balance_history: tuple[LedgerEntryView, ...]
    audit: tuple[AuditView, ...]


_TENANT_SQL = f"""
    SELECT t.tenant_id, t.name, t.currency, t.billing_anchor_day, t.is_active,
           (SELECT s.plan_id FROM subscriptions s WHERE s.tenant_id = t.tenant_id
            ORDER BY s.starts_on DESC LIMIT 1) AS current_plan_id,
           {balance_minor_sql("t.tenant_id")} AS balance_minor
    FROM tenants t
"""


def list_tenants(session: Session, *, search: str | None = None,
                 active_only: bool = False, limit: int = 1000) -> list[TenantSummary]:
    """Tenants by id; `search` matches id or name (case-insensitive substring)."""
    conditions: list[str] = ["true"]
    params: dict[str, object] = {"limit": limit}
    if search:
        conditions.append("(t.tenant_id ILIKE :pattern OR t.name ILIKE :pattern)")
        params["pattern"] = f"%{_escape_like(search.strip())}%"
    if active_only:
        conditions.append("t.is_active")
    rows = session.execute(text(f"""
        {_TENANT_SQL} WHERE {' AND '.join(conditions)} ORDER BY t.tenant_id LIMIT :limit
    """), params)
    return [_tenant_summary(row) for row in rows]


def tenant_names(session: Session, tenant_ids: list[str]) -> dict[str, str]:
    """Names of the given tenants by id (unknown ids are absent)."""
    rows = session.execute(text(
        "SELECT tenant_id, name FROM tenants WHERE tenant_id = ANY(:tenant_ids)"),
        {"tenant_ids": list(tenant_ids)})
    return dict(rows.all())


def tenant_story(session: Session, tenant_id: str) -> TenantStory:
    """Everything customer success needs to explain a bill: plans, usage, invoices, credits."""
    row = session.execute(text(f"{_TENANT_SQL} WHERE t.tenant_id = :tenant_id"),
                          {"tenant_id": tenant_id}).first()
    if row is None:
        raise NotFound("tenant", tenant_id)
    tenant = _tenant_summary(row)
    currency = tenant.currency
    params = {"tenant_id": tenant_id}
    plan_history = tuple(
        PlanSegmentView(r.starts_on, r.plan_id, r.name,
                        Money.from_minor_units(r.recurring_price_minor, r.currency),
                        r.usage_metric, r.usage_unit_name, r.usage_base_units_per_unit,
                        r.usage_included_base_units,
                        Money(r.usage_price_per_unit, r.currency)
                        if r.usage_price_per_unit is not None else None)
        for r in session.execute(text("""
            SELECT s.starts_on, p.* FROM subscriptions s JOIN plans p USING (plan_id)
            WHERE s.tenant_id = :tenant_id ORDER BY s.starts_on
        """), params))
    discounts = tuple(
        DiscountView(r.position, r.label, r.percent,
                     Money.from_minor_units(r.amount_minor, r.currency)
                     if r.amount_minor is not None else None, r.valid_from, r.valid_until)
        for r in session.execute(text("""
            SELECT position, label, percent, amount_minor, currency, valid_from, valid_until
            FROM tenant_discounts WHERE tenant_id = :tenant_id ORDER BY position
        """), params))
    usage = _usage_by_month(session, tenant_id, plan_history)
    balance_history = tuple(
        LedgerEntryView(r.entry_id, r.entry_kind, Money.from_minor_units(r.amount_minor, currency),
                        Money.from_minor_units(r.balance_after_minor, currency), r.credit_id,
                        r.invoice_id, r.actor, r.created_at)
        for r in session.execute(text("""
            SELECT * FROM credit_ledger WHERE tenant_id = :tenant_id ORDER BY entry_id
        """), params))
    return TenantStory(
        tenant, plan_history, discounts, usage, tenant_invoices(session, tenant_id),
        credits_of(session, tenant_id), credit_notes_of(session, tenant_id), balance_history,
        tuple(audit_log(session, tenant_id=tenant_id, limit=500)))


def _usage_by_month(session: Session, tenant_id: str,
                    plan_history: tuple[PlanSegmentView, ...]) -> tuple[UsageMonth, ...]:
    # Usage sums are counts of base units, not money.
    rows = session.execute(text("""
        SELECT date_trunc('month', used_on)::date AS month, metric,
               sum(quantity_base_units)::bigint AS used
        FROM usage_days WHERE tenant_id = :tenant_id
        GROUP BY 1, 2 ORDER BY 1 DESC, 2
    """), {"tenant_id": tenant_id})
    months = []
    for month, metric, used in rows:
        month_end = calendar_month(f"{month:%Y-%m}").last_day
        in_force = [segment for segment in plan_history if segment.starts_on <= month_end]
        plan = in_force[-1] if in_force and in_force[-1].usage_metric == metric else None
        months.append(UsageMonth(
            f"{month:%Y-%m}", metric, used,
            plan.usage_included_base_units if plan else None,
            plan.usage_unit_name if plan else None,
            plan.usage_base_units_per_unit if plan else None))
    return tuple(months)


def _tenant_summary(row: Any) -> TenantSummary:
    return TenantSummary(row.tenant_id, row.name, row.currency, row.billing_anchor_day,
                         row.is_active, row.current_plan_id,
                         Money.from_minor_units(row.balance_minor, row.currency))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
