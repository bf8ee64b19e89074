"""Reconciliation: import the old system's bills, see every account it got wrong, correct it."""

import math

import streamlit as st

from billing_core.access import Permission
from billing_core.legacy_csv import LegacyFileError
from billing_core.reconciliation import RULE_LABELS, CorrectionKind
from db.reads.reconciliation import (
    PAGE_SIZE,
    discrepancy_count,
    discrepancy_page,
    proposal_filters,
    proposal_selection,
    report_summary,
    selected_keys,
    stored_report_rows,
)
from db.reconciliation import (
    import_legacy_file,
    import_sample_legacy_file,
    issue_legacy_credits,
    void_legacy_duplicates,
)
from ledgerline_ui.back_office.reconciliation_view import (
    amounts_text,
    bad_lines_table,
    discrepancy_table,
    granted_table,
    left_out_sentence,
    outcome_sentence,
    page_caption,
    proposal_table,
    report_csv,
    selection_sentence,
    totals_chart,
    totals_table,
)
from ledgerline_ui.forms.upload_limits import refuse_oversized_upload
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.setup import can, current_actor, for_live_session, setup_page
from ledgerline_ui.tables.formatting import iso_date
from ledgerline_ui.tables.plain_text import escape_markdown
from ledgerline_ui.tables.wrapping_table import wrapping_table

sessions = setup_page("Reconciliation", ":material/rule:")

st.title("Reconciliation")
st.caption("The old billing system's invoices, priced again with today's rules. Every difference "
           "is attributed to the rule that explains it; overcharges are credited to the "
           "customer once, duplicates voided, undercharges reported and never collected.")

# --- import -----------------------------------------------------------------------------------
if not can(Permission.RECONCILE_LEGACY_BILLING):
    st.caption("Only finance imports legacy files and corrects them; "
               f"{escape_markdown(current_actor())} reads the report.")
else:
    with st.expander("Import a legacy billing file", expanded=False):
        st.caption("One CSV row per legacy invoice or allocation share (see "
                   "docs/reconciliation.md). Every row is checked first: one bad line and "
                   "nothing of the file is imported.")
        upload = st.file_uploader("Legacy billing CSV", type=["csv"], key="legacy_upload")
        import_col, sample_col = st.columns([1, 3])
        if import_col.button("Import file", type="primary", disabled=upload is None):
            bad_lines = []

            def import_upload():
                refuse_oversized_upload(upload, "Legacy billing CSV")
                try:
                    with sessions.begin() as session:
                        return import_legacy_file(session, upload.getvalue(), upload.name,
                                                  actor=current_actor())
                except LegacyFileError as refused:
                    bad_lines.extend(refused.problems)  # every one, below the message
                    raise
            ok, result = run_action(import_upload)
            if bad_lines:
                st.dataframe(bad_lines_table(bad_lines), hide_index=True, width="stretch")
            if ok:
                st.session_state["legacy_import_done"] = (
                    f"Imported {escape_markdown(result.file_name)}: {result.invoice_count:,} "
                    f"invoices and {result.allocation_count:,} allocation shares.")
                st.rerun()
        if sample_col.button("Load the sample file (the six incident symptoms)"):
            def import_sample():
                with sessions.begin() as session:
                    return import_sample_legacy_file(session, actor=current_actor())
            ok, result = run_action(import_sample)
            if ok:
                st.session_state["legacy_import_done"] = (
                    "The sample file was imported before; nothing changed." if result is None else
                    f"Imported {escape_markdown(result.file_name)}: {result.invoice_count:,} "
                    f"invoices and {result.allocation_count:,} allocation shares.")
                st.rerun()
done = st.session_state.pop("legacy_import_done", None)
if done:
    st.success(done, icon=":material/check_circle:")

# The report is stored by each import (db.reconciliation.store_reconciliation_report): a render
# reads counts, totals and one page at a time, never the 100,000 records behind them.
with sessions() as session:
    summary = report_summary(session)

