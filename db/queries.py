"""Read side for the screens: every query a page needs, as plain frozen values.

Pages contain no SQL; they call these functions with a Session and render the
result. Values are plain Python (str, int, date, datetime) and money is
`billing_core.money.Money`, made from the stored minor units; totals across
rows are added with Money in Python, never in SQL (one place does money math).

The invoice list pages in SQL (keyset by default: pass the previous page's
`next_cursor`; `offset` for jumping) and counts in SQL; indexes
`ix_invoices_period_tenant` and `ix_invoices_status_period_tenant` keep both
fast at a million invoices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.errors import InvalidInput
from billing_core.money import Money
from billing_core.periods import calendar_month, month_label
from billing_core.states import InvoiceStatus, to_status
from db.credit_ledger import balance_minor_sql, outstanding_balances
from db.errors import NotFound

# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    tenant_id: str
    tenant_name: str
    invoice_id: int
    number: str | None
    period_label: str
    period_start: date
    period_end: date
    status: str
    subtotal: Money
    discount: Money
    credit: Money
    total: Money
    unused_discount: Money
    created_at: datetime
    finalized_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None

    @property
    def label(self) -> str:
        """How screens name the invoice: its number, or "#<id>" while a draft."""
        return self.number or f"#{self.invoice_id}"


@dataclass(frozen=True, slots=True)
class InvoiceCursor:
    """Where the next keyset page starts (the last row of the previous page)."""

    period_start: date
    tenant_id: str
    invoice_id: int


@dataclass(frozen=True, slots=True)
class InvoicePage:
    rows: tuple[InvoiceSummary, ...]
    total_count: int | None
    """Every invoice matching the filters; None when asked not to count (`count=False`)."""
    next_cursor: InvoiceCursor | None


@dataclass(frozen=True, slots=True)
class LineView:
    line_no: int
    kind: str
    description: str
    amount: Money
    exact_amount: Decimal
    explanation: str


@dataclass(frozen=True, slots=True)
class CreditView:
    credit_id: int
    amount: Money
    reason: str
    actor: str
    idempotency_key: str
    invoice_id: int | None
    applied: Money
    to_balance: Money
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CreditNoteView:
    credit_note_id: int
    number: str
    invoice_id: int
    amount: Money
    reason: str
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditView:
    audit_id: int
    occurred_at: datetime
    actor: str
    action: str
    tenant_id: str | None
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class InvoiceDetail:
    invoice: InvoiceSummary
    lines: tuple[LineView, ...]
    credits: tuple[CreditView, ...]
    credit_notes: tuple[CreditNoteView, ...]
    creditable_left: Money
    """What credit notes may still credit: total minus earlier notes."""
    audit: tuple[AuditView, ...]


@dataclass(frozen=True, slots=True)
class StatusTotals:
    status: str
    count: int
    totals: tuple[Money, ...]
    """One total per currency, in currency order."""


@dataclass(frozen=True, slots=True)
class PeriodSummary:
    period_label: str
    by_status: tuple[StatusTotals, ...]
    credits_outstanding: tuple[Money, ...]
    """Credit balances waiting for the next invoice, all tenants, one per currency."""


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


@dataclass(frozen=True, slots=True)
class MonthEndRunView:
    run_id: int
    period_label: str
    status: str
    actor: str
    tenants_in_scope: int
    tenants_done: int
    invoices_created: int
    already_present: int
    skipped: dict[str, str]
    error: str | None
    started_at: datetime
    finished_at: datetime | None


# --- invoices -------------------------------------------------------------------------------

_INVOICE_COLUMNS = """
    i.tenant_id, t.name AS tenant_name, i.invoice_id, i.number, i.period_label, i.period_start,
    i.period_end, i.status, i.currency, i.subtotal_minor, i.discount_minor, i.credit_minor,
    i.total_minor, i.unused_discount_minor, i.created_at, i.finalized_at, i.paid_at, i.voided_at
