"""The invoices a change reaches, locked, checked and re-priced (SPEC 11).

Every change to what a bill is made of (a plan change, a discount) runs the
same three steps after locking the tenant: lock the tenant's invoices the
change may reach (`FOR UPDATE`, so a finalize in flight finishes first and is
seen), refuse if one of the periods it touches is closed
(`billing_core.subscriptions.check_periods_open`), and after the change is
stored re-price the touched drafts (`db.repricing.reprice_drafts`), all in the
caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission
from billing_core.periods import Period
from billing_core.states import InvoiceStatus
from billing_core.subscriptions import InvoicedPeriod, check_periods_open
from db.repricing import RepricedDraft, reprice_drafts

Touches = Callable[[InvoicedPeriod], bool]


def lock_invoiced_periods(session: Session, tenant_ids: Sequence[str],
                          ending_after: date | None) -> dict[str, list[InvoicedPeriod]]:
    """The tenants' invoices whose period ends after `ending_after` (None: all), row-locked
    in invoice-id order; the caller holds the tenants' locks already."""
    rows = session.execute(text("""
        SELECT tenant_id, period_label, period_start, period_end, status FROM invoices
        WHERE tenant_id = ANY(:tenant_ids)
          AND (CAST(:ending_after AS date) IS NULL OR period_end > :ending_after)
        ORDER BY tenant_id, invoice_id
        FOR UPDATE
    """), {"tenant_ids": list(tenant_ids), "ending_after": ending_after})
    found: dict[str, list[InvoicedPeriod]] = defaultdict(list)
    for tenant_id, *invoiced in rows:
        found[tenant_id].append(InvoicedPeriod(*invoiced))
    return found


def refuse_closed(tenant_id: str, field: str, invoiced: Iterable[InvoicedPeriod],
                  touches: Touches) -> list[InvoicedPeriod]:
    """The invoices `touches` reaches; PeriodClosed if one of their periods is closed."""
    touched = [period for period in invoiced if touches(period)]
    check_periods_open(tenant_id, field, touched)
    return touched


def reprice_touched(session: Session, touched: dict[str, list[InvoicedPeriod]], *,
                    actor: Actor, cause: str, allowed_by: Permission) -> list[RepricedDraft]:
    """Re-price the drafts among the touched invoices (tenant id -> invoices)."""
    return reprice_drafts(session, [
        (tenant_id, Period(invoiced.period_start, invoiced.period_end))
        for tenant_id, periods in touched.items() for invoiced in periods
        if invoiced.status == InvoiceStatus.DRAFT
    ], actor=actor, cause=cause, allowed_by=allowed_by)
