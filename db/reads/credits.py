"""Credits and credit notes as the screens show them: on one invoice, or all of a tenant's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.money import Money


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


def credits_of(session: Session, tenant_id: str,
               invoice_id: int | None = None) -> tuple[CreditView, ...]:
    """The tenant's credits in the order granted; only those on `invoice_id` when given."""
    on_invoice = "AND invoice_id = :invoice_id" if invoice_id is not None else ""
    rows = session.execute(text(f"""
        SELECT * FROM credits WHERE tenant_id = :tenant_id {on_invoice} ORDER BY credit_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id})
    return tuple(
        CreditView(r.credit_id, Money.from_minor_units(r.amount_minor, r.currency), r.reason,
                   r.actor, r.idempotency_key, r.invoice_id,
                   Money.from_minor_units(r.applied_minor, r.currency),
                   Money.from_minor_units(r.to_balance_minor, r.currency), r.created_at)
        for r in rows)


def credit_notes_of(session: Session, tenant_id: str,
                    invoice_id: int | None = None) -> tuple[CreditNoteView, ...]:
    """The tenant's credit notes in the order issued; only those on `invoice_id` when given."""
    on_invoice = "AND invoice_id = :invoice_id" if invoice_id is not None else ""
    rows = session.execute(text(f"""
        SELECT * FROM credit_notes WHERE tenant_id = :tenant_id {on_invoice}
        ORDER BY credit_note_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id})
    return tuple(
        CreditNoteView(r.credit_note_id, r.number, r.invoice_id,
                       Money.from_minor_units(r.amount_minor, r.currency), r.reason, r.actor,
                       r.created_at)
        for r in rows)
