"""Credit requests: a credit or credit note asked for, and a second person's yes or no (issue #5).

Customer success does not grant credits; it asks for them. Finance asks too,
for a service credit or a credit note above the approval threshold
(`db.credits.credit_approval_threshold`), which it may not issue alone. A
request is approved or rejected by a finance user who is not the requester:

- approving issues the service credit, or the credit note on the request's
  invoice, through `db.credits._grant_service_credit` / `_grant_credit_note`
  (the threshold-free paths, private to this approval) with the request's own
  idempotency key, so the credit or note exists at most once whatever happens;
  the request row is locked (`FOR UPDATE`) first and its status checked again
  under the lock, so two approvals at once, or one approval clicked twice, issue
  once: the second finds it approved and gets the same credit or note back
  (`created=False`);
- rejecting writes nothing else; a decided request never changes again (the moves
  are `billing_core.credit_requests.ALLOWED_MOVES`, checked by `check_decision`).

A credit note request is checked when it is sent (the invoice is finalized or
paid, and the note fits in what is left to credit on it) and again when it is
approved, under the invoice's lock: the invoice may have been voided, or other
notes may have taken the room, since. Then the approval is refused
(`RequestNoLongerApplies`, saying why), nothing is written, and the request
stays pending for a finance user to reject: a decision is always someone's
click, never a side effect of a failed approval.

An approved credit or note is outside the 24-hour window of what one person
gives alone (`db.four_eyes`): it neither counts in it nor is refused by it,
since a second person has looked at it. So a split can always be sent as
requests instead.

The same idempotency key twice is one request, if it asks for the same thing
(the same kind, invoice, amount and reason); a key reused for a different
request is InvalidInput on `idempotency_key`.

Lock order: the request row, then (inside the credit or note) the tenant and the
invoice, the same order for every approval, so approvals never deadlock one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, Role, check_credit_approver, require
from billing_core.credit_requests import CreditRequestKind, CreditRequestStatus, check_decision
from billing_core.credits import (
    CreditNote,
    ServiceCredit,
    check_credit_note,
    check_credit_note_target,
)
from billing_core.errors import BillingError, CreditNoteTooLarge, CurrencyMismatch, InvalidInput
from billing_core.money import Money
from db.audit import AuditRecord, record_audit
from db.credit_ledger import tenant_currency
from db.credits import (
    CreditNoteOutcome,
    CreditOutcome,
    _grant_credit_note,
    _grant_service_credit,
)
from db.errors import NotFound


class RequestNoLongerApplies(BillingError):
    """A credit note request whose invoice changed since it was sent: voided, or too little
    left to credit. Nothing was issued; the request stays pending, for someone to reject."""

    def __init__(self, request: str, cause: BillingError) -> None:
        self.request = request
        self.cause = cause
        why = cause.problem if isinstance(cause, InvalidInput) else str(cause)
        super().__init__(f"Credit request {request} cannot be approved: {why}. Nothing was "
                         "issued and the request stays pending: reject it.")


@dataclass(frozen=True, slots=True)
class CreditRequestState:
    tenant_id: str
    request_id: int
    kind: CreditRequestKind
    invoice_id: int | None
    """The invoice a credit note request corrects (None for a service credit)."""
    invoice_label: str | None
    amount: Money
    reason: str
    idempotency_key: str
    requested_by: str
    requested_by_role: Role
    requested_at: datetime
    status: CreditRequestStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    credit_id: int | None
    credit_note_id: int | None
    credit_note_number: str | None
    created: bool = False
    """True when this call created the request."""

    @property
    def label(self) -> str:
        return f"#{self.request_id}"


@dataclass(frozen=True, slots=True)
class ApprovalOutcome:
    """What approving issued: `credit` for a service credit request, `credit_note` for a note."""

    request: CreditRequestState
    credit: CreditOutcome | None
    credit_note: CreditNoteOutcome | None = None


_SELECT = """
    SELECT r.tenant_id, r.request_id, r.kind, r.invoice_id,
           coalesce(i.number, '#' || i.invoice_id) AS invoice_label, r.amount_minor, r.currency,
           r.reason, r.idempotency_key, r.requested_by, r.requested_by_role, r.requested_at,
           r.status, r.decided_by, r.decided_at, r.decision_note, r.credit_id, r.credit_note_id,
           n.number AS credit_note_number
    FROM credit_requests r
    LEFT JOIN invoices i ON i.tenant_id = r.tenant_id AND i.invoice_id = r.invoice_id
    LEFT JOIN credit_notes n ON n.tenant_id = r.tenant_id AND n.credit_note_id = r.credit_note_id
