"""Moving an invoice through its states: finalize, void, record payment (SPEC 8).

Each move is one pattern: guard the actor's permission and the input, lock the invoice row
(`SELECT ... FOR UPDATE`), check the move against `billing_core.states` on the
state just read under the lock, change, audit. Of two simultaneous
finalizations the second waits for the first's lock, then reads "finalized"
and is told "Invoice INV-2024-000001 is already finalized".

Finalizing draws the next number of the year from `document_number_counters`
with a single upsert; the counter row stays locked until the transaction ends,
so a rolled-back finalization gives its number back and numbers are gap-free.
The database (trigger `invoices_freeze`) refuses any later change to the lines
and totals, whoever tries.

Voiding gives back the credit the invoice carried (its `credit_minor`: the
balance it consumed when generated plus service credits applied to it as a
draft), draft or finalized alike: a `returned_on_void` ledger entry naming the
invoice puts it on the tenant's credit balance, in the same transaction, so a
void and a regeneration lose nothing (SPEC 5); the next generated invoice
consumes it. The voided invoice itself keeps its lines and totals as a record.
Voiding therefore locks the tenant row first, then the invoice (the lock order
of `db.credit_ledger`, which every append to the balance follows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.credit_ledger import LedgerEntryKind
from billing_core.document_numbers import DocumentSeries
from billing_core.drafts import check_reviewed_version
from billing_core.money import Money
from billing_core.periods import require_aware_utc
from billing_core.states import InvoiceStatus, check_transition
from db.audit import AuditRecord, record_audit
from db.credit_ledger import LedgerEntry, append_entries, lock_tenant
from db.document_numbers import next_document_number
from db.errors import NotFound
from db.repricing import reviewed_total


@dataclass(frozen=True, slots=True)
class InvoiceState:
    """An invoice's status fields after a move."""

    tenant_id: str
    invoice_id: int
    status: str
    number: str | None
    finalized_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None


def finalize_invoice(session: Session, tenant_id: str, invoice_id: int, *,
                     actor: Actor, reviewed_version: int | None = None) -> InvoiceState:
    """draft -> finalized: assign the next gap-free number INV-YYYY-NNNNNN and freeze it.

    `reviewed_version` is the draft's `price_version` the person reviewed (SPEC 13; the
    Invoice screen passes the one it showed). If the draft was re-priced since, finalizing
    is refused with `billing_core.drafts.DraftChanged`: "Invoice #12 changed since you
    opened it: $800.00 is now $812.40; review it again". None compares nothing (a job
    finalizing what it generated). Checked under the invoice's row lock, which re-pricing
    (`db.repricing`) also takes: one of the two waits for the other.
    """
    require(actor, Permission.FINALIZE_INVOICES)
    current = lock_invoice(session, tenant_id, invoice_id)
    check_transition(invoice_label(current), current.status, InvoiceStatus.FINALIZED)
    if reviewed_version is not None:
        _check_reviewed_version(session, current, reviewed_version)
    number = next_document_number(session, DocumentSeries.INVOICE)
    return _move(session, current, actor, "invoice.finalized", """
        UPDATE invoices SET status = :status, number = :number, finalized_at = now()
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
        RETURNING tenant_id, invoice_id, status, number, finalized_at, paid_at, voided_at
    """, {"status": InvoiceStatus.FINALIZED, "number": number})


def void_invoice(session: Session, tenant_id: str, invoice_id: int, *,
                 actor: Actor) -> InvoiceState:
    """draft -> void or finalized -> void. A void invoice frees its period for a new one, and
    its credit goes back to the tenant's credit balance (see the module docstring).

    SPEC 5: a November draft with a $200.00 service credit applied, voided, leaves $200.00
    on the balance; the November invoice generated again consumes it.
    """
    require(actor, Permission.VOID_INVOICES)
    lock_tenant(session, tenant_id)
    current = lock_invoice(session, tenant_id, invoice_id)
    check_transition(invoice_label(current), current.status, InvoiceStatus.VOID)
    credit = _invoice_credit(session, current)
    voided = _move(session, current, actor, "invoice.voided", """
        UPDATE invoices SET status = :status, voided_at = now()
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
        RETURNING tenant_id, invoice_id, status, number, finalized_at, paid_at, voided_at
    """, {"status": InvoiceStatus.VOID})
    if credit:
        append_entries(session, [LedgerEntry(
            tenant_id, LedgerEntryKind.RETURNED_ON_VOID, credit,
            invoice_id=invoice_id, invoice_label=invoice_label(voided))], actor)
    return voided