if not summary.imports:
    st.info("No legacy billing file imported yet. Import one above, or load the sample.",
            icon=":material/upload_file:")
    st.stop()

latest = summary.imports[0]
st.caption(f"{summary.invoice_count:,} legacy invoices and {summary.allocation_count:,} "
           f"allocation shares from {len(summary.imports)} file(s); latest: "
           f"{escape_markdown(latest.file_name)}, imported by {escape_markdown(latest.actor)} on "
           f"{iso_date(latest.imported_at)}.")

# --- totals -----------------------------------------------------------------------------------
overcharged = [t.overcharged for t in summary.totals.overall]
undercharged = [t.undercharged for t in summary.totals.overall]
figures = st.columns(4)
figures[0].metric("Discrepancies", f"{summary.discrepancy_count:,}")
figures[1].metric("Overcharged", amounts_text(overcharged),
                  help="What customers paid too much: credited to them on request.")
figures[2].metric("Undercharged", amounts_text(undercharged),
                  help="What customers paid too little: reported, never collected.")
figures[3].metric("Corrections pending", f"{summary.pending_count:,}",
                  help=left_out_sentence(len(summary.left_out)) if summary.left_out else None)

if not summary.discrepancy_count:
    st.success("Every legacy invoice matches the rules: nothing to correct.",
               icon=":material/task_alt:")
    st.stop()

st.subheader("Totals by rule")
st.dataframe(totals_table(summary.totals), hide_index=True, width="content")
for total in summary.totals.overall:
    st.plotly_chart(totals_chart(summary.totals, total.currency),
                    key=f"totals_chart_{total.currency}", width="stretch")

# --- discrepancies ----------------------------------------------------------------------------
st.subheader("Discrepancies")
by_label = {RULE_LABELS[rule]: rule for rule in summary.rules}
rule_filter = st.selectbox("Rule", ["All rules", *sorted(by_label)])
shown_rule = by_label.get(rule_filter)
shown_count = discrepancy_count(summary, shown_rule)
page_count = max(1, math.ceil(shown_count / PAGE_SIZE))
page = (st.number_input("Page", min_value=1, max_value=page_count, value=1, step=1,
                        key="discrepancy_page") if page_count > 1 else 1)
with sessions() as session:
    shown = discrepancy_page(session, summary, shown_rule, int(page) - 1)
st.caption(page_caption(int(page) - 1, len(shown), shown_count))
# A page of 100 as a table, not a grid: its cells wrap, so "Why" is read whole at 1440 px.
wrapping_table(discrepancy_table(shown))


def export_report() -> str:
    with sessions() as session:
        return report_csv(stored_report_rows(session, summary))


# Built on the click, only for a sign-in that still holds (see for_live_session).
st.download_button("Export the report (CSV)", for_live_session(export_report),
                   file_name="reconciliation_report.csv", mime="text/csv",
                   icon=":material/download:", on_click="ignore")

# --- corrections ------------------------------------------------------------------------------
st.subheader("Corrections")
outcome = st.session_state.pop("legacy_correction_done", None)
if outcome:
    st.success(outcome, icon=":material/check_circle:")

left_out = f", {len(summary.left_out)} already granted" if summary.left_out else ""
credit_tab, void_tab = st.tabs([
    f"Service credits ({summary.proposed_credit_count:,} proposed{left_out})",
    f"Duplicates ({summary.proposed_void_count:,} to void)"])
with credit_tab:
    if summary.left_out:
        st.caption(left_out_sentence(len(summary.left_out)) + " The customer received these "
                   "credits outside reconciliation (same tenant, period or record, and amount; "
                   "see docs/reconciliation.md), so they are not proposed again.")
        st.dataframe(granted_table(summary.left_out), hide_index=True, width="stretch")
    if summary.related:
        st.caption("Credits already granted for the same period or record, beside these "
                   "proposals: not the same amount or rule, so still proposed. Check them "
                   "before issuing.")
        st.dataframe(granted_table(summary.related), hide_index=True, width="stretch")


