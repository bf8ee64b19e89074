"""Month end: invoice every active tenant for a month. Dry run first, then run; safe to repeat.

A confirmed run is queued and a worker runs it (db.jobs), so nothing done on this
screen, or on closing it, stops the run; the screen follows it in `month_end_runs`.
"""

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from billing_core.access import Permission
from billing_core.month_end_runs import MonthEndRunStatus
from billing_core.periods import month_label
from db.reads.month_end_runs import month_end_runs
from db.reads.periods import invoice_months
from ledgerline_ui.back_office.month_end_view import (
    check_period,
    dry_run,
    enqueue,
    headline,
    month_end_activity,
    progress,
    queued_text,
    run_rows,
    skipped_rows,
    stopped_text,
    summary_of,
)
from ledgerline_ui.forms.form_errors import FieldSlots, read_fields, review_fields
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.page_links import SCREENS, link_to
from ledgerline_ui.shell.setup import can, current_actor, setup_page
from ledgerline_ui.tables.plain_text import escape_markdown

# How often the latest run's panel reads its progress again while a run goes on. (A comment,
# not a string: Streamlit's magic shows a bare string below the docstring on the screen.)
REFRESH_SECONDS = 1.0

sessions = setup_page("Month end", ":material/event_repeat:")

st.title("Month end run")
st.write("Creates one **draft** invoice for every active tenant, for its billing period that "
         "starts in the chosen month. Run it as often as you like: invoices that already exist "
         "are counted and left alone, never duplicated. Try a dry run first; it writes nothing. "
         "A run goes on in the background: you may leave this screen, it keeps going.")

with sessions() as session:
    months = invoice_months(session)
default_month = months[0] if months else month_label(datetime.now(UTC).date())
period_column = st.columns([1, 3])[0]
period_text = period_column.text_input(
    "Period (month)", value=default_month, placeholder="YYYY-MM, e.g. 2024-11",
    key="month_end_period")
period_slots = FieldSlots("month_end")
period_slots.keep("period", period_column)


def reviewed_period() -> str | None:
    """The typed month, checked; None after saying why beside the field."""
    return review_fields(period_slots,
                         lambda: read_fields({"period": lambda: check_period(period_text)}
                                             )["period"])

if not can(Permission.RUN_MONTH_END):
    st.info(f"Only finance runs month end; you ({escape_markdown(current_actor())}) can see "
            "the runs below.",
            icon=":material/lock:")
dry_column, run_column, _ = st.columns([1, 1, 3])
may_run = can(Permission.RUN_MONTH_END)

def start_over() -> None:
    """A new click replaces what the last one left: its confirmation and its dry run's result
    (a bad month's error must not sit above the previous month's figures)."""
    st.session_state.pop("month_end_pending", None)
    st.session_state.pop("month_end_result", None)


if may_run and dry_column.button("Dry run", icon=":material/visibility:", width="stretch"):
    start_over()
    if checked := reviewed_period():
        ok, summary = run_action(lambda: dry_run(sessions, checked, actor=current_actor()))
        if ok:
            st.session_state["month_end_result"] = summary
if may_run and run_column.button("Run month end…", icon=":material/play_arrow:",
                                 type="primary", width="stretch"):
    start_over()
    if label := reviewed_period():
        st.session_state["month_end_pending"] = label

pending = st.session_state.get("month_end_pending")
confirmation = st.empty()
confirmed = False
if pending and may_run:
    with confirmation.container(border=True):
        st.markdown(f"**Run month end for {pending}?**")
        st.write("Draft invoices are created for every active tenant not yet invoiced for the "
                 "month, in batches that each commit on their own; existing invoices are not "
                 "touched. The run goes on in the background; you can run it again safely.")
        confirm, cancel = st.columns(2)
        if cancel.button("Cancel", key="month_end_cancel", width="stretch"):
            st.session_state.pop("month_end_pending", None)
            st.rerun()
        confirmed = confirm.button(f"Confirm: run month end {pending}", type="primary",
                                   key="month_end_confirm", width="stretch")
if confirmed:
    st.session_state.pop("month_end_pending", None)
    confirmation.empty()  # answered: a refusal shows on its own, not under the question
    ok, _ = run_action(lambda: enqueue(sessions, pending, actor=current_actor()))
    if ok:
        st.rerun()  # the run's outcome shows below, under "Latest run"


def run_figures(run, created_label: str) -> None:
    """The four counts of a run (or a dry run) and the skipped tenants with their reasons."""
    figures = st.columns(4)
    figures[0].metric("Tenants in scope", f"{run.tenants_in_scope:,}")
    figures[1].metric(created_label, f"{run.invoices_created:,}")
    figures[2].metric("Already present", f"{run.already_present:,}")
    figures[3].metric("Skipped", f"{len(run.skipped):,}")
    if run.skipped:
        with st.expander(f"Skipped tenants and why ({len(run.skipped):,})"):
            st.dataframe(pd.DataFrame(skipped_rows(run.skipped)), hide_index=True,
                         width="stretch")


result = st.session_state.get("month_end_result")
if result is not None:
    st.subheader("Dry run: what would happen")
    st.info(headline(result))
    run_figures(result, created_label="Would be created")


def latest_run(refreshing: bool) -> None:
    """The queued jobs and the latest run, read again every REFRESH_SECONDS while `refreshing`."""
    with sessions() as session:
        activity = month_end_activity(session)
    if refreshing and not activity.in_progress:
        st.rerun()  # it ended: show the whole screen anew, and stop reading every second
    for job in activity.waiting:
        st.info(queued_text(job), icon=":material/schedule:")
    run = activity.latest
    if run is None:
        st.caption("No month end run yet.")
        return
    fraction, caption = progress(run, activity.live)
    st.progress(fraction, text=caption)
    if run.status == MonthEndRunStatus.COMPLETED:
        st.success(headline(summary_of(run)), icon=":material/task_alt:")
        run_figures(run, created_label="Invoices created")
    elif not activity.live:
        st.warning(escape_markdown(stopped_text(run)), icon=":material/warning:")


st.subheader("Latest run")
with sessions() as session:
    in_progress = month_end_activity(session).in_progress
st.fragment(latest_run, run_every=REFRESH_SECONDS if in_progress else None)(in_progress)

st.subheader("Recent runs")
with sessions() as session:
    runs = month_end_runs(session, limit=10)
if runs:
    st.dataframe(pd.DataFrame(run_rows(runs)), hide_index=True, width="stretch")
    st.caption("Dry runs are not recorded. A run whose process died shows as interrupted; "
               "running it again finishes the month.")
else:
    st.caption("No month end run yet.")
link_to(SCREENS[0], label="See the invoices")
