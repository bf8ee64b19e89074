"""An invoice's life as a timeline: created, finalized, paid or voided, and its credit notes.

Finance answers "who finalized this, and when?" from the invoice itself, as
Stripe's invoice page does, without searching the audit log. The moments come
from the invoice's own timestamps; who made each move comes from the audit
row written in the same transaction (`invoice.generated`, `invoice.finalized`,
`invoice.paid`, `invoice.voided`, `credit_note.issued`; SPEC 10). A step not
reached yet is shown as waiting, so a draft reads "Finalized: not yet"; a void
invoice ends at Voided and never shows Paid.

Imports nothing from Streamlit, so it is tested as a plain function.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from billing_core.states import InvoiceStatus
from db.reads.audit import AuditView
from db.reads.invoices import InvoiceDetail
from ledgerline_ui.tables.formatting import money

_ACTIONS = {"Created": "invoice.generated", "Finalized": "invoice.finalized",
            "Paid": "invoice.paid", "Voided": "invoice.voided"}


@dataclass(frozen=True, slots=True)
class TimelineStep:
    event: str
    """"Created", "Finalized", "Paid", "Voided" or "Credit note CN-2026-000001"."""
    at: datetime | None
    """None while the step has not happened."""
    by: str | None
    """Who made the move (the audit row's actor), None when no audit row names it."""
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.at is not None


def invoice_timeline(detail: InvoiceDetail) -> list[TimelineStep]:
    """Created, Finalized and Paid (or Voided), then each credit note, in the order they happen."""
    invoice = detail.invoice
    moments = {"Created": invoice.created_at, "Finalized": invoice.finalized_at,
               "Paid": invoice.paid_at, "Voided": invoice.voided_at}
    if invoice.status == InvoiceStatus.VOID:
        events = ["Created", "Finalized", "Voided"] if invoice.finalized_at else [
            "Created", "Voided"]
    else:
        events = ["Created", "Finalized", "Paid"]
    steps = [TimelineStep(event, moments[event],
                          _first_actor(detail.audit, _ACTIONS[event]) if moments[event] else None)
             for event in events]
    notes = [TimelineStep(f"Credit note {note.number}", note.created_at, note.actor,
                          f"{money(note.amount)} credited")
             for note in detail.credit_notes]
    # Credit notes come after finalizing; among the done steps they sit in time order.
    done = sorted([s for s in steps if s.done] + notes, key=_when)
    return done + [s for s in steps if not s.done]


def _when(step: TimelineStep) -> datetime:
    if step.at is None:
        raise ValueError(f"{step.event} has not happened")
    return step.at


def _first_actor(audit: Iterable[AuditView], action: str) -> str | None:
    """The actor of the earliest audit row with `action` (the log reads newest first)."""
    matching = [entry for entry in audit if entry.action == action]
    return min(matching, key=lambda entry: entry.audit_id).actor if matching else None
