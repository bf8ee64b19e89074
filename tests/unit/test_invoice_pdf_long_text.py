"""A long credit reason on a final invoice: the PDF is made, and holds the whole reason."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from db.reads.invoices import InvoiceDetail, InvoiceSummary, LineView
from ledgerline_ui.invoices.invoice_pdf import invoice_pdf
from tests.helpers import usd

NOW = datetime(2024, 12, 2, 9, 30, tzinfo=UTC)


def finalized_with_credit(reason: str) -> InvoiceDetail:
    summary = InvoiceSummary(
        "ent-test", "Test", 7, "INV-2024-000007", "2024-12", date(2024, 12, 1), date(2025, 1, 1),
        "finalized", usd("1000.00"), usd("0.00"), usd("200.00"), usd("800.00"), usd("0.00"),
        NOW, NOW, None, None)
    lines = (LineView(1, "recurring", "Compute tier", usd("1000.00"), Decimal("1000"),
                      "30 of 30 days x $1,000.00"),
             LineView(2, "credit", f"Service credit: {reason}", usd("-200.00"), Decimal("-200"),
                      "credit of $200.00 taken"))
    return InvoiceDetail(summary, lines, (), (), usd("800.00"), ())


def drawn_text(document: bytes) -> str:
    """Every string the PDF's (zlib-compressed) content streams draw, run together."""
    found = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", document, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        found += [m.replace(b"\\(", b"(").replace(b"\\)", b")").replace(b"\\\\", b"\\")
                  .decode("latin-1") for m in re.findall(rb"\((.*?)(?<!\\)\) ?Tj", content, re.S)]
    return "".join(found)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("reason", [
    pytest.param(" ".join(f"outage{n}" for n in range(250)), id="2000-characters-of-words"),
    pytest.param("x" * 2000, id="2000-characters-without-a-space"),
])
def test_a_2000_character_reason_makes_a_pdf_that_holds_all_of_it(reason):
    assert len(reason) >= 2000
    document = invoice_pdf(finalized_with_credit(reason))

    assert document.startswith(b"%PDF-") and document.rstrip().endswith(b"%%EOF")
    drawn = _squeezed(drawn_text(document))
    assert _squeezed(f"Note 1: Credit: Service credit: {reason}") in drawn
    assert "Total due" in drawn_text(document)


def test_a_short_reason_stays_in_its_table_cell_with_no_note():
    document = invoice_pdf(finalized_with_credit("Outage 2024-11-12, 4 hours"))
    drawn = drawn_text(document)
    assert _squeezed("Credit: Service credit: Outage 2024-11-12, 4 hours") in _squeezed(drawn)
    assert "Note 1" not in drawn