"""


def list_invoices(session: Session, *, tenant_id: str | None = None,
                  period_label: str | None = None, status: str | None = None,
                  after: InvoiceCursor | None = None, offset: int = 0,
                  limit: int = 50, count: bool = True) -> InvoicePage:
    """A page of invoices, newest period first, then by tenant; filters are optional.

    `total_count` counts every invoice matching the filters (not just this page);
    with `count=False` it is None and no count runs (a pager walking a million rows
    uses `count_invoices` once instead).
    """
    if type(limit) is not int or not 1 <= limit <= 1000:
        raise InvalidInput("limit", "must be a whole number from 1 to 1000")
    if type(offset) is not int or offset < 0:
        raise InvalidInput("offset", "must be a whole number, zero or more")
    conditions, params = _invoice_filters(tenant_id, period_label, status)
    total = session.execute(text(
        f"SELECT count(*) FROM invoices i WHERE {' AND '.join(conditions)}"),
        params).scalar_one() if count else None
    if after is not None:
        conditions.append("(i.period_start < :after_period OR (i.period_start = :after_period"
                          " AND (i.tenant_id, i.invoice_id) > (:after_tenant, :after_invoice)))")
        params.update(after_period=after.period_start, after_tenant=after.tenant_id,
                      after_invoice=after.invoice_id)
    rows = session.execute(text(f"""
        SELECT {_INVOICE_COLUMNS} FROM invoices i JOIN tenants t USING (tenant_id)
        WHERE {' AND '.join(conditions)}
        ORDER BY i.period_start DESC, i.tenant_id, i.invoice_id
        LIMIT :limit OFFSET :offset
    """), {**params, "limit": limit + 1, "offset": offset}).all()
    summaries = tuple(_invoice_summary(row) for row in rows[:limit])
    cursor = None
    if len(rows) > limit:
        last = summaries[-1]
        cursor = InvoiceCursor(last.period_start, last.tenant_id, last.invoice_id)
    return InvoicePage(summaries, total, cursor)


def invoice_detail(session: Session, tenant_id: str, invoice_id: int) -> InvoiceDetail:
    """The invoice with its lines, the credits and credit notes on it, and its audit trail."""
    row = session.execute(text(f"""
        SELECT {_INVOICE_COLUMNS} FROM invoices i JOIN tenants t USING (tenant_id)
        WHERE i.tenant_id = :tenant_id AND i.invoice_id = :invoice_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id}).first()
    if row is None:
        raise NotFound("invoice", f"{invoice_id} of tenant {tenant_id}")
    invoice = _invoice_summary(row)
    currency = invoice.total.currency
    lines = tuple(
        LineView(r.line_no, r.kind, r.description, Money.from_minor_units(r.amount_minor, currency),
                 r.exact_amount, r.explanation)
        for r in session.execute(text("""
            SELECT line_no, kind, description, amount_minor, exact_amount, explanation
            FROM invoice_lines WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
            ORDER BY line_no
        """), {"tenant_id": tenant_id, "invoice_id": invoice_id}))
    credits = _credits(session, tenant_id, "AND invoice_id = :invoice_id", invoice_id)
    notes = _credit_notes(session, tenant_id, "AND invoice_id = :invoice_id", invoice_id)
    credited = sum((note.amount for note in notes), Money.zero(currency))
    audit = audit_log(session, tenant_id=tenant_id, entity="invoice", entity_id=str(invoice_id),
                      limit=1000)
    return InvoiceDetail(invoice, lines, credits, notes, invoice.total - credited, tuple(audit))


def status_summary(session: Session, period_label: str) -> PeriodSummary:
    """Counts and totals by status for a month's invoices, and credit balances outstanding.

    The sums run in PostgreSQL over integer minor units (exact: `sum(bigint)` is
    `numeric`), so a month of a million invoices costs one aggregate, not a million rows.
    """
    period = calendar_month(period_label)
    counts: dict[str, int] = {}
    totals: dict[str, list[Money]] = {}
    rows = session.execute(text("""
        SELECT status, currency, count(*), sum(total_minor) FROM invoices
        WHERE period_start >= :start AND period_start < :end
        GROUP BY status, currency ORDER BY status, currency
    """), {"start": period.start, "end": period.end})
    for status, currency, count, total_minor in rows:
        counts[status] = counts.get(status, 0) + count
        totals.setdefault(status, []).append(Money.from_minor_units(int(total_minor), currency))
    by_status = tuple(StatusTotals(status.value, counts[status], tuple(totals[status]))
                      for status in InvoiceStatus if status in counts)
    return PeriodSummary(period.label, by_status, outstanding_balances(session))


