"""Service credits, the tenant credit balance, and credit notes (SPEC 5).

A service credit lands on the tenant's open (draft) invoice when there is one
(the latest draft, if several): a credit line is added and the total goes down,
never below zero, the excess going to the credit balance. With no draft it
waits on the credit balance and the next generated invoice consumes it. A
credit aimed explicitly at a finalized, paid or void invoice is refused with
InvoiceNotOpen before anything is written, and the invoice is left exactly as
it was.

The same idempotency key twice makes one credit: the tenant row is locked
first (the same lock invoice generation takes, so credits and generation for
one tenant never interleave), then the key is looked up; the unique index
(tenant_id, idempotency_key) backs the rule in the database. A replay must be
the same credit: the same amount and reason, and, when it names an invoice,
the invoice the first one landed on; anything else is InvalidInput on the key
(a reused key, not a retry), never the old credit returned as if it matched.

Only finance issues credits and credit notes directly, and only up to the
approval threshold (`credit_approval_threshold`, env
`LEDGERLINE_CREDIT_APPROVAL_ABOVE`, default 1000.00 in the credit's currency): a
larger one raises ApprovalRequired and goes through `db.credit_requests`
instead, where a second finance user approves it. Customer success never issues
a credit; it requests one. The ways past the threshold,
`_grant_service_credit(..., alone=False)` and `_grant_credit_note(...,
alone=False)`, are private to that approval.

The threshold also caps the sum of what one person gives alone in 24 hours
(`db.four_eyes`): a credit or credit note that would take the tenant's total,
or the user's, above it raises SecondApproverRequired, so splitting a large
credit into small ones still needs a second person.

A credit note corrects a finalized or paid invoice without changing it. The
invoice row is locked so two notes cannot both fit in the same room; the notes
of one invoice never add up to more than its total. Its idempotency key is as
strict as a credit's: looked up across the tenant's notes under the tenant
lock (unique index (tenant_id, idempotency_key)), a replay must name the same
invoice, amount and reason, or it is InvalidInput on the key; so two uses of
one key at once, even on two invoices, make one note and one refusal.

Where a service credit lands is `billing_core.credits.land_credit`'s decision; this
module loads the facts it needs under the locks and stores what it decided.

Lock order (`db.credit_ledger`): the giver (`db.four_eyes.lock_giver`), the tenant row, the
invoice rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import (
    Actor,
    ApprovalRequired,
    Permission,
    SecondApproverRequired,
    check_given_alone,
    needs_second_approval,
    require,
)
from billing_core.credit_ledger import LedgerEntryKind
from billing_core.credits import (
    CreditableInvoice,
    CreditLanding,
    CreditNote,
    ServiceCredit,
    check_credit_note,
    check_credit_note_target,
    land_credit,
)
from billing_core.document_numbers import DocumentSeries
from billing_core.errors import CurrencyMismatch, InvalidInput
from billing_core.lines import LineKind
from billing_core.money import Money, to_decimal
from billing_core.states import OPEN_STATUSES, InvoiceStatus
from db.audit import AuditRecord, record_audit
from db.credit_ledger import LedgerEntry, append_entries, lock_tenant, tenant_currency
from db.document_numbers import next_document_number
from db.draft_lines import append_line
from db.errors import NotFound
from db.four_eyes import given_alone, lock_giver


@dataclass(frozen=True, slots=True)
class CreditOutcome:
    """Where a service credit landed: `applied` on invoice `invoice_id`, the rest on the balance."""

    credit_id: int
    created: bool
    invoice_id: int | None
    applied: Money
    to_balance: Money


@dataclass(frozen=True, slots=True)
class CreditNoteOutcome:
    credit_note_id: int
    number: str
    created: bool
    amount: Money
    creditable_left: Money


CREDIT_APPROVAL_ENV = "LEDGERLINE_CREDIT_APPROVAL_ABOVE"
DEFAULT_CREDIT_APPROVAL_ABOVE = Decimal("1000.00")


def credit_approval_threshold() -> Decimal:
    """Credits strictly above this amount (in the credit's own currency) need a second finance
    user: `LEDGERLINE_CREDIT_APPROVAL_ABOVE` (e.g. "500.00"), default 1000.00. Read on every call,
    so a change applies without a restart."""
    configured = os.environ.get(CREDIT_APPROVAL_ENV, "").strip()
    if not configured:
        return DEFAULT_CREDIT_APPROVAL_ABOVE
    threshold = to_decimal(configured, CREDIT_APPROVAL_ENV)
    if threshold < 0:
        raise InvalidInput(CREDIT_APPROVAL_ENV, f"{configured!r} is negative")
    return threshold


def check_direct_credit(amount: Money) -> None:
    """ApprovalRequired when `amount` is above the approval threshold (see the module docstring)."""
    threshold = credit_approval_threshold()
    if needs_second_approval(amount, threshold):
        raise ApprovalRequired(amount, Money(threshold, amount.currency))


def check_direct_credit_note(amount: Money) -> None:
    """ApprovalRequired when a credit note of `amount` is above the approval threshold."""
    threshold = credit_approval_threshold()
    if needs_second_approval(amount, threshold):
        raise ApprovalRequired(amount, Money(threshold, amount.currency), "A credit note")


CREDIT_ADVICE = "Send it as a credit request for another finance user to approve."
CREDIT_NOTE_ADVICE = "Send it as a credit note request for another finance user to approve."


def _check_given_alone(session: Session, tenant_id: str, amount: Money, *, actor: Actor,
                            what: str, advice: str) -> None:
    """SecondApproverRequired when `amount` on top of what was given alone in the last 24 hours,
    to `tenant_id` or by `actor`, is above the threshold (see `db.four_eyes`). Binding only
    under the tenant's lock and `lock_giver`."""
    threshold = credit_approval_threshold()
    given = given_alone(session, [tenant_id], actor, amount.currency)
    check_given_alone(what, amount, given.to_tenant[tenant_id], f"to {tenant_id}", threshold,
                      advice)
    check_given_alone(what, amount, given.by_user, f"by {actor.user_id}", threshold, advice)


def second_approver_needed(session: Session, tenant_id: str, amount: Money, *,
                           actor: Actor, credit_note: bool = False
                           ) -> SecondApproverRequired | None:
    """Why `actor` could not credit `amount` (a credit note with `credit_note`) to `tenant_id`
    alone right now because of what was given in the last 24 hours, or None. No locks, nothing
    written: a preview for the Credits screen; `issue_service_credit` and `issue_credit_note`
    check again under the locks."""
    what, advice = (("This credit note", CREDIT_NOTE_ADVICE) if credit_note
                    else ("This credit", CREDIT_ADVICE))
    try:
        _check_given_alone(session, tenant_id, amount, actor=actor, what=what, advice=advice)
    except SecondApproverRequired as refusal:
        return refusal
    return None


def issue_service_credit(session: Session, tenant_id: str, amount: Money, reason: str, *,
                         actor: Actor, idempotency_key: str,
                         invoice_id: int | None = None) -> CreditOutcome:
    """Grant a service credit once per idempotency key; see the module docstring for where it lands.

    SPEC 5: $200.00 for a tenant whose October invoice is paid and November invoice
    is a draft reduces November by $200.00. `invoice_id` aims the credit at one
    invoice explicitly; a non-draft target raises InvoiceNotOpen. Finance only; above the
    approval threshold ApprovalRequired, and SecondApproverRequired when it would take what
    was given alone in the last 24 hours (to the tenant, or by `actor`) above it: request it
    with `db.credit_requests.request_credit`. A replay of `idempotency_key` is never refused
    by the window (it gives nothing new).
    """
    require(actor, Permission.ISSUE_CREDITS)
    if isinstance(amount, Money):
        check_direct_credit(amount)
    return _grant_service_credit(session, tenant_id, amount, reason, actor=actor,
                                 idempotency_key=idempotency_key, invoice_id=invoice_id,
                                 alone=True)


def _grant_service_credit(session: Session, tenant_id: str, amount: Money, reason: str, *,
                          actor: Actor, idempotency_key: str, alone: bool,
                          invoice_id: int | None = None) -> CreditOutcome:
    """`issue_service_credit` without the approval threshold. With `alone=False` the 24-hour
    window is skipped too: its only caller is `db.credit_requests.approve_credit_request`,
    which checked the second approver under the request's lock; nothing else may issue a
    credit above the threshold alone. Still finance only."""
    require(actor, Permission.ISSUE_CREDITS)
    credit = ServiceCredit(tenant_id, amount, reason, actor.user_id, idempotency_key)
    currency = _lock_for_grant(session, tenant_id, amount, actor, alone)
    earlier = _credit_by_key(session, tenant_id, idempotency_key)
    if earlier is not None:
        outcome, earlier_reason = earlier
        _check_same_credit(idempotency_key, outcome, earlier_reason, amount, credit.reason,
                           invoice_id)
        return outcome
    if alone:
        _check_given_alone(session, tenant_id, amount, actor=actor, what="This credit",
                                advice=CREDIT_ADVICE)

    if invoice_id is not None:
        landing = land_credit(tenant_id, amount,
                              aimed_at=_lock_invoice_for_credit(session, tenant_id, invoice_id))
    else:
        landing = land_credit(tenant_id, amount, _open_invoices(session, tenant_id, lock=True))
    credit_id = session.execute(text("""
        INSERT INTO credits (tenant_id, amount_minor, currency, reason, actor, idempotency_key,
                             invoice_id, applied_minor, to_balance_minor)
        VALUES (:tenant_id, :amount_minor, :currency, :reason, :actor, :key, :invoice_id,
                :applied_minor, :to_balance_minor)
        RETURNING credit_id
    """), {"tenant_id": tenant_id, "amount_minor": amount.to_minor_units(), "currency": currency,
           "reason": credit.reason, "actor": actor.user_id, "key": idempotency_key,
           "invoice_id": landing.invoice_id, "applied_minor": landing.applied.to_minor_units(),
           "to_balance_minor": landing.to_balance.to_minor_units()}).scalar_one()
    if landing.applied:
        _apply_to_invoice(session, tenant_id, landing, credit_id, credit.reason, actor)
    if landing.to_balance:
        append_entries(session, [LedgerEntry(tenant_id, LedgerEntryKind.CREDIT_ADDED,
                                             landing.to_balance, credit_id=credit_id)], actor)
    record_audit(session, AuditRecord(
        actor, "credit.issued", "credit", str(credit_id), tenant_id, before=None,
        after={"amount_minor": amount.to_minor_units(), "currency": currency,
               "reason": credit.reason, "idempotency_key": idempotency_key,
               "invoice_id": landing.invoice_id,
               "applied_minor": landing.applied.to_minor_units(),
               "to_balance_minor": landing.to_balance.to_minor_units()}))
    return CreditOutcome(credit_id, True, landing.invoice_id, landing.applied,
                         landing.to_balance)


def preview_credit_landing(session: Session, tenant_id: str, amount: Money) -> CreditLanding:
    """Where a credit of `amount` would land right now, and why (`CreditLanding.explanation`).
    Takes no locks, writes nothing."""
    currency = tenant_currency(session, tenant_id)
    if amount.currency != currency:
        raise CurrencyMismatch(currency, amount.currency, "credit")
    return land_credit(tenant_id, amount, _open_invoices(session, tenant_id, lock=False))


def issue_credit_note(session: Session, tenant_id: str, invoice_id: int, amount: Money,
                      reason: str, *, actor: Actor, idempotency_key: str) -> CreditNoteOutcome:
    """Credit part or all of a finalized or paid invoice, without changing it.

    Never more than the invoice's total minus earlier notes (CreditNoteTooLarge).
    Numbered CN-YYYY-NNNNNN, gap-free. The same idempotency key twice makes one note; the
    key reused for another invoice, amount or reason is InvalidInput on `idempotency_key`.
    Finance only; above the approval threshold ApprovalRequired, and SecondApproverRequired
    when it would take what was given alone in the last 24 hours (to the tenant, or by
    `actor`) above it: request it with `db.credit_requests.request_credit_note`.
    """
    require(actor, Permission.ISSUE_CREDIT_NOTES)
    if isinstance(amount, Money):
        check_direct_credit_note(amount)
    return _grant_credit_note(session, tenant_id, invoice_id, amount, reason, actor=actor,
                              idempotency_key=idempotency_key, alone=True)


def _grant_credit_note(session: Session, tenant_id: str, invoice_id: int, amount: Money,
                       reason: str, *, actor: Actor, idempotency_key: str,
                       alone: bool) -> CreditNoteOutcome:
    """`issue_credit_note` without the approval threshold. With `alone=False` the 24-hour window
    is skipped too: its only caller is `db.credit_requests.approve_credit_request`, which
    checked the second approver under the request's lock. Still finance only, and the invoice
    is checked again here, under its lock: still finalized or paid, and room for the note."""
    require(actor, Permission.ISSUE_CREDIT_NOTES)
    note = CreditNote(tenant_id, invoice_id, amount, reason, actor.user_id, idempotency_key)
    reason, idempotency_key = note.reason.strip(), note.idempotency_key.strip()
    currency = _lock_for_grant(session, tenant_id, amount, actor, alone)
    invoice = _lock_invoice_for_credit(session, tenant_id, invoice_id)
    total = invoice.total
    earlier_total = Money.from_minor_units(session.execute(text("""
        SELECT CAST(coalesce(sum(amount_minor), 0) AS bigint) FROM credit_notes
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id}).scalar_one(), currency)
    earlier = _credit_note_by_key(session, tenant_id, idempotency_key)
    if earlier is not None:
        _check_same_credit_note(idempotency_key, earlier, invoice, amount, reason)
        return CreditNoteOutcome(earlier.credit_note_id, earlier.number, False, earlier.amount,
                                 total - earlier_total)
    check_credit_note_target(invoice.label, invoice.status)
    left = check_credit_note(invoice.label, total, earlier_total, amount)
    if alone:
        _check_given_alone(session, tenant_id, amount, actor=actor, what="This credit note",
                           advice=CREDIT_NOTE_ADVICE)
    number = next_document_number(session, DocumentSeries.CREDIT_NOTE)
    credit_note_id = session.execute(text("""
        INSERT INTO credit_notes (tenant_id, invoice_id, number, amount_minor, currency, reason,
                                  actor, idempotency_key)
        VALUES (:tenant_id, :invoice_id, :number, :amount_minor, :currency, :reason, :actor, :key)
        RETURNING credit_note_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id, "number": number,
           "amount_minor": amount.to_minor_units(), "currency": currency, "reason": reason,
           "actor": actor.user_id, "key": idempotency_key}).scalar_one()
    record_audit(session, AuditRecord(
        actor, "credit_note.issued", "invoice", str(invoice_id), tenant_id,
        before={"credited_minor": earlier_total.to_minor_units(), "currency": currency},
        after={"credit_note": number, "amount_minor": amount.to_minor_units(),
               "credited_minor": (earlier_total + amount).to_minor_units(),
               "currency": currency, "reason": reason, "idempotency_key": idempotency_key}))
    return CreditNoteOutcome(credit_note_id, number, True, amount, left)


def _lock_for_grant(session: Session, tenant_id: str, amount: Money, actor: Actor,
                    alone: bool) -> str:
    """A grant's locks, in the lock order: the giver when giving alone, then the tenant.
    Returns the tenant's currency, which `amount` must be in."""
    if alone:
        lock_giver(session, actor)
    currency = lock_tenant(session, tenant_id)
    if amount.currency != currency:
        raise CurrencyMismatch(currency, amount.currency, "credit")
    return currency


def _apply_to_invoice(session: Session, tenant_id: str, landing: CreditLanding, credit_id: int,
                      reason: str, actor: Actor) -> None:
    """Store what `land_credit` decided for the invoice: a credit line and lower totals."""
    invoice, applied = landing.invoice, landing.applied
    if invoice is None:
        raise ValueError("a credit landing on the balance has no invoice to store")
    before_total = invoice.total
    after_total = before_total - applied
    append_line(session, tenant_id, invoice.invoice_id, LineKind.CREDIT,
                f"Service credit: {reason}", (-applied).to_minor_units(), (-applied).amount,
                f"service credit #{credit_id}: {applied} off {before_total} -> {after_total}")
    after_credit_minor = session.execute(text("""
        UPDATE invoices SET credit_minor = credit_minor + :applied_minor,
                            total_minor = :total_minor
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
        RETURNING credit_minor
    """), {"tenant_id": tenant_id, "invoice_id": invoice.invoice_id,
           "applied_minor": applied.to_minor_units(),
           "total_minor": after_total.to_minor_units()}).scalar_one()
    record_audit(session, AuditRecord(
        actor, "invoice.credited", "invoice", str(invoice.invoice_id), tenant_id,
        before={"credit_minor": after_credit_minor - applied.to_minor_units(),
                "total_minor": before_total.to_minor_units(), "currency": applied.currency},
        after={"credit_minor": after_credit_minor, "total_minor": after_total.to_minor_units(),
               "currency": applied.currency, "credit_id": credit_id}))


def _credit_by_key(session: Session, tenant_id: str,
                   key: str) -> tuple[CreditOutcome, str] | None:
    """The credit already made with `key` (created=False) and its reason, or None."""
    row = session.execute(text("""
        SELECT credit_id, invoice_id, applied_minor, to_balance_minor, currency, reason
        FROM credits WHERE tenant_id = :tenant_id AND idempotency_key = :key
    """), {"tenant_id": tenant_id, "key": key}).first()
    if row is None:
        return None
    return CreditOutcome(row.credit_id, False, row.invoice_id,
                         Money.from_minor_units(row.applied_minor, row.currency),
                         Money.from_minor_units(row.to_balance_minor, row.currency)), row.reason


def _check_same_credit(key: str, earlier: CreditOutcome, earlier_reason: str, amount: Money,
                       reason: str, invoice_id: int | None) -> None:
    """A replay of `key` must ask for the credit it made: same amount, same reason, and the
    same invoice when it names one (without one, the credit went wherever it landed)."""
    earlier_amount = earlier.applied + earlier.to_balance
    differences = []
    if amount != earlier_amount:
        differences.append(f"{earlier_amount}, not {amount}")
    if reason != earlier_reason:
        differences.append(f"reason {earlier_reason!r}, not {reason!r}")
    if invoice_id is not None and invoice_id != earlier.invoice_id:
        landed = f"invoice {earlier.invoice_id}" if earlier.invoice_id else "the credit balance"
        differences.append(f"{landed}, not invoice {invoice_id}")
    if differences:
        raise InvalidInput("idempotency_key", f"{key!r} was already used for a different credit "
                                              f"({'; '.join(differences)})")


@dataclass(frozen=True, slots=True)
class _EarlierNote:
    credit_note_id: int
    number: str
    invoice_id: int
    invoice_label: str
    amount: Money
    reason: str


def _credit_note_by_key(session: Session, tenant_id: str, key: str) -> _EarlierNote | None:
    """The note already made with `key` on any of the tenant's invoices, or None. Binding only
    under the tenant's lock (the unique index backs it)."""
    row = session.execute(text("""
        SELECT n.credit_note_id, n.number, n.invoice_id,
               coalesce(i.number, '#' || i.invoice_id) AS invoice_label,
               n.amount_minor, n.currency, n.reason
        FROM credit_notes n
        JOIN invoices i ON i.tenant_id = n.tenant_id AND i.invoice_id = n.invoice_id
        WHERE n.tenant_id = :tenant_id AND n.idempotency_key = :key
    """), {"tenant_id": tenant_id, "key": key}).first()
    if row is None:
        return None
    return _EarlierNote(row.credit_note_id, row.number, row.invoice_id, row.invoice_label,
                        Money.from_minor_units(row.amount_minor, row.currency), row.reason)


def _check_same_credit_note(key: str, earlier: _EarlierNote, invoice: CreditableInvoice,
                            amount: Money, reason: str) -> None:
    """A replay of `key` must ask for the note it made: same invoice, amount and reason."""
    differences = []
    if invoice.invoice_id != earlier.invoice_id:
        differences.append(f"invoice {earlier.invoice_label}, not {invoice.label}")
    if amount != earlier.amount:
        differences.append(f"{earlier.amount}, not {amount}")
    if reason != earlier.reason:
        differences.append(f"reason {earlier.reason!r}, not {reason!r}")
    if differences:
        raise InvalidInput("idempotency_key", f"{key!r} was already used for a different credit "
                                              f"note ({'; '.join(differences)})")


_CREDITABLE_COLUMNS = """
    invoice_id, coalesce(number, '#' || invoice_id) AS label, status, period_start, period_label,
    total_minor, currency
"""


def _creditable(row) -> CreditableInvoice:
    return CreditableInvoice(row.invoice_id, row.label, InvoiceStatus(row.status),
                             row.period_start, row.period_label,
                             Money.from_minor_units(row.total_minor, row.currency))


def _lock_invoice_for_credit(session: Session, tenant_id: str,
                             invoice_id: int) -> CreditableInvoice:
    """The invoice a credit or credit note names, locked; NotFound if the tenant has none."""
    row = session.execute(text(f"""
        SELECT {_CREDITABLE_COLUMNS} FROM invoices
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id FOR UPDATE
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id}).first()
    if row is None:
        raise NotFound("invoice", f"{invoice_id} of tenant {tenant_id}")
    return _creditable(row)


def _open_invoices(session: Session, tenant_id: str, lock: bool) -> list[CreditableInvoice]:
    """The tenant's open invoices, where a credit aimed at none may land (locked with
    `lock`: one finalized meanwhile drops out under the lock)."""
    rows = session.execute(text(f"""
        SELECT {_CREDITABLE_COLUMNS} FROM invoices
        WHERE tenant_id = :tenant_id AND status = ANY(:open_statuses)
        ORDER BY invoice_id {"FOR UPDATE" if lock else ""}
    """), {"tenant_id": tenant_id, "open_statuses": [status.value for status in OPEN_STATUSES]})
    return [_creditable(row) for row in rows]
