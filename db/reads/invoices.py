"""Invoices as the screens read them: the list (paged, filtered, counted) and one in detail.

The invoice list pages in SQL (keyset by default: pass the previous page's
`next_cursor`; `offset` for jumping) and counts in SQL; indexes
`ix_invoices_period_tenant` and `ix_invoices_status_period_tenant` keep both
fast at a million invoices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.errors import InvalidInput
from billing_core.money import Money
from billing_core.periods import calendar_month
from billing_core.states import to_status
from db.errors import NotFound
from db.reads.audit import AuditView, audit_log
from db.reads.credits import CreditNoteView, CreditView, credit_notes_of, credits_of


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
    priced_at: datetime | None = None
    """When the draft was last priced (SPEC 13)."""
    price_version: int = 1
    """The draft's version, which finalizing names (`finalize_invoice(reviewed_version=)`)."""

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
    currency: str = ""
    total_minor: int = 0


class InvoiceOrder(StrEnum):
    """How the invoice list is sorted, in the database, across every page."""

    NEWEST_PERIOD = "newest period first"
    TOTAL_HIGHEST = "total, highest first"
    TOTAL_LOWEST = "total, lowest first"


# Each order with the keyset condition that starts the page after the cursor's row. Totals sort
# within their currency (never across: $5 and EUR 5 are not comparable); "highest first" sorts
# on -total_minor ascending, so one row comparison walks it (and its index, migration 0014).
_ORDERS: dict[InvoiceOrder, tuple[str, str]] = {
    InvoiceOrder.NEWEST_PERIOD: (
        "i.period_start DESC, i.tenant_id, i.invoice_id",
        "(i.period_start < :after_period OR (i.period_start = :after_period"
        " AND (i.tenant_id, i.invoice_id) > (:after_tenant, :after_invoice)))"),
    InvoiceOrder.TOTAL_HIGHEST: (
        "i.currency, -i.total_minor, i.tenant_id, i.invoice_id",
        "(i.currency, -i.total_minor, i.tenant_id, i.invoice_id)"
        " > (:after_currency, -CAST(:after_total AS bigint), :after_tenant, :after_invoice)"),
    InvoiceOrder.TOTAL_LOWEST: (
        "i.currency, i.total_minor, i.tenant_id, i.invoice_id",
        "(i.currency, i.total_minor, i.tenant_id, i.invoice_id)"
        " > (:after_currency, CAST(:after_total AS bigint), :after_tenant, :after_invoice)"),
}


@dataclass(frozen=True, slots=True)
class InvoicePage:
    rows: tuple[InvoiceSummary, ...]
    total_count: int | None
    """Every invoice matching the filters; None when asked not to count (`count=False`)."""
    next_cursor: InvoiceCursor | None


@dataclass(frozen=True, slots=True)
class InvoiceCount:
    count: int
    exact: bool
    """False when `count` is the planner's estimate (a large result; see count_invoices)."""


@dataclass(frozen=True, slots=True)
class LineView:
    line_no: int
    kind: str
    description: str
    amount: Money
    exact_amount: Decimal
    explanation: str


@dataclass(frozen=True, slots=True)
class InvoiceDetail:
    invoice: InvoiceSummary
    lines: tuple[LineView, ...]
    credits: tuple[CreditView, ...]
    credit_notes: tuple[CreditNoteView, ...]
    creditable_left: Money
    """What credit notes may still credit: total minus earlier notes."""
    audit: tuple[AuditView, ...]


_INVOICE_COLUMNS = """
    i.tenant_id, t.name AS tenant_name, i.invoice_id, i.number, i.period_label, i.period_start,
    i.period_end, i.status, i.currency, i.subtotal_minor, i.discount_minor, i.credit_minor,
    i.total_minor, i.unused_discount_minor, i.created_at, i.finalized_at, i.paid_at, i.voided_at,
    i.priced_at, i.price_version
"""


