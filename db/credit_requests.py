"""Credit requests: a credit asked for, and a second person's yes or no (issue #5).

Customer success does not grant credits; it asks for them. Finance asks too,
for a credit above the approval threshold (`db.credits.credit_approval_threshold`),
which it may not issue alone. A request is approved or rejected by a finance user
who is not the requester:

- approving issues the service credit through `db.credits._grant_service_credit`
  (the threshold-free path, private to this approval) with the request's own
  idempotency key, so the credit exists at most once
  whatever happens; the request row is locked (`FOR UPDATE`) first and its status
  checked again under the lock, so two approvals at once, or one approval clicked
  twice, land one credit: the second finds it approved and gets the same credit
  back (`created=False`);
- rejecting writes no credit; a decided request never changes again.

An approved credit is outside the 24-hour window of what one person gives alone
(`db.four_eyes`): it neither counts in it nor is refused by it, since a second
person has looked at it. So a split can always be sent as requests instead.

The same idempotency key twice is one request, if it asks for the same amount for
the same reason; a key reused for a different request is InvalidInput.

Lock order: the request row, then (inside the credit) the tenant and the invoice,
the same order for every approval, so approvals never deadlock one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, check_credit_approver, require
from billing_core.credits import ServiceCredit
from billing_core.errors import BillingError, CurrencyMismatch, InvalidInput
from billing_core.money import Money
from db.audit import AuditRecord, record_audit
from db.credits import CreditOutcome, _grant_service_credit
from db.errors import NotFound


class RequestAlreadyDecided(BillingError):
    """A rejected request cannot be approved (nor an approved one rejected)."""

    def __init__(self, request: str, status: str, decided_by: str | None) -> None:
        self.request = request
        self.status = status
        self.decided_by = decided_by
        super().__init__(f"Credit request {request} was already {status}"
                         + (f" by {decided_by}" if decided_by else ""))


@dataclass(frozen=True, slots=True)
class CreditRequestState:
    tenant_id: str
    request_id: int
    amount: Money
    reason: str
    idempotency_key: str
    requested_by: str
    requested_by_role: str
    requested_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    credit_id: int | None
    created: bool = False
    """True when this call created the request."""

    @property
    def label(self) -> str:
        return f"#{self.request_id}"


@dataclass(frozen=True, slots=True)
class ApprovalOutcome:
    request: CreditRequestState
    credit: CreditOutcome


_COLUMNS = """
    tenant_id, request_id, amount_minor, currency, reason, idempotency_key, requested_by,
    requested_by_role, requested_at, status, decided_by, decided_at, decision_note, credit_id
