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

Lock order: the giver (`db.four_eyes.lock_giver`), the tenant row, the invoice row.
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
from billing_core.credits import (
    CreditNote,
    ServiceCredit,
    apply_credit,
    check_credit_note,
    check_credit_note_target,
    check_credit_target,
)
from billing_core.errors import CurrencyMismatch, InvalidInput
from billing_core.money import Money, to_decimal
from db.audit import AuditRecord, record_audit
from db.document_numbers import next_document_number
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
class CreditLanding:
    """A preview: where a credit of `amount` would land now, and why (nothing written)."""

    target: str
    invoice_id: int | None
    invoice_period: str | None
    applied: Money
    to_balance: Money
    explanation: str


@dataclass(frozen=True, slots=True)
class CreditNoteOutcome:
    credit_note_id: int
    number: str
    created: bool
    amount: Money
    creditable_left: Money


@dataclass(frozen=True, slots=True)
class _OpenInvoice:
    invoice_id: int
    label: str
    status: str
    period_label: str
    credit_minor: int
    total_minor: int


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
    if alone:
        lock_giver(session, actor)
    currency = _lock_tenant(session, tenant_id)
    if amount.currency != currency:
        raise CurrencyMismatch(currency, amount.currency, "credit")
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
        target = _lock_invoice_for_credit(session, tenant_id, invoice_id)
        if target is None:
            raise NotFound("invoice", f"{invoice_id} of tenant {tenant_id}")
        check_credit_target(target.label, target.status)
    else:
        target = _latest_draft(session, tenant_id, lock=True)

    applied, to_balance = Money.zero(currency), amount
    if target is not None:
        applied, to_balance = apply_credit(Money.from_minor_units(target.total_minor, currency),
                                           amount)
    credit_id = session.execute(text("""
        INSERT INTO credits (tenant_id, amount_minor, currency, reason, actor, idempotency_key,
                             invoice_id, applied_minor, to_balance_minor)
        VALUES (:tenant_id, :amount_minor, :currency, :reason, :actor, :key, :invoice_id,
                :applied_minor, :to_balance_minor)
        RETURNING credit_id
    """), {"tenant_id": tenant_id, "amount_minor": amount.to_minor_units(), "currency": currency,
           "reason": credit.reason, "actor": actor.user_id, "key": idempotency_key,
           "invoice_id": target.invoice_id if target else None,
           "applied_minor": applied.to_minor_units(),
           "to_balance_minor": to_balance.to_minor_units()}).scalar_one()
    if applied:
        _apply_to_invoice(session, tenant_id, target, applied, credit_id, credit.reason, actor)
    if to_balance:
        _add_to_balance(session, tenant_id, credit_id, to_balance, actor)
    record_audit(session, AuditRecord(
        actor, "credit.issued", "credit", str(credit_id), tenant_id, before=None,
        after={"amount_minor": amount.to_minor_units(), "currency": currency,
               "reason": credit.reason, "idempotency_key": idempotency_key,
               "invoice_id": target.invoice_id if target else None,
               "applied_minor": applied.to_minor_units(),
               "to_balance_minor": to_balance.to_minor_units()}))
    return CreditOutcome(credit_id, True, target.invoice_id if target else None, applied,
                         to_balance)


def preview_credit_landing(session: Session, tenant_id: str, amount: Money) -> CreditLanding:
    """Where a credit of `amount` would land right now, and why. Takes no locks, writes nothing."""
    currency = _tenant_currency(session, tenant_id)
    if amount.currency != currency:
        raise CurrencyMismatch(currency, amount.currency, "credit")
    draft = _latest_draft(session, tenant_id, lock=False)
    if draft is None:
        return CreditLanding("balance", None, None, Money.zero(currency), amount,
                             f"{tenant_id} has no draft invoice, so {amount} waits on the "
                             "credit balance and the next invoice generated consumes it.")
    applied, to_balance = apply_credit(Money.from_minor_units(draft.total_minor, currency), amount)
    explanation = (f"{applied} reduces the draft invoice for {draft.period_label}"
                   f" (total {Money.from_minor_units(draft.total_minor, currency)}).")
    if to_balance:
        explanation += (f" The invoice cannot go below zero, so {to_balance} stays on the "
                        "credit balance.")
    return CreditLanding("invoice", draft.invoice_id, draft.period_label, applied, to_balance,
                         explanation)


def credit_balance(session: Session, tenant_id: str) -> Money:
    """The tenant's current credit balance (the last ledger entry's running balance)."""
    currency = _tenant_currency(session, tenant_id)
    balance_minor = session.execute(text("""
        SELECT balance_after_minor FROM credit_ledger WHERE tenant_id = :tenant_id
        ORDER BY entry_id DESC LIMIT 1
    """), {"tenant_id": tenant_id}).scalar()
    return Money.from_minor_units(balance_minor or 0, currency)


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
    if alone:
        lock_giver(session, actor)
    currency = _lock_tenant(session, tenant_id)
    if amount.currency != currency:
        raise CurrencyMismatch(currency, amount.currency, "credit")
    invoice = _lock_invoice_for_credit(session, tenant_id, invoice_id)
    if invoice is None:
        raise NotFound("invoice", f"{invoice_id} of tenant {tenant_id}")
    total = Money.from_minor_units(invoice.total_minor, currency)
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
    number = next_document_number(session, "CN")
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