# --- tenants --------------------------------------------------------------------------------

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
    conditions, params = ["true"], {"limit": limit}
    if search:
        conditions.append("(t.tenant_id ILIKE :pattern OR t.name ILIKE :pattern)")
        params["pattern"] = f"%{_escape_like(search.strip())}%"
    if active_only:
        conditions.append("t.is_active")
    rows = session.execute(text(f"""
        {_TENANT_SQL} WHERE {' AND '.join(conditions)} ORDER BY t.tenant_id LIMIT :limit
    """), params)
    return [_tenant_summary(row) for row in rows]


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
    invoices = tuple(_invoice_summary(r) for r in session.execute(text(f"""
        SELECT {_INVOICE_COLUMNS} FROM invoices i JOIN tenants t USING (tenant_id)
        WHERE i.tenant_id = :tenant_id ORDER BY i.period_start DESC, i.invoice_id DESC
    """), params))
    balance_history = tuple(
        LedgerEntryView(r.entry_id, r.entry_kind, Money.from_minor_units(r.amount_minor, currency),
                        Money.from_minor_units(r.balance_after_minor, currency), r.credit_id,
                        r.invoice_id, r.actor, r.created_at)
        for r in session.execute(text("""
            SELECT * FROM credit_ledger WHERE tenant_id = :tenant_id ORDER BY entry_id
        """), params))
    return TenantStory(
        tenant, plan_history, discounts, usage, invoices, _credits(session, tenant_id),
        _credit_notes(session, tenant_id), balance_history,
        tuple(audit_log(session, tenant_id=tenant_id, limit=500)))


def _usage_by_month(session: Session, tenant_id: str,
                    plan_history: tuple[PlanSegmentView, ...]) -> tuple[UsageMonth, ...]:
    # Usage sums are counts of base units, not money.
    rows = session.execute(text("""
        SELECT date_trunc('month', used_on)::date AS month, metric,
               sum(quantity_base_units)::bigint AS used
        FROM usage_records WHERE tenant_id = :tenant_id
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


# --- audit ----------------------------------------------------------------------------------


def audit_log(session: Session, *, tenant_id: str | None = None, actor: str | None = None,
              action: str | None = None, entity: str | None = None,
              entity_id: str | None = None, since: datetime | None = None,
              until: datetime | None = None, before_audit_id: int | None = None,
              limit: int = 200) -> list[AuditView]:
    """Audit entries, newest first, filtered by any of tenant, actor, action, entity and the
    time range [since, until); page with `before_audit_id` (the last id of the previous page)."""
    conditions, params = ["true"], {"limit": limit}
    for column, value in (("tenant_id", tenant_id), ("actor", actor), ("action", action),
                          ("entity", entity), ("entity_id", entity_id)):
        if value is not None:
            conditions.append(f"{column} = :{column}")
            params[column] = value
    if since is not None:
        conditions.append("occurred_at >= :since")
        params["since"] = since
    if until is not None:
        conditions.append("occurred_at < :until")
        params["until"] = until
    if before_audit_id is not None:
        conditions.append("audit_id < :before_audit_id")
        params["before_audit_id"] = before_audit_id
    rows = session.execute(text(f"""
        SELECT audit_id, occurred_at, actor, action, tenant_id, entity, entity_id, before, after
        FROM audit_log WHERE {' AND '.join(conditions)}
        ORDER BY audit_id DESC LIMIT :limit
    """), params)
    return [AuditView(*row) for row in rows]


def audit_actions(session: Session) -> list[str]:
    """The distinct actions in the log (for a filter picker)."""
    return list(session.execute(text(
        "SELECT DISTINCT action FROM audit_log ORDER BY action")).scalars())


# --- allocation and month-end ---------------------------------------------------------------


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


def last_month_end_run(session: Session) -> MonthEndRunView | None:
    """The most recent month-end run (dry runs are not stored), or None."""
    runs = month_end_runs(session, limit=1)
    return runs[0] if runs else None


def month_end_runs(session: Session, limit: int = 20) -> list[MonthEndRunView]:
    rows = session.execute(text("""
        SELECT run_id, period_label, status, actor, tenants_in_scope, tenants_done,
               invoices_created, already_present, skipped, error, started_at, finished_at
        FROM month_end_runs ORDER BY run_id DESC LIMIT :limit
    """), {"limit": limit})
    return [MonthEndRunView(*row) for row in rows]


# --- helpers --------------------------------------------------------------------------------


def _invoice_filters(tenant_id: str | None, period_label: str | None,
                     status: str | None) -> tuple[list[str], dict[str, Any]]:
    conditions: list[str] = ["true"]
    params: dict[str, Any] = {}
    if tenant_id:
        conditions.append("i.tenant_id = :tenant_id")
        params["tenant_id"] = tenant_id
    if period_label:
        period = calendar_month(period_label)
        conditions.append("i.period_start >= :period_start AND i.period_start < :period_end")
        params.update(period_start=period.start, period_end=period.end)
    if status:
        conditions.append("i.status = :status")
        params["status"] = to_status(status).value
    return conditions, params


def _invoice_summary(row: Any) -> InvoiceSummary:
    currency = row.currency
    return InvoiceSummary(
        row.tenant_id, row.tenant_name, row.invoice_id, row.number, row.period_label,
        row.period_start, row.period_end, row.status,
        Money.from_minor_units(row.subtotal_minor, currency),
        Money.from_minor_units(row.discount_minor, currency),
        Money.from_minor_units(row.credit_minor, currency),
        Money.from_minor_units(row.total_minor, currency),
        Money.from_minor_units(row.unused_discount_minor, currency),
        row.created_at, row.finalized_at, row.paid_at, row.voided_at)


def _tenant_summary(row: Any) -> TenantSummary:
    return TenantSummary(row.tenant_id, row.name, row.currency, row.billing_anchor_day,
                         row.is_active, row.current_plan_id,
                         Money.from_minor_units(row.balance_minor, row.currency))


def _credits(session: Session, tenant_id: str, extra: str = "",
             invoice_id: int | None = None) -> tuple[CreditView, ...]:
    rows = session.execute(text(f"""
        SELECT * FROM credits WHERE tenant_id = :tenant_id {extra} ORDER BY credit_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id})
    return tuple(
        CreditView(r.credit_id, Money.from_minor_units(r.amount_minor, r.currency), r.reason,
                   r.actor, r.idempotency_key, r.invoice_id,
                   Money.from_minor_units(r.applied_minor, r.currency),
                   Money.from_minor_units(r.to_balance_minor, r.currency), r.created_at)
        for r in rows)


