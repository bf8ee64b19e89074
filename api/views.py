"""Results of `db/` as JSON-ready dicts, in the shapes `api.schemas` documents.

Money is `{"amount": "1000.00", "currency": "USD"}`: the amount as a decimal
string at the currency's scale, exactly as stored, never a JSON number.
"""

from __future__ import annotations

from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import date, datetime
from typing import Any

from billing_core.errors import InvalidInput
from billing_core.money import Money
from db.change_preview import ChangePreview, PricedView
from db.credits import CreditOutcome
from db.invoicing import GeneratedInvoice
from db.reads.invoices import InvoiceCursor, InvoicePage, InvoiceSummary
from db.reads.tenants import TenantStory
from db.subscriptions import PlanChangeResult
from db.tenants import TenantRecord
from db.transitions import InvoiceState
from db.usage_events import UsageImportResult


def money(value: Money) -> dict[str, str]:
    return {"amount": str(value.amount), "currency": value.currency}


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def invoice_summary(invoice: InvoiceSummary) -> dict[str, Any]:
    return {
        "tenant": invoice.tenant_id, "invoice_id": invoice.invoice_id, "number": invoice.number,
        "period": invoice.period_label, "period_start": invoice.period_start.isoformat(),
        "period_end": invoice.period_end.isoformat(), "status": invoice.status,
        "subtotal": money(invoice.subtotal), "discount": money(invoice.discount),
        "credit": money(invoice.credit), "total": money(invoice.total),
        "created_at": _instant(invoice.created_at),
        "finalized_at": _instant(invoice.finalized_at), "paid_at": _instant(invoice.paid_at),
        "voided_at": _instant(invoice.voided_at), "priced_at": _instant(invoice.priced_at),
        "price_version": invoice.price_version,
    }


def invoice_page(page: InvoicePage) -> dict[str, Any]:
    return {"invoices": [invoice_summary(row) for row in page.rows],
            "next_cursor": None if page.next_cursor is None else encode_cursor(page.next_cursor)}


def generated(invoice: GeneratedInvoice, period_label: str) -> dict[str, Any]:
    return {"tenant": invoice.tenant_id, "period": period_label,
            "invoice_id": invoice.invoice_id, "created": invoice.created}


def invoice_state(state: InvoiceState) -> dict[str, Any]:
    return {"tenant": state.tenant_id, "invoice_id": state.invoice_id, "status": state.status,
            "number": state.number, "finalized_at": _instant(state.finalized_at)}


def credit(tenant_id: str, amount: Money, outcome: CreditOutcome) -> dict[str, Any]:
    return {"tenant": tenant_id, "credit_id": outcome.credit_id, "amount": money(amount),
            "invoice_id": outcome.invoice_id, "applied": money(outcome.applied),
            "to_balance": money(outcome.to_balance)}


def tenant(story: TenantStory) -> dict[str, Any]:
    summary = story.tenant
    return {
        "tenant": summary.tenant_id, "name": summary.name, "currency": summary.currency,
        "billing_anchor_day": summary.billing_anchor_day, "is_active": summary.is_active,
        "current_plan_id": summary.current_plan_id,
        "credit_balance": money(summary.credit_balance),
        "plan_history": [{"starts_on": segment.starts_on.isoformat(),
                          "plan_id": segment.plan_id, "plan_name": segment.plan_name,
                          "recurring_price": money(segment.recurring_price)}
                         for segment in story.plan_history],
        "invoices": [invoice_summary(invoice) for invoice in story.invoices],
    }


def new_tenant(record: TenantRecord) -> dict[str, Any]:
    return {"tenant_id": record.tenant_id, "name": record.name, "currency": record.currency,
            "billing_anchor_day": record.billing_anchor_day, "is_active": record.is_active}


def plan_change(tenant_id: str, starts_on: date, plan_id: str | None,
                result: PlanChangeResult) -> dict[str, Any]:
    return {"tenant": tenant_id, "starts_on": starts_on.isoformat(), "plan_id": plan_id,
            "repriced": [{"invoice_id": draft.invoice_id, "period": draft.period_label,
                          "total_before": money(draft.total_before),
                          "total_after": money(draft.total_after),
                          "price_version": draft.price_version} for draft in result.repriced]}


def plan_change_preview(preview: ChangePreview) -> dict[str, Any]:
    difference = preview.difference
    return {"tenant": preview.tenant_id, "period": preview.period.label,
            "before": _priced_view(preview.before), "after": _priced_view(preview.after),
            "difference": None if difference is None else money(difference)}


def _priced_view(view: PricedView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {"invoice_id": view.invoice_id, "status": view.status,
            "price_version": view.price_version, "total": money(view.total),
            "lines": [{"kind": str(line.kind), "description": line.description,
                       "amount": money(line.amount), "exact_amount": str(line.exact_amount),
                       "explanation": line.explanation} for line in view.lines]}


def usage_batch(result: UsageImportResult) -> dict[str, Any]:
    counts = result.counts
    return {"import_id": result.import_id,
            "counts": {"received": counts.received, "new": counts.new,
                       "duplicate": counts.duplicate, "conflict": counts.conflict,
                       "late": counts.late},
            "repriced_drafts": result.repriced_drafts,
            # The outcome as it is: a StrEnum is its text to JSON.
            "results": [{"position": line_no, "tenant_id": tenant_id, "event_id": event_id,
                         "outcome": outcome}
                        for line_no, tenant_id, event_id, outcome in result.results]}


def encode_cursor(cursor: InvoiceCursor) -> str:
    text = f"{cursor.period_start.isoformat()}|{cursor.invoice_id}|{cursor.tenant_id}"
    return urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> InvoiceCursor:
    """The cursor a previous page gave; anything else is InvalidInput on "cursor"."""
    try:
        raw = urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        start, invoice_id, tenant_id = raw.split("|", 2)
        return InvoiceCursor(date.fromisoformat(start), tenant_id, int(invoice_id))
    except ValueError:
        raise InvalidInput("cursor", "is not a cursor this API gave; pass next_cursor as it "
                                     "came") from None
