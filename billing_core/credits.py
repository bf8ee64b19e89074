"""Credits: money the company owes a tenant, and where it may land.

A service credit (an outage, a goodwill gesture) belongs to one tenant and
carries a reason, the actor who granted it and an idempotency key, so that
submitting the same credit twice grants it once (SPEC 5; the database keeps
the key unique, ``ServiceCredit`` only checks the values).

Where it lands is a policy, decided here from the facts the database loads
(``land_credit``). Only an open (draft) invoice may receive it: finalized,
paid and void invoices are records of what was billed and are never changed,
so aiming a credit at one is refused with an error naming the invoice and its
status. A credit aimed at no invoice lands on the open invoice of the latest
period. With no open invoice the credit waits on the tenant's credit balance
and is consumed by the next invoice. A credit never makes an invoice
negative; what does not fit stays on the balance.

Example (SPEC 5): a $200.00 outage credit for a tenant whose October invoice
is paid and whose November invoice is a draft reduces November by $200.00;
October is untouched.

A finalized invoice is corrected instead by a credit note that references
it, and the notes against one invoice never add up to more than its total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from billing_core.errors import CreditNoteTooLarge, CurrencyMismatch, InvalidInput, InvoiceNotOpen
from billing_core.money import Money
from billing_core.states import InvoiceStatus, is_open, to_status


class CreditTarget(StrEnum):
    INVOICE = "invoice"
    BALANCE = "balance"


def _require_money(value: object, field: str) -> Money:
    if type(value) is not Money:
        raise TypeError(f"{field}: expected Money, got {type(value).__name__}")
    return value


def _check_given(given: ServiceCredit | CreditNote, what: str) -> None:
    """A credit or credit note: a positive amount in whole minor units, and no empty text."""
    amount = _require_money(given.amount, "amount")
    if amount.is_negative or amount.is_zero:
        raise InvalidInput("amount", f"{amount} is not {what}; it must be more than zero")
    if not amount.is_rounded:
        raise InvalidInput("amount", f"{amount.amount} is finer than the minor unit")
    for field in ("tenant_id", "reason", "actor", "idempotency_key"):
        value = getattr(given, field)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(field, "is empty")


@dataclass(frozen=True, slots=True)
class ServiceCredit:
    """``ServiceCredit(tenant_id, amount, reason, actor, idempotency_key)``: a positive credit."""

    tenant_id: str
    amount: Money
    reason: str
    actor: str
    idempotency_key: str

    def __post_init__(self) -> None:
        _check_given(self, "a credit")


@dataclass(frozen=True, slots=True)
class CreditNote:
    """``CreditNote(tenant_id, invoice_id, amount, reason, actor, idempotency_key)``: a positive
    correction of one invoice. Whether it fits is `check_credit_note`'s question."""

    tenant_id: str
    invoice_id: int
    amount: Money
    reason: str
    actor: str
    idempotency_key: str

    def __post_init__(self) -> None:
        if type(self.invoice_id) is not int:
            raise TypeError(f"invoice_id: expected int, got {type(self.invoice_id).__name__}")
        _check_given(self, "a credit note")


def credit_target(open_invoice_status: InvoiceStatus | str | None) -> CreditTarget:
    """Where a new credit goes, given the status of the tenant's current invoice (or None).

    ``credit_target("draft") == "invoice"``; ``credit_target(None) == "balance"``;
    a finalized, paid or void invoice is not open, so the credit waits on the
    balance (SPEC 5).
    """
    if open_invoice_status is not None and is_open(open_invoice_status):
        return CreditTarget.INVOICE
    return CreditTarget.BALANCE


def check_credit_target(invoice: str, status: InvoiceStatus | str) -> None:
    """Refuse to change invoice ``invoice`` unless it is a draft: raises InvoiceNotOpen.

    SPEC 5: ``check_credit_target("INV-2024-000010", "paid")`` raises
    "Invoice INV-2024-000010 is paid; only a draft invoice can be changed. ..."
    """
    if not is_open(status):
        raise InvoiceNotOpen(invoice, status)


def apply_credit(total: Money, credit: Money) -> tuple[Money, Money]:
    """``apply_credit(total, credit) -> (applied, left_on_balance)``; never below zero.

    SPEC 5: ``apply_credit($1,000.00, $200.00)`` is ($200.00, $0.00);
    ``apply_credit($150.00, $200.00)`` is ($150.00, $50.00 left on the balance).
    """
    _require_money(total, "total")
    _require_money(credit, "credit")
    if credit.currency != total.currency:
        raise CurrencyMismatch(total.currency, credit.currency, "apply a credit in")
    if credit.is_negative:
        raise InvalidInput("credit", f"{credit} is negative")
    room = total if not total.is_negative else total * 0
    applied = credit if credit <= room else room
    return applied, credit - applied