def list_invoices(session: Session, *, tenant_id: str | None = None,
                  period_label: str | None = None, status: str | None = None,
                  after: InvoiceCursor | None = None, offset: int = 0,
                  limit: int = 50, count: bool = True,
                  order: InvoiceOrder = InvoiceOrder.NEWEST_PERIOD) -> InvoicePage:
    """A page of invoices in `order` (newest period first, then by tenant, unless told), the
    next page starting after the cursor `after`; filters are optional.

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
    order_by, after_condition = _ORDERS[InvoiceOrder(order)]
    if after is not None:
        conditions.append(after_condition)
        params.update(after_period=after.period_start, after_tenant=after.tenant_id,
                      after_invoice=after.invoice_id, after_currency=after.currency,
                      after_total=after.total_minor)
    rows = session.execute(text(f"""
        SELECT {_INVOICE_COLUMNS} FROM invoices i JOIN tenants t USING (tenant_id)
        WHERE {' AND '.join(conditions)}
        ORDER BY {order_by}
        LIMIT :limit OFFSET :offset
    """), {**params, "limit": limit + 1, "offset": offset}).all()
    summaries = tuple(_invoice_summary(row) for row in rows[:limit])
    cursor = None
    if len(rows) > limit:
        last = summaries[-1]
        cursor = InvoiceCursor(last.period_start, last.tenant_id, last.invoice_id,
                               last.total.currency, last.total.to_minor_units())
    return InvoicePage(summaries, total, cursor)


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


def tenant_invoices(session: Session, tenant_id: str) -> tuple[InvoiceSummary, ...]:
    """All of one tenant's invoices, newest period first (for the tenant's story)."""
    return tuple(_invoice_summary(r) for r in session.execute(text(f"""
        SELECT {_INVOICE_COLUMNS} FROM invoices i JOIN tenants t USING (tenant_id)
        WHERE i.tenant_id = :tenant_id ORDER BY i.period_start DESC, i.invoice_id DESC
    """), {"tenant_id": tenant_id}))


_INVOICE_WITH_LINES = f"""
    SELECT {_INVOICE_COLUMNS}, l.line_no, l.kind, l.description, l.amount_minor,
           l.exact_amount, l.explanation
    FROM invoices i JOIN tenants t USING (tenant_id)
    LEFT JOIN invoice_lines l ON l.tenant_id = i.tenant_id AND l.invoice_id = i.invoice_id
    WHERE i.tenant_id = %(tenant_id)s AND i.invoice_id = %(invoice_id)s
    ORDER BY l.line_no
"""


def invoice_with_lines(session: Session, tenant_id: str,
                       invoice_id: int) -> tuple[InvoiceSummary, tuple[LineView, ...]]:
    """The invoice and its lines, each with the sentence that explains it (`invoice_detail` adds
    credits, credit notes and the audit trail; the billing API reads the same as JSON built by
    PostgreSQL, `db.reads.invoice_document`).

    One statement, so the lines and the totals are read from one snapshot even outside a
    transaction."""
    rows = session.connection().exec_driver_sql(
        _INVOICE_WITH_LINES, {"tenant_id": tenant_id, "invoice_id": invoice_id}).all()
    return _invoice_and_lines(rows, tenant_id, invoice_id)


def _invoice_and_lines(rows: Sequence[Any], tenant_id: str,
                       invoice_id: int) -> tuple[InvoiceSummary, tuple[LineView, ...]]:
    if not rows:
        raise NotFound("invoice", f"{invoice_id} of tenant {tenant_id}")
    invoice = _invoice_summary(rows[0])
    currency = invoice.total.currency
    lines = tuple(
        LineView(r.line_no, r.kind, r.description, Money.from_minor_units(r.amount_minor, currency),
                 r.exact_amount, r.explanation)
        for r in rows if r.line_no is not None)
    return invoice, lines


def invoice_detail(session: Session, tenant_id: str, invoice_id: int) -> InvoiceDetail:
    """The invoice with its lines, the credits and credit notes on it, and its audit trail."""
    invoice, lines = invoice_with_lines(session, tenant_id, invoice_id)
    currency = invoice.total.currency
    credits = credits_of(session, tenant_id, invoice_id)
    notes = credit_notes_of(session, tenant_id, invoice_id)
    credited = sum((note.amount for note in notes), Money.zero(currency))
    audit = audit_log(session, tenant_id=tenant_id, entity="invoice", entity_id=str(invoice_id),
                      limit=1000)
    return InvoiceDetail(invoice, lines, credits, notes, invoice.total - credited, tuple(audit))


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
        row.created_at, row.finalized_at, row.paid_at, row.voided_at, row.priced_at,
        row.price_version)
