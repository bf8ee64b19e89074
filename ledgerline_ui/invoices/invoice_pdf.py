"""A finalized invoice as a PDF document, built with fpdf2 (pure Python, no system fonts).

Only a finalized or paid invoice is a final invoice: it has its number and its
lines and total are frozen by the database. A draft may still change (credits,
regeneration) and has no number, so exporting it "as the invoice" would hand a
customer a document that can stop being true; a void invoice is not payable.
`export_refusal` says why for those, and `invoice_pdf` refuses them too.

The document carries the same explanation as the screen: each line with the
sentence that shows its arithmetic, then subtotal, discounts, credit and total,
so a customer can check every cent. Credit notes issued against it are listed
under the total with the total after them (the invoice's own total is frozen;
each note also has a PDF of its own, `ledgerline_ui.invoices.credit_note_pdf`).
fpdf2's core fonts are Latin-1, so text outside it (a tenant name in another
script) is shown with '?' rather than failing the export.

A table row must fit on one page (fpdf2 refuses a taller one), and a line's
text holds what people typed: a credit reason of 2,000 characters once made
every export of its invoice fail. So a cell shows at most `CELL_LIMIT`
characters and points to a numbered note under the table, where the whole text
runs on over as many lines and pages as it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing_core.money import ROUNDING_MODE_LABEL
from billing_core.states import InvoiceStatus
from db.reads.invoices import InvoiceDetail, InvoiceSummary
from ledgerline_ui.invoices.invoice_names import invoice_name
from ledgerline_ui.invoices.invoice_trace import invoice_trace
from ledgerline_ui.tables.formatting import iso_date, money, tenant_label

if TYPE_CHECKING:
    from fpdf import FPDF

EXPORTABLE = frozenset({InvoiceStatus.FINALIZED, InvoiceStatus.PAID})
CELL_LIMIT = 300
"""Characters a table cell shows; at this width 300 take about 15 lines, a quarter page."""
_WHY_NOT = {
    # After the invoice's name ("draft 2024-11", "void draft 2024-11" or its number), which
    # already says draft or void for an invoice without a number.
    InvoiceStatus.DRAFT: "has no invoice number yet and its lines may still change, so it "
                         "cannot be exported as a final invoice. Finalize it first.",
    InvoiceStatus.VOID: "is cancelled (void) and not payable, so it is not exported as an "
                        "invoice.",
}


class NotExportable(ValueError):
    """The invoice is not final (draft or void); the message says why."""


def export_refusal(invoice: InvoiceSummary) -> str | None:
    """Why the invoice cannot be exported as a PDF, or None when it can."""
    status = InvoiceStatus(invoice.status)
    if status in EXPORTABLE:
        return None
    return f"Invoice {invoice_name(invoice)} {_WHY_NOT[status]}"


def pdf_file_name(invoice: InvoiceSummary) -> str:
    return f"{invoice_name(invoice)}_{invoice.tenant_id}.pdf"


def invoice_pdf(detail: InvoiceDetail) -> bytes:
    """The invoice as PDF bytes; NotExportable for a draft or void invoice."""
    invoice = detail.invoice
    refused = export_refusal(invoice)
    if refused:
        raise NotExportable(refused)
    trace = invoice_trace(detail)
    # fpdf2 is imported when a PDF is asked for: at import time it cost every render of the
    # Invoice screen about 0.4 s, and most renders never build one.
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_title(latin1_text(f"Invoice {invoice_name(invoice)}"))
    pdf.set_author("Ledgerline")
    pdf.set_creation_date(invoice.finalized_at)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, latin1_text(f"Invoice {invoice_name(invoice)}"), new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    facts = [
        ("Bill to", tenant_label(invoice.tenant_id, invoice.tenant_name)),
        ("Billing period", f"{invoice.period_label} "
                           f"({iso_date(invoice.period_start)} to {iso_date(invoice.period_end)}, "
                           "end exclusive)"),
        ("Issued", iso_date(invoice.finalized_at)),
        ("Status", f"paid on {iso_date(invoice.paid_at)}" if invoice.paid_at else invoice.status),
        ("Currency", invoice.total.currency),
    ]
    write_facts(pdf, facts)

    pdf.set_font("Helvetica", "", 9)
    notes: list[str] = []
    with pdf.table(col_widths=(8, 42, 100, 30), text_align=("RIGHT", "LEFT", "LEFT", "RIGHT"),
                   line_height=5, first_row_as_headings=True) as table:
        table.row(["#", "Item", "How it is calculated", "Amount"])
        for row in trace.rows:
            table.row([str(row.step), _cell(f"{row.kind}: {row.description}", notes),
                       _cell(row.calculation, notes), latin1_text(row.amount)])
    for number, note in enumerate(notes, start=1):
        pdf.ln(2)
        pdf.multi_cell(0, 4, f"Note {number}: {note}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)

    totals = [("Subtotal", money(invoice.subtotal)),
              ("Discounts", money(-invoice.discount)),
              ("Credit applied", money(-invoice.credit)),
              ("Total due" if invoice.status == InvoiceStatus.FINALIZED else "Total",
               money(invoice.total))]
    for label, value in totals:
        bold = label.startswith("Total")
        pdf.set_font("Helvetica", "B" if bold else "", 11 if bold else 10)
        pdf.cell(pdf.epw - 35, 6, latin1_text(label), align="R")
        pdf.cell(35, 6, latin1_text(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if detail.credit_notes:
        _credit_notes_section(pdf, detail)
    pdf.ln(4)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, latin1_text(
        f"The lines add up to the total: {trace.sum_text}. Each amount is rounded once to the "
        f"minor unit ({ROUNDING_MODE_LABEL}); percentage discounts apply first, then fixed "
        "amounts, then credits."))
    return bytes(pdf.output())


def _credit_notes_section(pdf: FPDF, detail: InvoiceDetail) -> None:
    """The credit notes issued against the invoice, and what is left once they are deducted:
    the invoice's own total is frozen, so the customer reads the correction here."""
    from fpdf.enums import XPos, YPos

    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Credit notes", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    reasons: list[str] = []
    with pdf.table(col_widths=(40, 30, 80, 30), text_align=("LEFT", "LEFT", "LEFT", "RIGHT"),
                   line_height=5, first_row_as_headings=True) as table:
        table.row(["Credit note", "Issued", "Reason", "Amount"])
        for note in detail.credit_notes:
            table.row([latin1_text(note.number), iso_date(note.created_at)[:10],
                       _cell(note.reason, reasons), latin1_text(money(-note.amount))])
    for number, reason in enumerate(reasons, start=1):
        pdf.ln(2)
        pdf.multi_cell(0, 4, f"Note {number}: {reason}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(pdf.epw - 35, 7, "Total after credit notes", align="R")
    pdf.cell(35, 7, latin1_text(money(detail.creditable_left)), align="R",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def write_facts(pdf: FPDF, facts: list[tuple[str, str]]) -> None:
    """The document's head: a bold label and its value per line, then a gap."""
    from fpdf.enums import XPos, YPos

    for label, value in facts:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(35, 6, latin1_text(label))
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 6, latin1_text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _cell(value: str, notes: list[str]) -> str:
    """The cell's text, or its start and a pointer to the note `value` is added as."""
    text = latin1_text(value)
    if len(text) <= CELL_LIMIT:
        return text
    notes.append(text)
    return f"{text[:CELL_LIMIT - 40]}... (in full in note {len(notes)} below)"


def latin1_text(value: str) -> str:
    """Latin-1 only (fpdf2's core fonts); anything else becomes '?'."""
    return value.encode("latin-1", "replace").decode("latin-1")
