"""Invoice states: where an invoice is in its life, and the only ways it may move.

An invoice is born a ``draft`` and is the only kind of invoice that changes.
Finalizing freezes it (it gets its number, its lines and totals are fixed);
a finalized invoice is later ``paid``; a draft or a finalized invoice may be
``void``-ed. Nothing else: a paid invoice is never voided, a void one never
revived, a finalized one never reopened (SPEC 8). Mistakes on a finalized
invoice are corrected with a credit note, never by editing it.

The legal moves are declared once, in ``ALLOWED_MOVES`` (a table of
``billing_core.state_tables``), and checked once, in
``check_transition``. Code elsewhere asks this table instead of writing its
own ``if status == ...`` chain, so adding or removing a move is a one-line
change that every screen and every database operation obeys.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from billing_core.errors import IllegalTransition
from billing_core.state_tables import allowed_moves, read_state


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    FINALIZED = "finalized"
    PAID = "paid"
    VOID = "void"


INVOICE_STATUS_LABELS: Mapping[InvoiceStatus, str] = MappingProxyType({
    InvoiceStatus.DRAFT: "Draft", InvoiceStatus.FINALIZED: "Finalized",
    InvoiceStatus.PAID: "Paid", InvoiceStatus.VOID: "Void",
})
"""How the screens name a status (filters, badges, the month's overview)."""


ALLOWED_MOVES: frozenset[tuple[InvoiceStatus, InvoiceStatus]] = allowed_moves({
    InvoiceStatus.DRAFT: (InvoiceStatus.FINALIZED, InvoiceStatus.VOID),
    InvoiceStatus.FINALIZED: (InvoiceStatus.PAID, InvoiceStatus.VOID),
})
"""SPEC 8: draft -> finalized -> paid, draft -> void, finalized -> void. Nothing else."""

OPEN_STATUSES: frozenset[InvoiceStatus] = frozenset({InvoiceStatus.DRAFT})
"""The statuses whose lines, totals and credits may still change."""


def to_status(value: InvoiceStatus | str, field: str = "status") -> InvoiceStatus:
    """``"draft"`` -> ``InvoiceStatus.DRAFT``; an unknown word is InvalidInput naming ``field``."""
    return read_state(InvoiceStatus, value, field, "an invoice status")


def can_move(current: InvoiceStatus | str, target: InvoiceStatus | str) -> bool:
    """Whether the table allows ``current -> target`` (for enabling buttons, not for guarding)."""
    return (to_status(current), to_status(target)) in ALLOWED_MOVES


def check_transition(
    invoice: str, current: InvoiceStatus | str, target: InvoiceStatus | str
) -> InvoiceStatus:
    """Return ``target`` if ``current -> target`` is allowed, else raise IllegalTransition.

    ``check_transition(invoice, current, target)``. SPEC 8:
    ``check_transition("INV-1", "draft", "finalized")`` is fine;
    ``check_transition("INV-1", "paid", "void")`` raises "Invoice INV-1 cannot
    move from paid to void"; finalizing twice raises "Invoice INV-1 is already
    finalized".
    """
    here = to_status(current, "current")
    there = to_status(target, "target")
    if (here, there) not in ALLOWED_MOVES:
        raise IllegalTransition(invoice, here, there)
    return there


def is_open(status: InvoiceStatus | str) -> bool:
    """Only a draft changes: ``is_open("draft")`` is True, finalized/paid/void are False."""
    return to_status(status) in OPEN_STATUSES