def record_payment(session: Session, tenant_id: str, invoice_id: int, *, actor: Actor,
                   paid_at: datetime | None = None) -> InvoiceState:
    """finalized -> paid, at `paid_at` (timezone-aware; default: now)."""
    require(actor, Permission.RECORD_PAYMENTS)
    if paid_at is not None:
        paid_at = require_aware_utc(paid_at, "paid_at")
    current = lock_invoice(session, tenant_id, invoice_id)
    check_transition(invoice_label(current), current.status, InvoiceStatus.PAID)
    return _move(session, current, actor, "invoice.paid", """
        UPDATE invoices SET status = :status, paid_at = COALESCE(:paid_at, now())
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
        RETURNING tenant_id, invoice_id, status, number, finalized_at, paid_at, voided_at
    """, {"status": InvoiceStatus.PAID, "paid_at": paid_at})


def lock_invoice(session: Session, tenant_id: str, invoice_id: int) -> InvoiceState:
    """Read the invoice's status under a row lock held to the end of the transaction."""
    row = session.execute(text("""
        SELECT tenant_id, invoice_id, status, number, finalized_at, paid_at, voided_at
        FROM invoices WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
        FOR UPDATE
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id}).first()
    if row is None:
        raise NotFound("invoice", f"{invoice_id} of tenant {tenant_id}")
    return InvoiceState(*row)


def invoice_label(invoice: InvoiceState) -> str:
    """How messages name an invoice: its number, or "#<id>" while it has none."""
    return invoice.number or f"#{invoice.invoice_id}"


def _move(session: Session, current: InvoiceState, actor: Actor, action: str, sql: str,
          params: dict[str, object]) -> InvoiceState:
    row = session.execute(text(sql), {"tenant_id": current.tenant_id,
                                      "invoice_id": current.invoice_id, **params}).one()
    moved = InvoiceState(*row)
    record_audit(session, AuditRecord(
        actor, action, "invoice", str(current.invoice_id), current.tenant_id,
        before=_status_view(current), after=_status_view(moved)))
    return moved


def _check_reviewed_version(session: Session, invoice: InvoiceState,
                            reviewed_version: int) -> None:
    version, total_minor, currency = session.execute(text("""
        SELECT price_version, total_minor, currency FROM invoices
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
    """), {"tenant_id": invoice.tenant_id, "invoice_id": invoice.invoice_id}).one()
    if version == reviewed_version:
        return
    seen = reviewed_total(session, invoice.tenant_id, invoice.invoice_id, reviewed_version)
    check_reviewed_version(invoice_label(invoice), reviewed_version, version, seen,
                           Money.from_minor_units(total_minor, currency))


def _invoice_credit(session: Session, invoice: InvoiceState) -> Money:
    credit_minor, currency = session.execute(text("""
        SELECT credit_minor, currency FROM invoices
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
    """), {"tenant_id": invoice.tenant_id, "invoice_id": invoice.invoice_id}).one()
    return Money.from_minor_units(credit_minor, currency)


def _status_view(state: InvoiceState) -> dict[str, object]:
    return {
        "status": state.status,
        "number": state.number,
        "finalized_at": state.finalized_at.isoformat() if state.finalized_at else None,
        "paid_at": state.paid_at.isoformat() if state.paid_at else None,
        "voided_at": state.voided_at.isoformat() if state.voided_at else None,
    }