def _credit_notes(session: Session, tenant_id: str, extra: str = "",
                  invoice_id: int | None = None) -> tuple[CreditNoteView, ...]:
    rows = session.execute(text(f"""
        SELECT * FROM credit_notes WHERE tenant_id = :tenant_id {extra} ORDER BY credit_note_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id})
    return tuple(
        CreditNoteView(r.credit_note_id, r.number, r.invoice_id,
                       Money.from_minor_units(r.amount_minor, r.currency), r.reason, r.actor,
                       r.created_at)
        for r in rows)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- cost allocation inputs, tenant names, audit actors (screens: Cost allocation, Audit log) --


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


def tenant_names(session: Session, tenant_ids: list[str]) -> dict[str, str]:
    """Names of the given tenants by id (unknown ids are absent)."""
    rows = session.execute(text(
        "SELECT tenant_id, name FROM tenants WHERE tenant_id = ANY(:tenant_ids)"),
        {"tenant_ids": list(tenant_ids)})
    return dict(rows.all())


def audit_actors(session: Session) -> list[str]:
    """The distinct actors in the audit log (for a filter picker)."""
    return list(session.execute(text(
        "SELECT DISTINCT actor FROM audit_log ORDER BY actor")).scalars())


# --- the invoice list at scale (screens: Invoices, Home) ------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceCount:
    count: int
    exact: bool
    """False when `count` is the planner's estimate (a large result; see count_invoices)."""


def count_invoices(session: Session, *, tenant_id: str | None = None,
                   period_label: str | None = None, status: str | None = None,
                   exact_below: int = 200_000) -> InvoiceCount:
    """How many invoices match the filters of `list_invoices`.

    Exact when PostgreSQL's planner expects fewer than `exact_below` rows; above
    that, the planner's estimate (from the table statistics, no scan), marked
    inexact. Counting a million invoices exactly takes a quarter of a second on
    every page view; the estimate takes a millisecond and is all a pager needs.
    """
    conditions, params = _invoice_filters(tenant_id, period_label, status)
    where = " AND ".join(conditions)
    plan = session.execute(text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM invoices i WHERE {where}"),
                           params).scalar_one()
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    if estimate < exact_below:
        count = session.execute(text(f"SELECT count(*) FROM invoices i WHERE {where}"),
                                params).scalar_one()
        return InvoiceCount(count, True)
    return InvoiceCount(estimate, False)


def invoice_months(session: Session) -> list[str]:
    """Every calendar month in which an invoice's period starts ("2024-11"), newest first.

    The months `list_invoices(period_label=...)` filters by. Read with a loose index
    scan (one index probe per distinct period start, not one row per invoice), so
    it costs the same at a million invoices as at a hundred.
    """
    starts = session.execute(text("""
        WITH RECURSIVE starts AS (
            (SELECT period_start FROM invoices ORDER BY period_start DESC LIMIT 1)
            UNION ALL
            SELECT (SELECT i.period_start FROM invoices i WHERE i.period_start < s.period_start
                    ORDER BY i.period_start DESC LIMIT 1)
            FROM starts s WHERE s.period_start IS NOT NULL
        )
        SELECT period_start FROM starts WHERE period_start IS NOT NULL
    """)).scalars()
    months: list[str] = []
    for start in starts:
        label = month_label(start)
        if not months or months[-1] != label:
            months.append(label)
    return months
