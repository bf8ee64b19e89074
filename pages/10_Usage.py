"""Usage: import metered usage files, see every import, settle late usage, watch daily usage."""

from datetime import date

import streamlit as st

from billing_core.access import Permission
from billing_core.errors import InvalidInput
from billing_core.periods import calendar_month, month_label, monthly_period
from billing_core.usage_events import LateUsageStatus, UsageBatchRefused
from db.late_usage import bill_late_usage, waive_late_usage
from db.reads.usage import daily_usage, late_usage, usage_imports
from db.usage import summary
from db.usage_events import import_usage_file
from ledgerline_ui.forms.upload_limits import refuse_oversized_upload
from ledgerline_ui.invoices.invoice_names import invoice_name_of
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.setup import can, current_actor, setup_page
from ledgerline_ui.tables.plain_text import escape_markdown
from ledgerline_ui.tenants.tenant_picker import pick_tenant
from ledgerline_ui.usage.usage_view import (
    daily_usage_chart,
    import_history_table,
    late_usage_label,
    late_usage_table,
    problems_table,
)

sessions = setup_page("Usage", ":material/speed:", Permission.SEND_USAGE)

st.title("Usage")
st.caption("Metered usage arrives as events: each stored once, duplicates counted, conflicts "
           "refused. Events for a period whose invoice is already issued wait below as late "
           "usage until they are billed on the next invoice or waived.")

# --- import -------------------------------------------------------------------------------
with st.expander("Import a usage file", expanded=True):
    st.caption("CSV with the header tenant_id,event_id,metric,quantity,occurred_at, or JSON "
               "Lines with those keys (docs/usage-events.md). One bad line and nothing of the "
               "file is imported.")
    upload = st.file_uploader("Usage file", type=["csv", "jsonl", "ndjson"], key="usage_upload")
    if st.button("Import file", type="primary", disabled=upload is None):
        bad_lines = []

        def import_upload():
            refuse_oversized_upload(upload, "Usage file")
            try:
                with sessions.begin() as session:
                    return import_usage_file(session, upload, upload.name, upload.size,
                                             actor=current_actor())
            except UsageBatchRefused as refused:
                bad_lines.extend(refused.problems)
                raise
        ok, result = run_action(import_upload)
        if bad_lines:
            st.dataframe(problems_table(bad_lines), hide_index=True, width="stretch")
        if ok:
            st.success(escape_markdown(summary(result)), icon=":material/check_circle:")

# --- late usage -----------------------------------------------------------------------------
st.subheader("Late usage")
with sessions() as session:
    late = late_usage(session)
open_groups = [row for row in late if row.status is LateUsageStatus.OPEN]
if can(Permission.SETTLE_LATE_USAGE) and open_groups:
    chosen = st.selectbox("Late usage to settle", open_groups, format_func=late_usage_label,
                          key="late_choice")
    bill_col, waive_col = st.columns(2)
    if bill_col.button("Bill on next invoice", key="late_bill"):
        def bill():
            with sessions.begin() as session:
                return bill_late_usage(session, chosen.tenant_id, chosen.late_usage_id,
                                       actor=current_actor())
        ok, settled = run_action(bill)
        if ok:
            with sessions() as session:
                billed_on = invoice_name_of(session, settled.tenant_id, settled.invoice_id)
            st.success(f"Late usage #{settled.late_usage_id} billed on invoice {billed_on}.",
                       icon=":material/check_circle:")
    reason = waive_col.text_input("Reason to waive", key="late_reason", max_chars=500)
    if waive_col.button("Waive", key="late_waive"):
        def waive():
            if not reason.strip():
                raise InvalidInput("reason", "is empty; say why the late usage is waived")
            with sessions.begin() as session:
                return waive_late_usage(session, chosen.tenant_id, chosen.late_usage_id, reason,
                                        actor=current_actor())
        ok, settled = run_action(waive)
        if ok:
            st.success(f"Late usage #{settled.late_usage_id} waived.",
                       icon=":material/check_circle:")
    with sessions() as session:  # read again: a group settled just now shows how
        late = late_usage(session)
if late:
    st.dataframe(late_usage_table(late), hide_index=True, width="stretch")
else:
    st.caption("No late usage.")

# --- imports ----------------------------------------------------------------------------------
st.subheader("Imports")
with sessions() as session:
    imports = usage_imports(session)
if imports:
    st.dataframe(import_history_table(imports), hide_index=True, width="stretch")
else:
    st.caption("No usage imported yet.")

# --- daily usage ------------------------------------------------------------------------------
st.subheader("Daily usage")
tenant = pick_tenant(sessions, key="usage_tenant")
if tenant is not None:
    month_text = st.text_input("Month (YYYY-MM)", value=month_label(date.today()),
                               key="usage_month")
    ok, month = run_action(lambda: calendar_month(month_text.strip()))
    if ok:
        period = monthly_period(tenant.billing_anchor_day, month.start)
        with sessions() as session:
            usage = daily_usage(session, tenant.tenant_id, period)
        shown = [metric for metric in usage if metric.days]
        for metric in shown:
            st.plotly_chart(daily_usage_chart(metric, period.label), width="stretch",
                            key=f"usage_chart_{metric.metric}")
        if not shown:
            st.caption(f"No usage recorded for {escape_markdown(period.label)}.")