@dataclass(frozen=True, slots=True)
class CreditableInvoice:
    """What the credit rules read of one invoice: its id, its label for messages (number, or
    "#<id>"), its status, the period it bills, and its total."""

    invoice_id: int
    label: str
    status: InvoiceStatus | str
    period_start: date
    period_label: str
    total: Money


@dataclass(frozen=True, slots=True)
class CreditLanding:
    """Where a service credit lands: ``applied`` off ``invoice`` (None: no invoice), and
    ``to_balance`` on the tenant's credit balance. ``explanation`` says why, in words."""

    tenant_id: str
    invoice: CreditableInvoice | None
    applied: Money
    to_balance: Money

    @property
    def target(self) -> CreditTarget:
        return credit_target(self.invoice.status if self.invoice is not None else None)

    @property
    def invoice_id(self) -> int | None:
        return self.invoice.invoice_id if self.invoice is not None else None

    @property
    def invoice_period(self) -> str | None:
        return self.invoice.period_label if self.invoice is not None else None

    @property
    def explanation(self) -> str:
        if self.invoice is None:
            return (f"{self.tenant_id} has no draft invoice, so {self.to_balance} waits on the "
                    "credit balance and the next invoice generated consumes it.")
        explanation = (f"{self.applied} reduces the draft invoice for {self.invoice.period_label}"
                       f" (total {self.invoice.total}).")
        if self.to_balance:
            explanation += (f" The invoice cannot go below zero, so {self.to_balance} stays on "
                            "the credit balance.")
        return explanation


def land_credit(tenant_id: str, amount: Money, invoices: Iterable[CreditableInvoice] = (), *,
                aimed_at: CreditableInvoice | None = None) -> CreditLanding:
    """Where a service credit of ``amount`` lands, given the tenant's invoices as loaded.

    Aimed at an invoice (``aimed_at``): that one, which must be open (InvoiceNotOpen
    otherwise). Aimed at none: the open invoice of the latest period among ``invoices``,
    else the credit balance. On an invoice, as much as its total can take
    (``apply_credit``); the rest waits on the balance.

    SPEC 5: $200.00 for a tenant whose October invoice is paid and whose November draft is
    $1,000.00 lands on November: $200.00 applied, $0.00 to the balance; $1,200.00 would
    apply $1,000.00 and leave $200.00 on the balance.
    """
    if aimed_at is not None:
        check_credit_target(aimed_at.label, aimed_at.status)
        invoice: CreditableInvoice | None = aimed_at
    else:
        open_invoices = [candidate for candidate in invoices if is_open(candidate.status)]
        invoice = max(open_invoices, key=lambda candidate: candidate.period_start, default=None)
    if invoice is None:
        amount = _require_money(amount, "amount")
        return CreditLanding(tenant_id, None, Money.zero(amount.currency), amount)
    applied, to_balance = apply_credit(invoice.total, amount)
    return CreditLanding(tenant_id, invoice, applied, to_balance)


CREDIT_NOTE_STATUSES: frozenset[InvoiceStatus] = frozenset(
    {InvoiceStatus.FINALIZED, InvoiceStatus.PAID}
)
"""The statuses a credit note may correct: records of what was billed, still standing."""


def check_credit_note_target(invoice: str, status: InvoiceStatus | str) -> None:
    """Refuse a credit note on invoice ``invoice`` unless it is finalized or paid: InvalidInput.

    ``check_credit_note_target("#42", "draft")`` raises "invoice: Invoice #42 is draft; a
    credit note corrects only a finalized or paid invoice" (a draft is changed directly, a
    void invoice is no longer owed).
    """
    here = to_status(status)
    if here not in CREDIT_NOTE_STATUSES:
        raise InvalidInput("invoice", f"Invoice {invoice} is {here}; a credit note corrects only "
                                      "a finalized or paid invoice")


def check_credit_note(
    invoice: str, invoice_total: Money, earlier_notes_total: Money, amount: Money
) -> Money:
    """Allow a credit note of ``amount`` on a finalized invoice; return what stays creditable.

    Refuses (CreditNoteTooLarge) a note larger than ``invoice_total -
    earlier_notes_total``. Example: on a $1,000.00 invoice with $700.00 already
    credited, a $300.00 note is allowed (leaves $0.00); $300.01 is refused.
    """
    for value, field in (
        (invoice_total, "invoice_total"),
        (earlier_notes_total, "earlier_notes_total"),
        (amount, "amount"),
    ):
        _require_money(value, field)
        if value.currency != invoice_total.currency:
            raise CurrencyMismatch(invoice_total.currency, value.currency, "credit")
    if amount.is_negative or amount.is_zero:
        raise InvalidInput("amount", f"{amount} is not a credit note; it must be more than zero")
    available = invoice_total - earlier_notes_total
    if amount > available:
        raise CreditNoteTooLarge(invoice, amount, available)
    return available - amount
