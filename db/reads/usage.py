"""Reads for the Usage screen: imports, the late-usage list, and a tenant's usage day by day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.money import Money
from billing_core.periods import Period
from billing_core.usage_events import LateUsageStatus


@dataclass(frozen=True, slots=True)
class UsageImportRow:
    import_id: int
    imported_at: datetime
    source: str
    file_name: str | None
    actor: str
    received: int
    new: int
    duplicate: int
    conflict: int
    late: int
    repriced: int
    repeats_import_id: int | None
    """The earlier import of the very same bytes, when this one is that file sent again."""


@dataclass(frozen=True, slots=True)
class BilledInvoice:
    """The invoice a late-usage group was billed on, with what a screen names it by (its
    number, or its month while a draft: `ledgerline_ui.invoices.invoice_names`)."""

    invoice_id: int
    number: str | None
    period_label: str
    status: str


@dataclass(frozen=True, slots=True)
class LateUsageRow:
    tenant_id: str
    late_usage_id: int
    period_label: str
    metric: str
    events: int
    quantity_base_units: int
    reason: str
    status: LateUsageStatus
    billed_invoice: BilledInvoice | None
    billed: Money | None
    waive_reason: str | None
    settled_by: str | None
    settled_at: datetime | None


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """One tenant's usage of one metric in one period, day by day, and its plan's terms."""

    metric: str
    days: tuple[tuple[date, int], ...]
    included_base_units: int | None
    base_units_per_unit: int | None
    unit_name: str | None


def usage_imports(session: Session, limit: int = 50) -> list[UsageImportRow]:
    """The latest imports first."""
    rows = session.execute(text("""
        SELECT import_id, imported_at, source, file_name, actor, received_count, new_count,
               duplicate_count, conflict_count, late_count, repriced_count, repeats_import_id
        FROM usage_imports ORDER BY import_id DESC LIMIT :limit
    """), {"limit": limit})
    return [UsageImportRow(*row) for row in rows]


def late_usage(session: Session, *, open_only: bool = False,
               limit: int = 500) -> list[LateUsageRow]:
    """Late-usage groups, open ones first, then by tenant and period."""
    rows = session.execute(text("""
        SELECT g.tenant_id, g.late_usage_id, g.period_label, g.metric, g.event_count,
               g.quantity_base_units, g.reason, g.status, g.billed_invoice_id, i.number,
               i.period_label, i.status, g.billed_minor, g.currency, g.waive_reason,
               g.settled_by, g.settled_at
        FROM late_usage g
        LEFT JOIN invoices i ON i.tenant_id = g.tenant_id AND i.invoice_id = g.billed_invoice_id
        WHERE NOT :open_only OR g.status = 'open'
        ORDER BY g.status <> 'open', g.tenant_id, g.period_start, g.metric, g.late_usage_id
        LIMIT :limit
    """), {"open_only": open_only, "limit": limit})
    return [LateUsageRow(tenant_id, group_id, label, metric, events, quantity, reason,
                         LateUsageStatus(status),
                         None if invoice_id is None else BilledInvoice(
                             invoice_id, number, invoice_period, invoice_status),
                         None if billed is None else Money.from_minor_units(billed, currency),
                         waive_reason, settled_by, settled_at)
            for (tenant_id, group_id, label, metric, events, quantity, reason, status,
                 invoice_id, number, invoice_period, invoice_status, billed, currency,
                 waive_reason, settled_by, settled_at) in rows]


def daily_usage(session: Session, tenant_id: str, period: Period) -> list[DailyUsage]:
    """Each metric's usage per day of `period` (what pricing counts: late usage is not in it),
    with the included quantity of the plan in force on the period's last day."""
    terms = session.execute(text("""
        SELECT p.usage_metric, p.usage_included_base_units, p.usage_base_units_per_unit,
               p.usage_unit_name
        FROM subscriptions s JOIN plans p ON p.plan_id = s.plan_id
        WHERE s.tenant_id = :tenant_id AND s.starts_on <= :last_day
        ORDER BY s.starts_on DESC LIMIT 1
    """), {"tenant_id": tenant_id, "last_day": period.last_day}).first()
    rows = session.execute(text("""
        SELECT metric, used_on, sum(quantity_base_units)::bigint FROM usage_days
        WHERE tenant_id = :tenant_id AND used_on >= :start AND used_on < :end
        GROUP BY metric, used_on ORDER BY metric, used_on
    """), {"tenant_id": tenant_id, "start": period.start, "end": period.end}).all()
    planned: dict[str, tuple[int | None, int | None, str | None]] = {}
    if terms is not None and terms[0] is not None:
        planned[terms[0]] = (terms[1], terms[2], terms[3])
    metrics = sorted({metric for metric, _, _ in rows} | set(planned))
    return [DailyUsage(metric, tuple((day, used) for m, day, used in rows if m == metric),
                       *planned.get(metric, (None, None, None)))
            for metric in metrics]
