"""Reading the credit forms, and saying in a sentence what a credit or credit note did.

A service credit or credit note is typed as text; it is read into a request
(amount parsed for the tenant's currency, more than zero and, for a credit note,
at most what is left to credit on the invoice; reason required) before anything
is shown for confirmation. Every field is checked at once and each problem is
named by its field (`ledgerline_ui.forms.form_errors`), and nothing is written.
The outcome sentences name the invoice and the amounts, so
support can tell the customer exactly where the money went, or that it waits
for a second finance user.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing_core.errors import InvalidInput
from billing_core.money import Money, format_money
from billing_core.money_text import parse_money
from db.credit_requests import CreditRequestState
from db.credits import CreditNoteOutcome, CreditOutcome
from ledgerline_ui.forms.form_errors import read_fields


@dataclass(frozen=True, slots=True)
class CreditRequest:
    """A reviewed, not yet issued, service credit or credit note."""

    tenant_id: str
    amount: Money
    reason: str
    invoice_id: int | None = None
    """The invoice a credit note corrects (None for a service credit)."""


def read_credit_request(tenant_id: str, currency: str, amount_text: str, reason: str,
                        invoice_id: int | None = None, *,
                        at_most: Money | None = None) -> CreditRequest:
    """Parse the typed amount (more than zero, and at most `at_most`: what is left to credit
    on a credit note's invoice) and require a reason; FieldsRefused names every field that
    is wrong."""
    fields = read_fields({"amount": lambda: _credit_amount(amount_text, currency, at_most),
                          "reason": lambda: _reason(reason)})
    return CreditRequest(tenant_id, fields["amount"], fields["reason"], invoice_id)


def _credit_amount(text: str, currency: str, at_most: Money | None) -> Money:
    # Negative and zero break the same rule, so they read the same ("-5" once said "zero
    # or more", then "0" said "more than zero").
    amount = parse_money(text, currency, "amount", allow_negative=True)
    if amount.is_zero or amount.is_negative:
        raise InvalidInput("amount", f"must be more than zero, not {text.strip()!r}")
    if at_most is not None and amount > at_most:
        raise InvalidInput("amount", f"{format_money(amount)} is more than the "
                                     f"{format_money(at_most)} left to credit on this invoice")
    return amount


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput("reason", "is empty; say why the tenant is credited")
    return reason.strip()


def describe_credit_outcome(outcome: CreditOutcome, invoice_name: str | None) -> str:
    """"Credit #7 issued. $200.00 came off draft 2024-11." (+ what went to the balance);
    `invoice_name` as `ledgerline_ui.invoices.invoice_names` names the draft."""
    first = "was already issued; nothing new was written" if not outcome.created else "issued"
    parts = [f"Credit #{outcome.credit_id} {first}."]
    if outcome.applied:
        parts.append(f"{outcome.applied} came off {invoice_name}.")
    if outcome.to_balance:
        parts.append(f"{outcome.to_balance} waits on the credit balance for the next invoice.")
    return " ".join(parts)


def describe_credit_note_outcome(outcome: CreditNoteOutcome, invoice_label: str) -> str:
    """"Credit note CN-2026-000001 for $100.00 against INV-...; $900.00 can still be credited."."""
    first = "was already issued; nothing new was written" if not outcome.created else "issued"
    return (f"Credit note {outcome.number} {first}: {outcome.amount} against invoice "
            f"{invoice_label}. {outcome.creditable_left} can still be credited on it.")


def describe_credit_note_request(requested: CreditRequestState) -> str:
    """"Credit note request #12 for $1,500.00 against INV-... sent: ..." (or already sent)."""
    first = ("sent: it waits for a second finance user's approval" if requested.created
             else "was already sent; nothing new was written")
    return (f"Credit note request {requested.label} for {requested.amount} against invoice "
            f"{requested.invoice_label} {first}.")