"""


def request_credit(session: Session, tenant_id: str, amount: Money, reason: str, *,
                   actor: Actor, idempotency_key: str) -> CreditRequestState:
    """Ask for a service credit for finance to approve; nothing reaches an invoice or balance yet.

    Customer success and finance may ask. The same idempotency key twice is one request.
    """
    require(actor, Permission.REQUEST_CREDITS)
    credit = ServiceCredit(tenant_id, amount, reason, actor.user_id, idempotency_key)
    currency = tenant_currency(session, tenant_id)
    if amount.currency != currency:
        raise CurrencyMismatch(currency, amount.currency, "credit")
    return _insert_request(session, CreditRequestKind.SERVICE_CREDIT, tenant_id, None, amount,
                           credit.reason, credit.idempotency_key, actor)


def request_credit_note(session: Session, tenant_id: str, invoice_id: int, amount: Money,
                        reason: str, *, actor: Actor, idempotency_key: str) -> CreditRequestState:
    """Ask for a credit note on a finalized or paid invoice, for a second finance user to approve.

    For a note above the approval threshold (or past the 24-hour window), which finance may
    not issue alone. Checked now as `issue_credit_note` would (the invoice's status, and
    CreditNoteTooLarge), and again on approval. Finance only (`REQUEST_CREDIT_NOTES`). The
    same idempotency key twice is one request.
    """
    require(actor, Permission.REQUEST_CREDIT_NOTES)
    note = CreditNote(tenant_id, invoice_id, amount, reason, actor.user_id, idempotency_key)
    reason, idempotency_key = note.reason.strip(), note.idempotency_key.strip()
    currency = tenant_currency(session, tenant_id)
    if amount.currency != currency:
        raise CurrencyMismatch(currency, amount.currency, "credit")
    # Read without a lock: an early answer for the requester; approval checks under the lock.
    invoice = session.execute(text("""
        SELECT coalesce(number, '#' || invoice_id) AS label, status, total_minor,
               (SELECT CAST(coalesce(sum(n.amount_minor), 0) AS bigint) FROM credit_notes n
                WHERE n.tenant_id = i.tenant_id AND n.invoice_id = i.invoice_id) AS noted_minor
        FROM invoices i WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id}).first()
    if invoice is None:
        raise NotFound("invoice", f"{invoice_id} of tenant {tenant_id}")
    earlier = _request_by_key(session, tenant_id, idempotency_key)
    if earlier is not None:
        _check_same_request(earlier, CreditRequestKind.CREDIT_NOTE, invoice_id, invoice.label,
                            amount, reason)
        return earlier
    check_credit_note_target(invoice.label, invoice.status)
    check_credit_note(invoice.label, Money.from_minor_units(invoice.total_minor, currency),
                      Money.from_minor_units(invoice.noted_minor, currency), amount)
    return _insert_request(session, CreditRequestKind.CREDIT_NOTE, tenant_id, invoice_id, amount,
                           reason, idempotency_key, actor, invoice.label)


def approve_credit_request(session: Session, tenant_id: str, request_id: int, *,
                           actor: Actor, note: str | None = None) -> ApprovalOutcome:
    """Approve a pending request and issue its credit or credit note, once (see the module
    docstring).

    Finance only, never the requester (SelfApprovalRefused); a rejected request raises
    RequestAlreadyDecided; an approved one returns what it issued with `created=False`; a
    credit note that no longer fits its invoice raises RequestNoLongerApplies.
    """
    require(actor, Permission.DECIDE_CREDIT_REQUESTS)
    current = _lock_request(session, tenant_id, request_id)
    check_credit_approver(actor, current.requested_by, current.label)
    if not check_decision(current.label, current.status, CreditRequestStatus.APPROVED,
                          current.decided_by):  # approved already: what that approval issued
        if current.kind is CreditRequestKind.CREDIT_NOTE:
            return ApprovalOutcome(current, None, _existing_credit_note(session, current))
        return ApprovalOutcome(current, _existing_credit(session, current))
    if current.kind is CreditRequestKind.CREDIT_NOTE:
        if current.invoice_id is None:  # the table's CHECK makes a note request name one
            raise ValueError(f"credit note request {current.label} names no invoice")
        try:
            issued = _grant_credit_note(session, tenant_id, current.invoice_id, current.amount,
                                        current.reason, actor=actor,
                                        idempotency_key=current.idempotency_key, alone=False)
        except (InvalidInput, CreditNoteTooLarge) as refusal:
            raise RequestNoLongerApplies(current.label, refusal) from refusal
        decided = _decide(session, current, CreditRequestStatus.APPROVED, actor, note,
                          credit_note_id=issued.credit_note_id)
        return ApprovalOutcome(decided, None, issued)
    credit = _grant_service_credit(session, tenant_id, current.amount, current.reason,
                                   actor=actor, idempotency_key=current.idempotency_key,
                                   alone=False)
    decided = _decide(session, current, CreditRequestStatus.APPROVED, actor, note,
                      credit_id=credit.credit_id)
    return ApprovalOutcome(decided, credit)


