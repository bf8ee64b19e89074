"""The invoice as a hub (issue 16 B): its timeline from the audit log, its credit notes on its
PDF, and a PDF for each credit note."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from db.reads.audit import AuditView
from db.reads.credits import CreditNoteView
from db.reads.invoices import InvoiceDetail, InvoiceSummary
from ledgerline_ui.invoices.credit_note_pdf import credit_note_pdf
from ledgerline_ui.invoices.invoice_pdf import invoice_pdf
from ledgerline_ui.invoices.invoice_timeline import invoice_timeline
from tests.helpers import usd
from tests.unit.test_invoice_pdf_long_text import drawn_text

CREATED = datetime(2024, 12, 1, 2, 0, tzinfo=UTC)
FINALIZED = datetime(2024, 12, 2, 9, 30, tzinfo=UTC)
PAID = datetime(2024, 12, 20, 16, 0, tzinfo=UTC)
VOIDED = datetime(2024, 12, 3, 8, 0, tzinfo=UTC)


def _audit(audit_id: int, action: str, actor: str, at: datetime) -> AuditView:
    return AuditView(audit_id, at, actor, action, "ent-test", "invoice", "7", None, None)


def _note(number: str, amount: str, at: datetime, note_id: int = 1) -> CreditNoteView:
    return CreditNoteView(note_id, number, 7, usd(amount), "Billed for unused seats",
                          "finance2@demo", at)


def _detail(status: str, *, finalized: datetime | None = FINALIZED, paid: datetime | None = None,
            voided: datetime | None = None, notes: tuple[CreditNoteView, ...] = (),
            audit: tuple[AuditView, ...] = ()) -> InvoiceDetail:
    summary = InvoiceSummary(
        "ent-test", "Test Ltd", 7, "INV-2024-000007" if finalized else None, "2024-11",
        date(2024, 11, 1), date(2024, 12, 1), status, usd("1000.00"), usd("0.00"),
        usd("0.00"), usd("1000.00"), usd("0.00"), CREATED, finalized, paid, voided)
    left = usd("1000.00")
    for note in notes:
        left = left - note.amount
    return InvoiceDetail(summary, (), (), notes, left, audit)


def _steps(detail: InvoiceDetail) -> list[tuple[str, str, str | None]]:
    return [(s.event, s.at.isoformat() if s.at else "not yet", s.by)
            for s in invoice_timeline(detail)]


def test_a_paid_invoice_reads_created_finalized_credit_note_paid_with_who_did_each():
    audit = (_audit(30, "invoice.paid", "ana@demo", PAID),
             _audit(20, "invoice.finalized", "finance@demo", FINALIZED),
             _audit(11, "invoice.generated", "month-end", CREATED),
             _audit(10, "invoice.generated", "demo-data", CREATED))
    note = _note("CN-2024-000001", "100.00", datetime(2024, 12, 5, tzinfo=UTC))
    detail = _detail("paid", paid=PAID, notes=(note,), audit=audit)

    assert _steps(detail) == [
        ("Created", CREATED.isoformat(), "demo-data"),  # the earliest generation made it
        ("Finalized", FINALIZED.isoformat(), "finance@demo"),
        ("Credit note CN-2024-000001", note.created_at.isoformat(), "finance2@demo"),
        ("Paid", PAID.isoformat(), "ana@demo")]
    assert invoice_timeline(detail)[2].detail == "$100.00 credited"


def test_a_draft_shows_finalized_and_paid_as_not_yet():
    detail = _detail("draft", finalized=None,
                     audit=(_audit(1, "invoice.generated", "finance@demo", CREATED),))
    assert _steps(detail) == [("Created", CREATED.isoformat(), "finance@demo"),
                              ("Finalized", "not yet", None), ("Paid", "not yet", None)]


@pytest.mark.parametrize(("finalized", "events"), [
    pytest.param(FINALIZED, ["Created", "Finalized", "Voided"], id="finalized-then-voided"),
    pytest.param(None, ["Created", "Voided"], id="draft-voided"),
])
def test_a_void_invoice_ends_at_voided_and_never_shows_paid(finalized, events):
    detail = _detail("void", finalized=finalized, voided=VOIDED,
                     audit=(_audit(5, "invoice.voided", "finance2@demo", VOIDED),))
    steps = invoice_timeline(detail)
    assert [s.event for s in steps] == events
    assert (steps[-1].at, steps[-1].by) == (VOIDED, "finance2@demo")


def test_the_invoice_pdf_lists_its_credit_notes_and_the_total_after_them():
    notes = (_note("CN-2024-000001", "100.00", datetime(2024, 12, 5, tzinfo=UTC)),
             _note("CN-2024-000002", "250.00", datetime(2024, 12, 6, tzinfo=UTC), 2))
    drawn = drawn_text(invoice_pdf(_detail("finalized", notes=notes)))

    assert "Credit notes" in drawn
    assert "CN-2024-000001" in drawn and "-$100.00" in drawn
    assert "CN-2024-000002" in drawn and "-$250.00" in drawn
    assert re.search(r"Total after credit notes\s*\$650\.00", drawn)


def test_each_credit_note_has_a_pdf_naming_its_invoice_and_what_is_left():
    first = _note("CN-2024-000001", "100.00", datetime(2024, 12, 5, tzinfo=UTC))
    second = _note("CN-2024-000002", "250.00", datetime(2024, 12, 6, tzinfo=UTC), 2)
    detail = _detail("paid", paid=PAID, notes=(first, second))

    drawn = drawn_text(credit_note_pdf(detail, second))
    assert "Credit note CN-2024-000002" in drawn
    assert "invoice INV-2024-000007, period 2024-11" in drawn
    assert "Billed for unused seats" in drawn
    assert re.search(r"Earlier credit notes\s*-\$100\.00", drawn)
    assert re.search(r"This credit note CN-2024-000002\s*-\$250\.00", drawn)
    assert re.search(r"Invoice total after credit notes\s*\$650\.00", drawn)
    assert "CN-2024-000001" not in drawn  # the earlier note is counted, not named