def _apply_to_invoice(session: Session, tenant_id: str, invoice: _OpenInvoice, applied: Money,
                      credit_id: int, reason: str, actor: Actor) -> None:
    currency = applied.currency
    before_total = Money.from_minor_units(invoice.total_minor, currency)
    after_total = before_total - applied
    after_credit = Money.from_minor_units(invoice.credit_minor, currency) + applied
    session.execute(text("""
        INSERT INTO invoice_lines (tenant_id, invoice_id, line_no, kind, description,
                                   amount_minor, exact_amount, explanation)
        SELECT :tenant_id, :invoice_id, coalesce(max(line_no), 0) + 1, 'credit', :description,
               :amount_minor, :exact_amount, :explanation
        FROM invoice_lines WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice.invoice_id,
           "description": f"Service credit: {reason}",
           "amount_minor": (-applied).to_minor_units(), "exact_amount": (-applied).amount,
           "explanation": f"service credit #{credit_id}: {applied} off {before_total} "
                          f"-> {after_total}"})
    session.execute(text("""
        UPDATE invoices SET credit_minor = :credit_minor, total_minor = :total_minor
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice.invoice_id,
           "credit_minor": after_credit.to_minor_units(),
           "total_minor": after_total.to_minor_units()})
    record_audit(session, AuditRecord(
        actor, "invoice.credited", "invoice", str(invoice.invoice_id), tenant_id,
        before={"credit_minor": invoice.credit_minor, "total_minor": invoice.total_minor,
                "currency": currency},
        after={"credit_minor": after_credit.to_minor_units(),
               "total_minor": after_total.to_minor_units(), "currency": currency,
               "credit_id": credit_id}))


def _add_to_balance(session: Session, tenant_id: str, credit_id: int, amount: Money,
                    actor: Actor) -> None:
    before = credit_balance(session, tenant_id)
    after = before + amount
    session.execute(text("""
        INSERT INTO credit_ledger (tenant_id, entry_kind, amount_minor, balance_after_minor,
                                   currency, credit_id, actor)
        VALUES (:tenant_id, 'credit_added', :amount_minor, :balance_after_minor, :currency,
                :credit_id, :actor)
    """), {"tenant_id": tenant_id, "amount_minor": amount.to_minor_units(),
           "balance_after_minor": after.to_minor_units(), "currency": amount.currency,
           "credit_id": credit_id, "actor": actor.user_id})
    record_audit(session, AuditRecord(
        actor, "credit_balance.added", "credit", str(credit_id), tenant_id,
        before={"balance_minor": before.to_minor_units(), "currency": amount.currency},
        after={"balance_minor": after.to_minor_units(), "currency": amount.currency}))


def _lock_tenant(session: Session, tenant_id: str) -> str:
    currency = session.execute(text(
        "SELECT currency FROM tenants WHERE tenant_id = :tenant_id FOR NO KEY UPDATE"
    ), {"tenant_id": tenant_id}).scalar()
    if currency is None:
        raise NotFound("tenant", tenant_id)
    return currency


def _tenant_currency(session: Session, tenant_id: str) -> str:
    currency = session.execute(text(
        "SELECT currency FROM tenants WHERE tenant_id = :tenant_id"), {"tenant_id": tenant_id}
    ).scalar()
    if currency is None:
        raise NotFound("tenant", tenant_id)
    return currency


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


def _check_same_credit_note(key: str, earlier: _EarlierNote, invoice: _OpenInvoice,
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


_OPEN_INVOICE_COLUMNS = """
    invoice_id, coalesce(number, '#' || invoice_id) AS label, status, period_label,
    credit_minor, total_minor
"""


def _lock_invoice_for_credit(session: Session, tenant_id: str,
                             invoice_id: int) -> _OpenInvoice | None:
    row = session.execute(text(f"""
        SELECT {_OPEN_INVOICE_COLUMNS} FROM invoices
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id FOR UPDATE
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id}).first()
    return _OpenInvoice(*row) if row else None


def _latest_draft(session: Session, tenant_id: str, lock: bool) -> _OpenInvoice | None:
    row = session.execute(text(f"""
        SELECT {_OPEN_INVOICE_COLUMNS} FROM invoices
        WHERE tenant_id = :tenant_id AND status = 'draft'
        ORDER BY period_start DESC LIMIT 1 {"FOR UPDATE" if lock else ""}
    """), {"tenant_id": tenant_id}).first()
    return _OpenInvoice(*row) if row else None
