"""Invoices: every invoice, filtered by tenant, period and status, paged in the database."""

import pandas as pd
import streamlit as st

from billing_core.states import INVOICE_STATUS_LABELS, InvoiceStatus
from db.reads.invoices import InvoiceOrder, count_invoices, list_invoices
from db.reads.periods import invoice_months
from db.reads.tenants import list_tenants
from ledgerline_ui.invoices.invoice_links import INVOICE_PAGE, invoice_query
from ledgerline_ui.invoices.invoice_list import PAGE_SIZE, InvoiceFilter, ListPosition, page_caption
from ledgerline_ui.invoices.invoice_names import invoice_name
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.page_links import page_link
from ledgerline_ui.shell.setup import for_live_session, setup_page
from ledgerline_ui.tables.csv_export import MAX_EXPORT_ROWS, export_invoices_csv
from ledgerline_ui.tables.formatting import iso_date, tenant_label
from ledgerline_ui.tables.money_columns import money_cell, money_columns
from ledgerline_ui.tables.plain_text import escape_markdown

sessions = setup_page("Invoices", ":material/list_alt:")

STATUSES = [status.value for status in InvoiceStatus]
ALL = "All"

st.title("Invoices")
params = st.query_params

with sessions() as session:
    periods = invoice_months(session)

filters = st.columns([2, 1, 1, 1])
search = filters[0].text_input("Tenant", value=params.get("tenant", ""),
                               placeholder="tenant id or name, e.g. ent-initech or Initech")
period_options = [ALL, *periods]
period = filters[1].selectbox(
    "Period", period_options,
    index=period_options.index(params["period"]) if params.get("period") in periods else 0)
status_options = [ALL, *STATUSES]
status = filters[2].selectbox(
    "Status", status_options,
    index=status_options.index(params["status"]) if params.get("status") in STATUSES else 0,
    format_func=lambda s: s if s == ALL else INVOICE_STATUS_LABELS[s])
orders = list(InvoiceOrder)
order = filters[3].selectbox(
    "Sort by", orders,
    index=orders.index(InvoiceOrder(params["sort"])) if params.get("sort") in orders else 0,
    format_func=lambda o: o.value.capitalize(),
    help="Sorted in the database, across every page. A column header sorts this page only.")

tenant_id = None
if search.strip():
    with sessions() as session:
        matches = list_tenants(session, search=search, limit=20)
    exact = [t for t in matches if t.tenant_id == search.strip()]
    if exact or len(matches) == 1:
        tenant_id = (exact or matches)[0].tenant_id
    elif matches:
        chosen = st.selectbox("Several tenants match; which one?", matches,
                              format_func=lambda t: tenant_label(t.tenant_id, t.name))
        tenant_id = chosen.tenant_id
    else:
        st.warning("tenant: no tenant id or name contains "
                   f"{escape_markdown(repr(search.strip()))}.",
                   icon=":material/search_off:")
        st.stop()

chosen_filter = InvoiceFilter(tenant_id, None if period == ALL else period,
                              None if status == ALL else status, order)
position = ListPosition.of(st.session_state, chosen_filter)


def load_page():
    with sessions() as session:
        return (list_invoices(session, tenant_id=chosen_filter.tenant_id,
                              period_label=chosen_filter.period_label,
                              status=chosen_filter.status, after=position.cursor,
                              limit=PAGE_SIZE, count=False, order=chosen_filter.order),
                count_invoices(session, tenant_id=chosen_filter.tenant_id,
                               period_label=chosen_filter.period_label,
                               status=chosen_filter.status))


ok, loaded = run_action(load_page)
if not ok:
    st.stop()
page, matching = loaded

st.caption(page_caption(position.number, len(page.rows), matching, chosen_filter.order))
if not page.rows:
    st.info("No invoices match these filters.", icon=":material/inbox:")
else:
    table = pd.DataFrame([{
        "Invoice": invoice_name(row), "Tenant": tenant_label(row.tenant_id, row.tenant_name),
        "Period": row.period_label, "Status": row.status.title(),
        "Subtotal": money_cell(row.subtotal), "Discounts": money_cell(row.discount),
        "Credit": money_cell(row.credit), "Total": money_cell(row.total),
        "Created": iso_date(row.created_at.date()), "Currency": row.total.currency}
        for row in page.rows])
    currencies = set(table["Currency"])
    selection = st.dataframe(
        table, hide_index=True, width="stretch", key="invoice_table", on_select="rerun",
        selection_mode="single-row",
        column_config={**money_columns(("Subtotal", "Discounts", "Credit", "Total"), currencies),
                       "Currency": None if len(currencies) == 1 else "Currency",
                       "Invoice": st.column_config.TextColumn(width="medium")})
    selected = selection.selection.rows if selection else []
    if selected:
        row = page.rows[selected[0]]
        page_link(INVOICE_PAGE, icon=":material/open_in_new:",
                  label=f"Open invoice {invoice_name(row)} of "
                        f"{escape_markdown(tenant_label(row.tenant_id, row.tenant_name))}",
                  query_params=invoice_query(row.tenant_id, row.invoice_id))
    else:
        st.caption("Select a row to open its invoice: every line, its calculation and its "
                   "audit trail.")

previous, spacer, following = st.columns([1, 4, 1])
if previous.button("Previous page", icon=":material/chevron_left:", disabled=position.number == 1,
                   width="stretch"):
    position.back(st.session_state)
    st.rerun()
if following.button("Next page", icon=":material/chevron_right:", icon_position="right",
                    disabled=page.next_cursor is None, width="stretch"):
    position.forward(st.session_state, page.next_cursor)
    st.rerun()

def export_csv() -> str:
    with sessions() as session:
        return export_invoices_csv(session, tenant_id=chosen_filter.tenant_id,
                                   period_label=chosen_filter.period_label,
                                   status=chosen_filter.status)


too_many = matching.count > MAX_EXPORT_ROWS
# Built on the click, only for a sign-in that still holds (see for_live_session).
st.download_button("Export these invoices as CSV", data=for_live_session(export_csv),
                   file_name=chosen_filter.csv_file_name(), mime="text/csv",
                   icon=":material/download:", on_click="ignore",
                   disabled=too_many or not page.rows)
if too_many:
    st.caption(f"An export holds at most {MAX_EXPORT_ROWS:,} invoices; these filters match "
               f"{'about ' if not matching.exact else ''}{matching.count:,}. Narrow them by "
               "period, status or tenant.")
else:
    st.caption("Every invoice matching the filters, all pages; money as decimal text beside "
               "its currency.")