def reject_credit_request(session: Session, tenant_id: str, request_id: int, *,
                          actor: Actor, note: str | None = None) -> CreditRequestState:
    """Reject a pending request: no credit or note is written. Finance only. Rejecting twice is
    harmless; rejecting an approved request raises RequestAlreadyDecided."""
    require(actor, Permission.DECIDE_CREDIT_REQUESTS)
    current = _lock_request(session, tenant_id, request_id)
    if not check_decision(current.label, current.status, CreditRequestStatus.REJECTED,
                          current.decided_by):  # rejected already: nothing more to do
        return current
    return _decide(session, current, CreditRequestStatus.REJECTED, actor, note)


def pending_credit_requests(session: Session, *, tenant_id: str | None = None,
                            limit: int = 100) -> list[CreditRequestState]:
    """Requests awaiting a decision, oldest first (all tenants, or one)."""
    rows = session.execute(text(f"""
        {_SELECT}
        WHERE r.status = :pending
          AND (CAST(:tenant_id AS text) IS NULL OR r.tenant_id = :tenant_id)
        ORDER BY r.requested_at, r.tenant_id, r.request_id LIMIT :limit
    """), {"pending": CreditRequestStatus.PENDING, "tenant_id": tenant_id, "limit": limit}).all()
    return [_state(row) for row in rows]


def credit_requests(session: Session, tenant_id: str, limit: int = 100) -> list[CreditRequestState]:
    """A tenant's requests, newest first, whatever their status."""
    rows = session.execute(text(f"""
        {_SELECT} WHERE r.tenant_id = :tenant_id ORDER BY r.request_id DESC LIMIT :limit
    """), {"tenant_id": tenant_id, "limit": limit}).all()
    return [_state(row) for row in rows]


def _insert_request(session: Session, kind: CreditRequestKind, tenant_id: str,
                    invoice_id: int | None, amount: Money, reason: str, key: str, actor: Actor,
                    invoice_label: str | None = None) -> CreditRequestState:
    """Write the request, or return the one already made with `key` if it asks the same."""
    request_id = session.execute(text("""
        INSERT INTO credit_requests (tenant_id, kind, invoice_id, amount_minor, currency, reason,
                                     idempotency_key, requested_by, requested_by_role)
        VALUES (:tenant_id, :kind, :invoice_id, :amount_minor, :currency, :reason, :key,
                :actor, :role)
        ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
        RETURNING request_id
    """), {"tenant_id": tenant_id, "kind": kind.value, "invoice_id": invoice_id,
           "amount_minor": amount.to_minor_units(), "currency": amount.currency,
           "reason": reason, "key": key, "actor": actor.user_id,
           "role": actor.role.value}).scalar()
    if request_id is None:
        earlier = _request_by_key(session, tenant_id, key)
        if earlier is None:  # ON CONFLICT found the key, and nothing deletes requests
            raise ValueError(f"credit request with key {key!r} vanished")
        _check_same_request(earlier, kind, invoice_id, invoice_label, amount, reason)
        return earlier
    requested = _read_request(session, tenant_id, request_id, created=True)
    record_audit(session, AuditRecord(
        actor, "credit_request.created", "credit_request", str(request_id), tenant_id,
        before=None, after=_view(requested)))
    return requested


def _check_same_request(earlier: CreditRequestState, kind: CreditRequestKind,
                        invoice_id: int | None, invoice_label: str | None, amount: Money,
                        reason: str) -> None:
    """A replay of a request's key must ask for the same kind, invoice, amount and reason."""
    differences = []
    if earlier.kind is not kind:
        differences.append(f"{earlier.kind.label}, not {kind.label}")
    elif earlier.invoice_id != invoice_id:
        differences.append(f"invoice {earlier.invoice_label}, not {invoice_label}")
    if earlier.amount != amount:
        differences.append(f"{earlier.amount}, not {amount}")
    if earlier.reason != reason:
        differences.append(f"reason {earlier.reason!r}, not {reason!r}")
    if differences:
        asked = "credit note request" if kind is CreditRequestKind.CREDIT_NOTE else "credit request"
        raise InvalidInput("idempotency_key",
                           f"{earlier.idempotency_key!r} was already used for a different "
                           f"{asked} ({'; '.join(differences)})")


def _lock_request(session: Session, tenant_id: str, request_id: int) -> CreditRequestState:
    row = session.execute(text(f"""
        {_SELECT} WHERE r.tenant_id = :tenant_id AND r.request_id = :request_id FOR UPDATE OF r
    """), {"tenant_id": tenant_id, "request_id": request_id}).first()
    if row is None:
        raise NotFound("credit request", f"{request_id} of tenant {tenant_id}")
    return _state(row)


