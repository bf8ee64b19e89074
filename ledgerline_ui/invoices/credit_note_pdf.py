"""A credit note as a PDF document of its own, for the customer's accounts payable.

A credit note corrects a finalized or paid invoice without changing it (SPEC 5),
so the customer needs a document that names the note, the invoice it credits,
the amount and the reason, and what the invoice comes to once every note up to
this one is deducted. Built with fpdf2's core fonts like the invoice
(`ledgerline_ui.invoices.invoice_pdf`), whose Latin-1 rule and long-text notes it shares.
"""

from __future__ import annotations

from billing_core.money import Money
from db.reads.credits import CreditNoteView
from db.reads.invoices import InvoiceDetail
from ledgerline_ui.invoices.invoice_names import invoice_name
from ledgerline_ui.invoices.invoice_pdf import latin1_text, write_facts
from ledgerline_ui.tables.formatting import iso_date, money, tenant_label


def credit_note_file_name(note: CreditNoteView, tenant_id: str) -> str:
    return f"{note.number}_{tenant_id}.pdf"


def credit_note_pdf(detail: InvoiceDetail, note: CreditNoteView) -> bytes:
    """Credit note `note` (one of `detail.credit_notes`) as PDF bytes."""
    if note not in detail.credit_notes:
        raise ValueError(f"credit note {note.number} is not on invoice "
                         f"{invoice_name(detail.invoice)}")
    invoice = detail.invoice
    currency = invoice.total.currency
    up_to_here = detail.credit_notes[:detail.credit_notes.index(note) + 1]
    credited = sum((earlier.amount for earlier in up_to_here), Money.zero(currency))
    from fpdf import FPDF  # here, not at import: see ledgerline_ui.invoices.invoice_pdf.invoice_pdf
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_title(latin1_text(f"Credit note {note.number}"))
    pdf.set_author("Ledgerline")
    pdf.set_creation_date(note.created_at)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, latin1_text(f"Credit note {note.number}"), new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    facts = [
        ("Credit to", tenant_label(invoice.tenant_id, invoice.tenant_name)),
        ("Issued", iso_date(note.created_at)[:10]),
        ("Corrects", f"invoice {invoice_name(invoice)}, period {invoice.period_label}, issued "
                     f"{iso_date(invoice.finalized_at)[:10]}, total {money(invoice.total)}"),
        ("Reason", note.reason),
        ("Currency", currency),
    ]
    write_facts(pdf, facts)
    totals = [(f"Invoice {invoice_name(invoice)} total", money(invoice.total)),
              ("Earlier credit notes", money(-(credited - note.amount))),
              (f"This credit note {note.number}", money(-note.amount)),
              ("Invoice total after credit notes", money(invoice.total - credited))]
    for label, value in totals:
        bold = label.startswith("This")
        pdf.set_font("Helvetica", "B" if bold else "", 11 if bold else 10)
        pdf.cell(pdf.epw - 40, 7, latin1_text(label), align="R")
        pdf.cell(40, 7, latin1_text(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