def correction_form(tab, proposed: int, kind: CorrectionKind) -> None:
    """Choose proposals by rule and tenant, review their count and total, confirm; the
    operation runs once per press, on the proposals reviewed."""
    crediting = kind is CorrectionKind.CREDIT
    with tab:
        if not proposed:
            st.caption("Nothing left to correct here." if crediting
                       else "No duplicate left to void.")
            return
        if not can(Permission.RECONCILE_LEGACY_BILLING):
            st.caption(f"{proposed:,} proposed; only finance "
                       f"{'issues' if crediting else 'voids'} them.")
            return
        rules, tenants = proposal_filters(summary, kind)
        rule_col, tenant_col = st.columns(2)
        rule_labels = {RULE_LABELS[rule]: rule for rule in rules}
        rule_label = rule_col.selectbox("Rule", ["All rules", *rule_labels],
                                        key=f"rule_{kind}")
        tenant_choice = tenant_col.selectbox("Tenant", ["All tenants", *tenants],
                                             key=f"tenant_{kind}")
        rule = rule_labels.get(rule_label)
        tenant_id = None if tenant_choice == "All tenants" else tenant_choice
        with sessions() as session:
            selection = proposal_selection(session, summary, kind, rule, tenant_id)
        chosen = selection_sentence(selection.count, selection.amounts, kind, rule, tenant_id)
        st.markdown(chosen)
        st.dataframe(proposal_table(selection.rows), hide_index=True, width="stretch")
        if selection.count > len(selection.rows):
            st.caption(f"The first {len(selection.rows):,} of {selection.count:,} shown; "
                       "all of them are corrected.")
        if st.button("Review…", key=f"review_{kind}", disabled=not selection.count):
            with sessions() as session:
                keys = selected_keys(session, summary, kind, rule, tenant_id)
            st.session_state[f"confirm_{kind}"] = (
                (rule_label, tenant_choice), keys, amounts_text(selection.amounts))
        pending = st.session_state.get(f"confirm_{kind}")
        if pending and pending[0] == (rule_label, tenant_choice):  # else: review again
            confirm_correction(kind, *pending[1:])


def confirm_correction(kind: CorrectionKind, keys, total: str) -> None:
    """The reviewed count and total, then the one press that corrects them."""
    crediting = kind is CorrectionKind.CREDIT
    if crediting:
        st.warning(f"Issue **{len(keys):,} service credit(s)**, **{total}** in all, to the "
                   f"customers' draft invoices or credit balances, recorded as "
                   f"{escape_markdown(current_actor())}?", icon=":material/redeem:")
    else:
        st.warning(f"Void **{len(keys):,} duplicate legacy invoice(s)** ({total} billed "
                   f"twice), recorded as {escape_markdown(current_actor())}?",
                   icon=":material/block:")
    confirm_col, cancel_col = st.columns([1, 5])
    if confirm_col.button(f"Confirm: {'issue' if crediting else 'void'} "
                          f"{len(keys):,}", type="primary", key=f"confirm_{kind}_button"):
        operation = issue_legacy_credits if crediting else void_legacy_duplicates

        def correct():
            with sessions.begin() as session:
                return operation(session, keys, actor=current_actor())
        ok, result = run_action(correct)
        st.session_state[f"confirm_{kind}"] = None
        if ok:
            st.session_state["legacy_correction_done"] = outcome_sentence(
                result, "issued" if crediting else "voided")
            st.rerun()
    if cancel_col.button("Cancel", key=f"cancel_{kind}"):
        st.session_state[f"confirm_{kind}"] = None
        st.rerun()


correction_form(credit_tab, summary.proposed_credit_count, CorrectionKind.CREDIT)
correction_form(void_tab, summary.proposed_void_count, CorrectionKind.VOID)
