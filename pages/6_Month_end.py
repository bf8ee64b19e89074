"""Month-end: invoice every active tenant for a month. Dry run first, then run; safe to repeat."""

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from billing_core.access import Permission
from billing_core.periods import month_label
from db.queries import invoice_months, month_end_runs
from ledgerline_ui.feedback import run_action
from ledgerline_ui.month_end_view import check_period, headline, run, run_rows, skipped_rows
from ledgerline_ui.page_links import SCREENS, link_to
from ledgerline_ui.plain_text import escape_markdown
from ledgerline_ui.setup import can, current_actor, setup_page

sessions = setup_page("Month-end", ":material/event_repeat:")

st.title("Month-end run")
st.write("Creates one **draft** invoice for every active tenant, for its billing period that "
         "starts in the chosen month. Run it as often as you like: invoices that already exist "
         "are counted and left alone, never duplicated. Try a dry run first; it writes nothing.")

with sessions() as session:
    months = invoice_months(session)
default_month = months[0] if months else month_label(datetime.now(UTC).date())
period_text = st.columns([1, 3])[0].text_input(
    "Period (month)", value=default_month, placeholder="YYYY-MM, e.g. 2024-11",
    key="month_end_period")

if not can(Permission.RUN_MONTH_END):
    st.info(f"Only finance runs month-end; you ({escape_markdown(current_actor())}) can see "
            "the runs below.",
            icon=":material/lock:")
dry_column, run_column, _ = st.columns([1, 1, 3])
if can(Permission.RUN_MONTH_END) and dry_column.button("Dry run", icon=":material/visibility:", width="stretch"):
    st.session_state.pop("month_end_pending", None)
    ok, summary = run_action(lambda: run(sessions, period_text, actor=current_actor(),
                                         dry_run=True))
    if ok:
        st.session_state["month_end_result"] = summary
if can(Permission.RUN_MONTH_END) and run_column.button("Run month-end…", icon=":material/play_arrow:", type="primary",
                     width="stretch"):
    ok, label = run_action(lambda: check_period(period_text))
    if ok:
        st.session_state["month_end_pending"] = label

pending = st.session_state.get("month_end_pending")
if pending and can(Permission.RUN_MONTH_END):
    with st.container(border=True):
        st.markdown(f"**Run month-end for {pending}?**")
        st.write("Draft invoices are created for every active tenant not yet invoiced for the "
                 "month, in batches that each commit on their own; existing invoices are not "
                 "touched. You can run it again safely.")
        confirm, cancel = st.columns(2)
        if cancel.button("Cancel", key="month_end_cancel", width="stretch"):
            st.session_state.pop("month_end_pending", None)
            st.rerun()
        if confirm.button(f"Confirm: run month-end {pending}", type="primary",
                          key="month_end_confirm", width="stretch"):
            st.session_state.pop("month_end_pending", None)
            bar = st.progress(0.0, text=f"Month-end {pending}: starting…")

            def show_progress(done: int, total: int) -> None:
                bar.progress(done / total if total else 1.0,
                             text=f"Month-end {pending}: {done:,} of {total:,} tenants")

            ok, summary = run_action(lambda: run(sessions, pending, actor=current_actor(),
                                                 dry_run=False, on_progress=show_progress))
            if ok:
                bar.progress(1.0, text=f"Month-end {pending}: done")
                st.session_state["month_end_result"] = summary
            else:
                bar.empty()

result = st.session_state.get("month_end_result")
if result is not None:
    st.subheader("Dry run: what would happen" if result.dry_run else "Result")
    (st.info if result.dry_run else st.success)(headline(result))
    figures = st.columns(4)
    figures[0].metric("Tenants in scope", f"{result.tenants_in_scope:,}")
    figures[1].metric("Would be created" if result.dry_run else "Invoices created",
                      f"{result.invoices_created:,}")
    figures[2].metric("Already present", f"{result.already_present:,}")
    figures[3].metric("Skipped", f"{len(result.skipped):,}")
    if result.skipped:
        with st.expander(f"Skipped tenants and why ({len(result.skipped):,})"):
            st.dataframe(pd.DataFrame(skipped_rows(result.skipped)), hide_index=True,
                         width="stretch")

st.subheader("Recent runs")
with sessions() as session:
    runs = month_end_runs(session, limit=10)
if runs:
    st.dataframe(pd.DataFrame(run_rows(runs)), hide_index=True, width="stretch")
    st.caption("Dry runs are not recorded. A run whose process died shows as interrupted; "
               "running it again finishes the month.")
else:
    st.caption("No month-end run yet.")
link_to(SCREENS[0], label="See the invoices")
