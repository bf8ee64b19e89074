"""Invoice: every line with its calculation, the sum, the state, the audit trail, and the moves."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from billing_core.money import ROUNDING_MODE_LABEL
from billing_core.states import INVOICE_STATUS_LABELS, InvoiceStatus
from db.reads.invoices import invoice_detail, list_invoices
from db.reads.tenants import list_tenants
from ledgerline_ui.back_office.audit_changes import change_text
from ledgerline_ui.invoices.draft_version import priced_at_text, remember_reviewed, take_reviewed
from ledgerline_ui.invoices.invoice_actions import ACTIONS, perform, refusal
from ledgerline_ui.invoices.invoice_hub import show_credit_notes, show_links, show_timeline
from ledgerline_ui.invoices.invoice_links import INVOICE_PAGE, open_invoice, parse_invoice_query
from ledgerline_ui.invoices.invoice_names import invoice_name
from ledgerline_ui.invoices.invoice_pdf import export_refusal, invoice_pdf, pdf_file_name
from ledgerline_ui.invoices.invoice_trace import invoice_trace
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.page_links import SCREENS, link_to, page_link
from ledgerline_ui.shell.setup import can, current_actor, for_live_session, setup_page
from ledgerline_ui.tables.formatting import iso_date, money, tenant_label
from ledgerline_ui.tables.plain_text import escape_markdown
from ledgerline_ui.tables.wrapping_table import wrapping_table

sessions = setup_page("Invoice", ":material/receipt_long:")

STATUS_COLORS = {InvoiceStatus.DRAFT: "orange", InvoiceStatus.FINALIZED: "blue",
                 InvoiceStatus.PAID: "green", InvoiceStatus.VOID: "gray"}


def show_picker() -> None:
    st.title("Invoice")
    st.write("Open an invoice from the invoice list, or find one by tenant.")
    link_to(SCREENS[0], label="All invoices")
    search = st.text_input("Tenant", placeholder="tenant id or name, e.g. initech",
                           key="picker_search")
    if not search.strip():
        return
    with sessions() as session:
        tenants = list_tenants(session, search=search, limit=50)
        if not tenants:
            st.warning("tenant: no tenant id or name contains "
                       f"{escape_markdown(repr(search.strip()))}.")
            return
        tenant = st.selectbox("Matching tenants", tenants, key="picker_tenant",
                              format_func=lambda t: tenant_label(t.tenant_id, t.name))
        page = list_invoices(session, tenant_id=tenant.tenant_id, limit=100)
    if not page.rows:
        st.info(f"{escape_markdown(tenant_label(tenant.tenant_id, tenant.name))} has no invoices "
                "yet.")
    for row in page.rows:
        # A button, not a link to this same page: the link opened the invoice without putting
        # it in the URL, so the next click (Finalize…) fell back to this search.
        st.button(f"{invoice_name(row)} · {row.period_label} · {row.status} · {money(row.total)}",
                  icon=":material/receipt_long:", type="tertiary", key=f"open_{row.invoice_id}",
                  on_click=open_invoice, args=(row.tenant_id, row.invoice_id))


ok, ref = run_action(lambda: parse_invoice_query(st.query_params))
if not ok or ref is None:
    show_picker()
    st.stop()

tenant_id, invoice_id = ref


def load():
    with sessions() as session:
        return invoice_detail(session, tenant_id, invoice_id)


heading = st.empty()
ok, detail = run_action(load)
if not ok:
    heading.title("Invoice")
    page_link(INVOICE_PAGE, label="Find another invoice", icon=":material/search:")
    st.stop()

invoice = detail.invoice
badge, color = INVOICE_STATUS_LABELS[invoice.status], STATUS_COLORS[invoice.status]
heading.title(f"Invoice {invoice_name(invoice)}")
st.markdown(f":{color}-badge[{badge}] &nbsp; "
            f"**{escape_markdown(tenant_label(invoice.tenant_id, invoice.tenant_name))}**"
            f" · period {invoice.period_label} ({iso_date(invoice.period_start)} to "
            f"{iso_date(invoice.period_end)}, end exclusive)")

flash_key = f"invoice_flash_{tenant_id}_{invoice_id}"
if flash := st.session_state.pop(flash_key, None):
    st.success(flash, icon=":material/check_circle:")

facts = st.columns(4)
facts[0].metric("Total", money(invoice.total))
facts[1].metric("Status", badge)
facts[2].metric("Period", invoice.period_label)
facts[3].metric("Issued",
                iso_date(invoice.finalized_at)[:10] if invoice.finalized_at else "not yet")
if priced := priced_at_text(invoice):
    st.caption(priced)
show_timeline(detail)
show_links(invoice)

st.subheader("Lines and how each is calculated")
trace = invoice_trace(detail)
# A table, not a grid: its cells wrap, so at 1440 px no column (the running total last) is
# cut off; an invoice has a handful of lines. Its cells are Markdown, hence wrapping_table.
wrapping_table(
    pd.DataFrame([{
        "#": row.step, "Item": f"{row.kind}: {row.description}",
        "Calculation": row.calculation, "Exact": row.exact, "Rounding": row.rounding,
        "Amount": row.amount, "Running total": row.running_total} for row in trace.rows],
        columns=["#", "Item", "Calculation", "Exact", "Rounding", "Amount",
                 "Running total"]))
if trace.matches_total:
    st.success(f"The lines add up to the total: {trace.sum_text}.", icon=":material/functions:")
else:
    st.error(f"The lines add up to {money(trace.lines_sum)}, not the stored total "
             f"{money(invoice.total)}: {trace.sum_text}. Do not send this invoice; report it.")
st.caption(f"{trace.totals_text}. Percentage discounts apply first, compounding in order, then "
           f"fixed amounts, then credits; each line is rounded once, {ROUNDING_MODE_LABEL}.")
if invoice.unused_discount:
    st.info(f"{money(invoice.unused_discount)} of fixed discount could not be used "
            "(the total cannot go below zero).")

if detail.credits:
    st.subheader("Credits on this invoice")
    st.dataframe(pd.DataFrame([{
        "Credit": f"#{c.credit_id}", "Reason": c.reason, "Amount": money(c.amount),
        "Applied here": money(c.applied), "Left on balance": money(c.to_balance),
        "By": c.actor, "When": iso_date(c.created_at)} for c in detail.credits]),
        hide_index=True, width="stretch")
if detail.credit_notes:
    st.subheader("Credit notes")
    show_credit_notes(detail)

st.subheader("Actions")
pending_key = f"invoice_pending_{tenant_id}_{invoice_id}"
allowed_actions = [action for action in ACTIONS if can(action.permission)]
if not allowed_actions:
    st.caption(f"You can look, not change: finance finalizes, voids and records payments "
               f"(signed in as {escape_markdown(current_actor())}).")
columns = st.columns(len(allowed_actions) or 1)
for column, action in zip(columns, allowed_actions, strict=False):
    why_not = refusal(invoice, action)
    with column:
        if st.button(f"{action.label}…", icon=action.icon, key=f"ask_{action.target}",
                     disabled=why_not is not None, width="stretch"):
            st.session_state[pending_key] = action.target.value
            remember_reviewed(st.session_state, invoice)
        if why_not:
            st.caption(why_not)

pending = st.session_state.get(pending_key)
chosen = next((a for a in allowed_actions if a.target.value == pending), None)
if chosen is not None:
    with st.container(border=True):
        st.markdown(f"**{chosen.label} {invoice_name(invoice)}** of "
                    f"{escape_markdown(tenant_label(invoice.tenant_id, invoice.tenant_name))}, "
                    f"total {money(invoice.total)}?")
        st.write(chosen.confirm)
        confirm, cancel = st.columns(2)
        if cancel.button("Cancel", key="cancel_action", width="stretch"):
            st.session_state.pop(pending_key, None)
            st.rerun()
        if confirm.button(f"Confirm: {chosen.label.lower()}", type="primary",
                          key="confirm_action", width="stretch"):
            st.session_state.pop(pending_key, None)

            def move():
                with sessions.begin() as session:
                    return perform(session, invoice, chosen, current_actor(),
                                   take_reviewed(st.session_state, invoice))

            moved_ok, state = run_action(move)
            if moved_ok:
                st.session_state[flash_key] = chosen.done.format(label=invoice_name(
                    replace(invoice, number=state.number, status=state.status)))
                st.rerun()

st.subheader("Export")
why_not_export = export_refusal(invoice)
if why_not_export:
    st.info(why_not_export, icon=":material/picture_as_pdf:")
else:
    # Built on the click, only for a sign-in that still holds (see for_live_session).
    st.download_button("Download PDF", data=for_live_session(lambda: invoice_pdf(detail)),
                       file_name=pdf_file_name(invoice), mime="application/pdf",
                       icon=":material/picture_as_pdf:", on_click="ignore")

st.subheader("Audit trail")
if detail.audit:
    st.dataframe(pd.DataFrame([{
        "When": iso_date(entry.occurred_at), "Who": entry.actor, "What": entry.action,
        "Change": change_text(entry.before, entry.after)} for entry in detail.audit]),
        hide_index=True, width="stretch",
        column_config={"Change": st.column_config.TextColumn(width="large")})
else:
    st.caption("No audit entries for this invoice.")

link_to(SCREENS[0], label="Back to all invoices")
