"""The moves a finance user can make on an invoice, and why a move is not offered.

The screen never decides on its own which moves are legal: it asks
`billing_core.states` (the one table of allowed moves). Each action here is a
target status with its button label, a confirmation sentence and the database
operation that makes the move. For a move the table forbids, the reason is the
core's own `IllegalTransition` message ("Invoice INV-2024-000001 cannot move
from paid to void"), plus a hint of what to do instead where there is one.

Each action names the permission it needs (`billing_core.access`); the screen
offers only the actions the signed-in role has, and the operation checks again.

The operation still checks the state under a row lock; if the invoice changed
in the meantime (another user finalized it first), the operation's error is
what the user sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission
from billing_core.drafts import DraftChanged
from billing_core.errors import IllegalTransition
from billing_core.states import InvoiceStatus, can_move
from db.reads.invoices import InvoiceSummary
from db.transitions import InvoiceState, finalize_invoice, record_payment, void_invoice
from ledgerline_ui.invoices.invoice_names import invoice_name

Operation = Callable[..., InvoiceState]


@dataclass(frozen=True, slots=True)
class InvoiceAction:
    target: InvoiceStatus
    label: str
    icon: str
    confirm: str
    """What confirming does, in one sentence (shown before the confirm button)."""
    done: str
    """What happened, with {label} for the invoice's name after the move (its number, or
    "draft 2024-11": `ledgerline_ui.invoices.invoice_names`)."""
    operation: Operation
    permission: Permission


ACTIONS: tuple[InvoiceAction, ...] = (
    InvoiceAction(
        InvoiceStatus.FINALIZED, "Finalize", ":material/lock:",
        "Finalizing assigns the next invoice number of the year and freezes the lines and "
        "the total; after this the invoice can only be paid, voided or corrected with a "
        "credit note.",
        "Invoice {label} is finalized.", finalize_invoice, Permission.FINALIZE_INVOICES),
    InvoiceAction(
        InvoiceStatus.PAID, "Record payment", ":material/payments:",
        "Recording the payment marks the invoice paid as of now. A paid invoice cannot be "
        "voided.",
        "Payment recorded: invoice {label} is paid.", record_payment,
        Permission.RECORD_PAYMENTS),
    InvoiceAction(
        InvoiceStatus.VOID, "Void", ":material/block:",
        "Voiding cancels the invoice for good (it keeps its number, if any) and frees its "
        "period for a new invoice.",
        "Invoice {label} is void.", void_invoice, Permission.VOID_INVOICES),
)

_HINTS = {
    InvoiceStatus.DRAFT: "Finalize it first; only a finalized invoice is paid.",
    InvoiceStatus.PAID: "To correct a paid invoice, issue a credit note.",
    InvoiceStatus.VOID: "A void invoice stays void; generate a new invoice for the period.",
    InvoiceStatus.FINALIZED: "A finalized invoice is frozen; correct it with a credit note.",
}


def refusal(invoice: InvoiceSummary, action: InvoiceAction) -> str | None:
    """Why `action` is not possible from the invoice's status, or None when it is."""
    if can_move(invoice.status, action.target):
        return None
    reason = str(IllegalTransition(invoice_name(invoice), invoice.status, action.target))
    hint = _HINTS.get(InvoiceStatus(invoice.status))
    return f"{reason}. {hint}" if hint else f"{reason}."


def perform(session: Session, invoice: InvoiceSummary, action: InvoiceAction,
            actor: Actor, reviewed_version: int | None = None) -> InvoiceState:
    """Make the move in the caller's transaction (the operation locks and re-checks).
    Finalizing names the draft version the person reviewed (`ledgerline_ui.invoices.draft_version`).

    A refusal names the invoice as the screen does: the database names an invoice without a
    number by its id ("Invoice #12 changed since you opened it"), which the person never saw;
    one that got its number meanwhile keeps it ("Invoice INV-2024-000012 is already
    finalized")."""
    by_id = f"#{invoice.invoice_id}"
    try:
        if action.target is InvoiceStatus.FINALIZED:
            return finalize_invoice(session, invoice.tenant_id, invoice.invoice_id, actor=actor,
                                    reviewed_version=reviewed_version)
        return action.operation(session, invoice.tenant_id, invoice.invoice_id, actor=actor)
    except DraftChanged as changed:
        if changed.invoice != by_id:
            raise
        raise DraftChanged(invoice_name(invoice), changed.reviewed_total,
                           changed.current_total) from None
    except IllegalTransition as refused:
        if refused.invoice != by_id:
            raise
        now = replace(invoice, status=refused.from_status)  # it may have been voided meanwhile
        raise IllegalTransition(invoice_name(now), refused.from_status,
                                refused.to_status) from None