"""


def request_credit(session: Session, tenant_id: str, amount: Money, reason: str, *,
                   actor: Actor, idempotency_key: str) -> CreditRequestState:
    """Ask for a service credit for finance to approve; nothing reaches an invoice or balance yet.

    Customer success and finance may ask. The same idempotency key twice is one request.
    """
    require(actor, Permission.REQUEST_CREDITS)
    credit = ServiceCredit(tenant_id, amount, reason, actor.user_id, idempotency_key)
    currency = session.execute(text(
        "SELECT currency FROM tenants WHERE tenant_id = :tenant_id"), {"tenant_id": tenant_id}
    ).scalar()
    if currency is None:
        raise NotFound("tenant", tenant_id)
    if amount.currency != currency:
        raise CurrencyMismatch(currency, amount.currency, "credit")
    row = session.execute(text(f"""
        INSERT INTO credit_requests (tenant_id, amount_minor, currency, reason, idempotency_key,
                                     requested_by, requested_by_role)
        VALUES (:tenant_id, :amount_minor, :currency, :reason, :key, :actor, :role)
        ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
        RETURNING {_COLUMNS}
    """), {"tenant_id": tenant_id, "amount_minor": amount.to_minor_units(), "currency": currency,
           "reason": credit.reason, "key": credit.idempotency_key, "actor": actor.user_id,
           "role": actor.role.value}).first()
    if row is None:
        earlier = _request_by_key(session, tenant_id, credit.idempotency_key)
        differences = []
        if earlier.amount != amount:
            differences.append(f"{earlier.amount}, not {amount}")
        if earlier.reason != credit.reason:
            differences.append(f"reason {earlier.reason!r}, not {credit.reason!r}")
        if differences:
            raise InvalidInput("idempotency_key",
                               f"{idempotency_key!r} was already used for a different credit "
                               f"request ({'; '.join(differences)})")
        return earlier
    requested = _state(row, created=True)
    record_audit(session, AuditRecord(
        actor, "credit_request.created", "credit_request", str(requested.request_id), tenant_id,
        before=None, after=_view(requested)))
    return requested


def approve_credit_request(session: Session, tenant_id: str, request_id: int, *,
                           actor: Actor, note: str | None = None) -> ApprovalOutcome:
    """Approve a pending request and issue its credit, once (see the module docstring).

    Finance only, never the requester (SelfApprovalRefused); a rejected request raises
    RequestAlreadyDecided; an approved one returns its credit with `created=False`.
    """
    require(actor, Permission.DECIDE_CREDIT_REQUESTS)
    current = _lock_request(session, tenant_id, request_id)
    check_credit_approver(actor, current.requested_by, current.label)
    if current.status == "approved":
        credit = _existing_credit(session, current)
        return ApprovalOutcome(current, credit)
    if current.status != "pending":
        raise RequestAlreadyDecided(current.label, current.status, current.decided_by)
    credit = _grant_service_credit(session, tenant_id, current.amount, current.reason,
                                   actor=actor, idempotency_key=current.idempotency_key,
                                   alone=False)
    decided = _decide(session, current, "approved", actor, note, credit.credit_id)
    return ApprovalOutcome(decided, credit)


def reject_credit_request(session: Session, tenant_id: str, request_id: int, *,
                          actor: Actor, note: str | None = None) -> CreditRequestState:
    """Reject a pending request: no credit is written. Finance only. Rejecting twice is harmless;
    rejecting an approved request raises RequestAlreadyDecided."""
    require(actor, Permission.DECIDE_CREDIT_REQUESTS)
    current = _lock_request(session, tenant_id, request_id)
    if current.status == "rejected":
        return current
    if current.status != "pending":
        raise RequestAlreadyDecided(current.label, current.status, current.decided_by)
    return _decide(session, current, "rejected", actor, note, None)


def pending_credit_requests(session: Session, *, tenant_id: str | None = None,
                            limit: int = 100) -> list[CreditRequestState]:
    """Requests awaiting a decision, oldest first (all tenants, or one)."""
    rows = session.execute(text(f"""
        SELECT {_COLUMNS} FROM credit_requests
        WHERE status = 'pending' AND (CAST(:tenant_id AS text) IS NULL OR tenant_id = :tenant_id)
        ORDER BY requested_at, tenant_id, request_id LIMIT :limit
    """), {"tenant_id": tenant_id, "limit": limit}).all()
    return [_state(row) for row in rows]


def credit_requests(session: Session, tenant_id: str, limit: int = 100) -> list[CreditRequestState]:
    """A tenant's requests, newest first, whatever their status."""
    rows = session.execute(text(f"""
        SELECT {_COLUMNS} FROM credit_requests WHERE tenant_id = :tenant_id
        ORDER BY request_id DESC LIMIT :limit
    """), {"tenant_id": tenant_id, "limit": limit}).all()
    return [_state(row) for row in rows]


def _lock_request(session: Session, tenant_id: str, request_id: int) -> CreditRequestState:
    row = session.execute(text(f"""
        SELECT {_COLUMNS} FROM credit_requests
        WHERE tenant_id = :tenant_id AND request_id = :request_id FOR UPDATE
    """), {"tenant_id": tenant_id, "request_id": request_id}).first()
    if row is None:
        raise NotFound("credit request", f"{request_id} of tenant {tenant_id}")
    return _state(row)


def _request_by_key(session: Session, tenant_id: str, key: str) -> CreditRequestState:
    row = session.execute(text(f"""
        SELECT {_COLUMNS} FROM credit_requests
        WHERE tenant_id = :tenant_id AND idempotency_key = :key
    """), {"tenant_id": tenant_id, "key": key}).one()
    return _state(row)


def _decide(session: Session, current: CreditRequestState, status: str, actor: Actor,
            note: str | None, credit_id: int | None) -> CreditRequestState:
    row = session.execute(text(f"""
        UPDATE credit_requests
        SET status = :status, decided_by = :actor, decided_at = now(), decision_note = :note,
            credit_id = :credit_id
        WHERE tenant_id = :tenant_id AND request_id = :request_id
        RETURNING {_COLUMNS}
    """), {"status": status, "actor": actor.user_id, "note": (note or "").strip() or None,
           "credit_id": credit_id, "tenant_id": current.tenant_id,
           "request_id": current.request_id}).one()
    decided = _state(row)
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


def _state(row, created: bool = False) -> CreditRequestState:
    return CreditRequestState(
        row.tenant_id, row.request_id, Money.from_minor_units(row.amount_minor, row.currency),
        row.reason, row.idempotency_key, row.requested_by, row.requested_by_role,
        row.requested_at, row.status, row.decided_by, row.decided_at, row.decision_note,
        row.credit_id, created)


def _view(request: CreditRequestState) -> dict[str, object]:
    return {"amount_minor": request.amount.to_minor_units(), "currency": request.amount.currency,
            "reason": request.reason, "requested_by": request.requested_by,
            "status": request.status, "decided_by": request.decided_by,
            "credit_id": request.credit_id}