def _read_request(session: Session, tenant_id: str, request_id: int,
                  created: bool = False) -> CreditRequestState:
    row = session.execute(text(f"""
        {_SELECT} WHERE r.tenant_id = :tenant_id AND r.request_id = :request_id
    """), {"tenant_id": tenant_id, "request_id": request_id}).one()
    return _state(row, created)


def _request_by_key(session: Session, tenant_id: str, key: str) -> CreditRequestState | None:
    row = session.execute(text(f"""
        {_SELECT} WHERE r.tenant_id = :tenant_id AND r.idempotency_key = :key
    """), {"tenant_id": tenant_id, "key": key}).first()
    return _state(row) if row else None


def _decide(session: Session, current: CreditRequestState, status: CreditRequestStatus,
            actor: Actor, note: str | None, *, credit_id: int | None = None,
            credit_note_id: int | None = None) -> CreditRequestState:
    session.execute(text("""
        UPDATE credit_requests
        SET status = :status, decided_by = :actor, decided_at = now(), decision_note = :note,
            credit_id = :credit_id, credit_note_id = :credit_note_id
        WHERE tenant_id = :tenant_id AND request_id = :request_id
    """), {"status": status, "actor": actor.user_id, "note": (note or "").strip() or None,
           "credit_id": credit_id, "credit_note_id": credit_note_id,
           "tenant_id": current.tenant_id, "request_id": current.request_id})
    decided = _read_request(session, current.tenant_id, current.request_id)
    record_audit(session, AuditRecord(
        actor, f"credit_request.{status}", "credit_request", str(current.request_id),
        current.tenant_id, before=_view(current), after=_view(decided)))
    return decided


def _existing_credit(session: Session, request: CreditRequestState) -> CreditOutcome:
    row = session.execute(text("""
        SELECT credit_id, invoice_id, applied_minor, to_balance_minor, currency FROM credits
        WHERE tenant_id = :tenant_id AND credit_id = :credit_id
    """), {"tenant_id": request.tenant_id, "credit_id": request.credit_id}).one()
    return CreditOutcome(row.credit_id, False, row.invoice_id,
                         Money.from_minor_units(row.applied_minor, row.currency),
                         Money.from_minor_units(row.to_balance_minor, row.currency))


def _existing_credit_note(session: Session, request: CreditRequestState) -> CreditNoteOutcome:
    """The note an approved request issued (created=False), and what its invoice has left."""
    row = session.execute(text("""
        SELECT n.credit_note_id, n.number, n.amount_minor, n.currency,
               i.total_minor - (SELECT CAST(sum(o.amount_minor) AS bigint) FROM credit_notes o
                                WHERE o.tenant_id = n.tenant_id
                                  AND o.invoice_id = n.invoice_id) AS left_minor
        FROM credit_notes n
        JOIN invoices i ON i.tenant_id = n.tenant_id AND i.invoice_id = n.invoice_id
        WHERE n.tenant_id = :tenant_id AND n.credit_note_id = :credit_note_id
    """), {"tenant_id": request.tenant_id, "credit_note_id": request.credit_note_id}).one()
    return CreditNoteOutcome(row.credit_note_id, row.number, False,
                             Money.from_minor_units(row.amount_minor, row.currency),
                             Money.from_minor_units(row.left_minor, row.currency))


def _state(row, created: bool = False) -> CreditRequestState:
    return CreditRequestState(
        tenant_id=row.tenant_id, request_id=row.request_id, kind=CreditRequestKind(row.kind),
        invoice_id=row.invoice_id, invoice_label=row.invoice_label,
        amount=Money.from_minor_units(row.amount_minor, row.currency), reason=row.reason,
        idempotency_key=row.idempotency_key, requested_by=row.requested_by,
        requested_by_role=Role(row.requested_by_role), requested_at=row.requested_at,
        status=CreditRequestStatus(row.status), decided_by=row.decided_by,
        decided_at=row.decided_at, decision_note=row.decision_note, credit_id=row.credit_id,
        credit_note_id=row.credit_note_id, credit_note_number=row.credit_note_number,
        created=created)


def _view(request: CreditRequestState) -> dict[str, object]:
    return {"kind": request.kind.value, "invoice_id": request.invoice_id,
            "amount_minor": request.amount.to_minor_units(), "currency": request.amount.currency,
            "reason": request.reason, "requested_by": request.requested_by,
            "status": request.status, "decided_by": request.decided_by,
            "credit_id": request.credit_id, "credit_note_id": request.credit_note_id}
