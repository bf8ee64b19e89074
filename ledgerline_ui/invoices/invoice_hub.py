"""The invoice screen as a hub: its timeline, where to go from it, and its credit notes.

Finance and customer success reach everything about one invoice from the
invoice itself, as on Stripe's invoice page: who created, finalized, paid or
voided it and when (`ledgerline_ui.invoices.invoice_timeline`); the tenant's story and
the plain-sentence explanation (the Tenant screen, opened on this invoice);
"Issue credit note…" on a finalized or paid invoice (the Credits screen's
credit-note form, opened on this invoice, where the approval threshold and the
second approver apply as always); and each credit note with a PDF of its own.

Links stay inside the app (`st.page_link`), which keeps the sign-in.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from billing_core.access import Permission
from billing_core.credits import CREDIT_NOTE_STATUSES
from billing_core.errors import InvalidInput
from billing_core.states import InvoiceStatus
from db.reads.invoices import InvoiceDetail, InvoiceSummary
from ledgerline_ui.invoices.credit_note_pdf import credit_note_file_name, credit_note_pdf
from ledgerline_ui.invoices.invoice_links import invoice_query, parse_invoice_query
from ledgerline_ui.invoices.invoice_timeline import invoice_timeline
from ledgerline_ui.shell.page_links import page_link
from ledgerline_ui.shell.setup import can, for_live_session
from ledgerline_ui.tables.formatting import iso_date, money, tenant_label
from ledgerline_ui.tables.plain_text import escape_markdown

TENANT_PAGE = "pages/7_Tenant.py"
CREDITS_PAGE = "pages/4_Credits.py"
ISSUE_CREDIT_NOTE = "Issue credit note…"


def credit_note_query(invoice: InvoiceSummary) -> dict[str, str]:
    """The Credits screen's link for a credit note on `invoice` (its form opens on it)."""
    return invoice_query(invoice.tenant_id, invoice.invoice_id)


def linked_invoice_id(params: Mapping[str, str]) -> int | None:
    """The invoice id of such a link, None when absent or malformed (the Credits screen then
    opens as it always does)."""
    try:
        ref = parse_invoice_query(params)
    except InvalidInput:
        return None
    return ref[1] if ref else None


def show_timeline(detail: InvoiceDetail) -> None:
    """One column per step: done steps with when and who, the rest as waiting."""
    steps = invoice_timeline(detail)
    for column, step in zip(st.columns(len(steps)), steps, strict=True):
        with column.container(border=True):
            icon = ":material/check_circle:" if step.done else ":material/radio_button_unchecked:"
            # The actor and a note's number are data: escaped inside the Markdown.
            lines = [f"{icon} **{escape_markdown(step.event)}**"]
            lines.append(iso_date(step.at) if step.done else "not yet")
            if step.by:
                lines.append(f"by {escape_markdown(step.by)}")
            if step.detail:
                lines.append(escape_markdown(step.detail))
            st.markdown("  \n".join(lines))


def show_links(invoice: InvoiceSummary) -> None:
    """The tenant, the explanation, and "Issue credit note…" where a note may correct it."""
    tenant_col, explain_col, note_col = st.columns(3)
    with tenant_col:
        page_link(TENANT_PAGE, icon=":material/apartment:",
                  label=f"Tenant {tenant_label(invoice.tenant_id, invoice.tenant_name)}",
                  query_params={"tenant": invoice.tenant_id})
    with explain_col:
        page_link(TENANT_PAGE, icon=":material/record_voice_over:",
                  label="Explain in plain words",
                  query_params={"tenant": invoice.tenant_id, "invoice": str(invoice.invoice_id)})
    may_note = can(Permission.ISSUE_CREDIT_NOTES) or can(Permission.REQUEST_CREDIT_NOTES)
    if may_note and InvoiceStatus(invoice.status) in CREDIT_NOTE_STATUSES:
        with note_col:
            page_link(CREDITS_PAGE, icon=":material/note_add:", label=ISSUE_CREDIT_NOTE,
                      query_params=credit_note_query(invoice))


def show_credit_notes(detail: InvoiceDetail) -> None:
    """The invoice's credit notes, a PDF button for each, and what may still be credited."""
    st.dataframe(pd.DataFrame([{
        "Number": note.number, "Reason": note.reason, "Amount": money(note.amount),
        "By": note.actor, "When": iso_date(note.created_at)} for note in detail.credit_notes]),
        hide_index=True, width="stretch")
    columns = st.columns(min(len(detail.credit_notes), 4))
    for index, note in enumerate(detail.credit_notes):
        # Built on the click, only for a sign-in that still holds (see for_live_session).
        columns[index % len(columns)].download_button(
            f"PDF {note.number}", icon=":material/picture_as_pdf:", mime="application/pdf",
            data=for_live_session(lambda note=note: credit_note_pdf(detail, note)),
            file_name=credit_note_file_name(note, detail.invoice.tenant_id),
            key=f"credit_note_pdf_{note.credit_note_id}", on_click="ignore")
    st.caption(f"Still creditable: {money(detail.creditable_left)}.")
