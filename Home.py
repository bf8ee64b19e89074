"""Home: the current billing month at a glance, and the way to every screen."""

import pandas as pd
import streamlit as st

from billing_core.month_end_runs import MonthEndRunStatus
from db.reads.month_end_runs import last_month_end_run
from db.reads.periods import invoice_months, status_summary
from ledgerline_ui.back_office.month_end_view import failure_text
from ledgerline_ui.invoices.period_overview import STATUS_LABELS, amounts_text, overview
from ledgerline_ui.shell.page_links import SCREENS, link_to
from ledgerline_ui.shell.setup import setup_page
from ledgerline_ui.tables.formatting import iso_date
from ledgerline_ui.tables.plain_text import escape_markdown

sessions = setup_page("Home", ":material/home:")

st.title("Ledgerline")
st.caption("Invoices, credits and shared costs for every tenant, every cent explained.")

with sessions() as session:
    months = invoice_months(session)
    last_run = last_month_end_run(session)

if not months:
    st.info("No invoices yet. Start with a month end run.", icon=":material/inbox:")
    summary = None
else:
    month = st.columns([1, 3])[0].selectbox(
        "Billing month", months, index=0,
        help="Months in which invoice periods start; the latest comes first.")
    with sessions() as session:
        summary = status_summary(session, month)

if summary is not None:
    figures = overview(summary)
    st.subheader(f"{summary.period_label} at a glance")
    # Two rows of three: five figures in one row cut their amounts below 1,400 px.
    counts, billed, to_collect = st.columns(3)
    counts.metric("Invoices", f"{figures.invoices:,}")
    billed.metric("Billed (finalized and paid)", amounts_text(figures.billed))
    to_collect.metric("Awaiting payment", amounts_text(figures.to_collect))
    drafting, credits, _ = st.columns(3)
    drafting.metric("Drafts (not billed yet)", amounts_text(figures.drafting))
    credits.metric("Credits waiting on balances", amounts_text(summary.credits_outstanding),
                   help="Service credits not yet used, all tenants: the next invoices consume "
                        "them.")

    st.dataframe(pd.DataFrame([{
        "Status": STATUS_LABELS.get(row.status, row.status), "Invoices": f"{row.count:,}",
        "Total": amounts_text(row.totals)} for row in summary.by_status],
        columns=["Status", "Invoices", "Total"]), hide_index=True, width="content")
    links = st.columns(len(summary.by_status) or 1)
    for column, row in zip(links, summary.by_status, strict=False):
        with column:
            link_to(SCREENS[0], label=f"{STATUS_LABELS.get(row.status, row.status)} invoices",
                    query_params={"period": summary.period_label, "status": row.status})

st.subheader("Last month end run")
if last_run is None:
    st.caption("No month end run yet.")
else:
    skipped = len(last_run.skipped)
    text = (f"**{last_run.period_label}**, {last_run.status}: {last_run.invoices_created:,} "
            f"invoices created, {last_run.already_present:,} already present, {skipped:,} "
            f"skipped · {last_run.tenants_done:,} of {last_run.tenants_in_scope:,} tenants · "
            f"by {escape_markdown(last_run.actor)}, started {iso_date(last_run.started_at)}")
    if last_run.status == MonthEndRunStatus.COMPLETED:
        st.success(text, icon=":material/task_alt:")
    else:
        why = failure_text(last_run.error)
        st.warning(text + (f" · {escape_markdown(why)}" if why else ""),
                   icon=":material/warning:")

st.subheader("Screens")
columns = st.columns(2)
for index, screen in enumerate(SCREENS):
    with columns[index % 2], st.container(border=True):
        link_to(screen)
        st.caption(screen.purpose)
