"""Reconciliation: import the old system's bills, see every account it got wrong, correct it."""

import streamlit as st

from billing_core.access import Permission
from billing_core.legacy_csv import LegacyFileError
from billing_core.reconciliation import CorrectionKind
from db.reconciliation import (
    import_legacy_file,
    import_sample_legacy_file,
    issue_legacy_credits,
    reconciliation_report,
    void_legacy_duplicates,
)
from ledgerline_ui.feedback import run_action
from ledgerline_ui.formatting import iso_date
from ledgerline_ui.plain_text import escape_markdown
from ledgerline_ui.reconciliation_view import (
    amounts_text,
    bad_lines_table,
    correction_label,
    discrepancy_table,
    granted_table,
    left_out_sentence,
    outcome_sentence,
    report_csv,
    totals_chart,
    totals_table,
)
from ledgerline_ui.setup import can, current_actor, for_live_session, setup_page
from ledgerline_ui.upload_limits import refuse_oversized_upload

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

with sessions() as session:
    report = reconciliation_report(session)

if not report.imports:
    st.info("No legacy billing file imported yet. Import one above, or load the sample.",
            icon=":material/upload_file:")
    st.stop()

latest = report.imports[0]
st.caption(f"{report.invoice_count:,} legacy invoices and {report.allocation_count:,} "
           f"allocation shares from {len(report.imports)} file(s); latest: "
           f"{escape_markdown(latest.file_name)}, imported by {escape_markdown(latest.actor)} on "
           f"{iso_date(latest.imported_at)}.")

# --- totals -----------------------------------------------------------------------------------
overcharged = [t.overcharged for t in report.totals.overall]
undercharged = [t.undercharged for t in report.totals.overall]
figures = st.columns(4)
figures[0].metric("Discrepancies", f"{len(report.rows):,}")
figures[1].metric("Overcharged", amounts_text(overcharged),
                  help="What customers paid too much: credited to them on request.")
figures[2].metric("Undercharged", amounts_text(undercharged),
                  help="What customers paid too little: reported, never collected.")
pending_count = len(report.proposed_credits) + len(report.proposed_voids)
figures[3].metric("Corrections pending", f"{pending_count:,}",
                  help=left_out_sentence(len(report.left_out)) if report.left_out else None)

if not report.rows:
    st.success("Every legacy invoice matches the rules: nothing to correct.",
               icon=":material/task_alt:")
    st.stop()

st.subheader("Totals by rule")
st.dataframe(totals_table(report.totals), hide_index=True, width="content")
for total in report.totals.overall:
    st.plotly_chart(totals_chart(report.totals, total.currency),
                    key=f"totals_chart_{total.currency}", width="stretch")

# --- discrepancies ----------------------------------------------------------------------------
st.subheader("Discrepancies")
rules = sorted({row.discrepancy.rule_label for row in report.rows})
rule_filter = st.selectbox("Rule", ["All rules", *rules])
shown = [row for row in report.rows
         if rule_filter == "All rules" or row.discrepancy.rule_label == rule_filter]
st.dataframe(discrepancy_table(shown), hide_index=True, width="stretch")
# Built on the click, only for a sign-in that still holds (see for_live_session).
st.download_button("Export the report (CSV)", for_live_session(lambda: report_csv(report.rows)),
                   file_name="reconciliation_report.csv", mime="text/csv",
                   icon=":material/download:", on_click="ignore")

# --- corrections ------------------------------------------------------------------------------
st.subheader("Corrections")
outcome = st.session_state.pop("legacy_correction_done", None)
if outcome:
    st.success(outcome, icon=":material/check_circle:")

left_out = f", {len(report.left_out)} already granted" if report.left_out else ""
credit_tab, void_tab = st.tabs([
    f"Credit notes ({len(report.proposed_credits)} proposed{left_out})",
    f"Duplicates ({len(report.proposed_voids)} to void)"])
with credit_tab:
    if report.left_out:
        st.caption(left_out_sentence(len(report.left_out)) + " The customer received these "
                   "credits outside reconciliation (same tenant, period or record, and amount; "
                   "see docs/reconciliation.md), so they are not proposed again.")
        st.dataframe(granted_table(report.left_out), hide_index=True, width="stretch")
    related = [row for row in report.proposed_credits if row.granted]
    if related:
        st.caption("Credits already granted for the same period or record, beside these "
                   "proposals: not the same amount or rule, so still proposed. Check them "
                   "before issuing.")
        st.dataframe(granted_table(related), hide_index=True, width="stretch")


def correction_form(tab, proposals, kind: CorrectionKind) -> None:
    """Pick proposals, review the count and total, confirm; the operation runs once per press."""
    crediting = kind is CorrectionKind.CREDIT
    verb = "issued" if crediting else "voided"
    with tab:
        if not proposals:
            st.caption("Nothing left to correct here." if crediting
                       else "No duplicate left to void.")
            return
        if not can(Permission.RECONCILE_LEGACY_BILLING):
            st.caption(f"{len(proposals)} proposed; only finance {verb.replace('ed', '')}s them."
                       if not crediting else
                       f"{len(proposals)} proposed; only finance issues them.")
            return
        by_label = {correction_label(row): row for row in proposals}
        picked = st.multiselect(
            "Credit these overcharges" if crediting else "Void these duplicates",
            list(by_label), default=list(by_label), key=f"pick_{kind}")
        if st.button("Review…", key=f"review_{kind}", disabled=not picked):
            st.session_state[f"confirm_{kind}"] = tuple(picked)
        pending = st.session_state.get(f"confirm_{kind}")
        if not pending:
            return
        chosen = [by_label[label] for label in pending if label in by_label]
        total = amounts_text(row.discrepancy.difference for row in chosen)
        if crediting:
            st.warning(f"Issue **{len(chosen)} credit note(s)**, **{total}** in all, to the "
                       f"customers' draft invoices or credit balances, recorded as "
                       f"{escape_markdown(current_actor())}?", icon=":material/redeem:")
        else:
            st.warning(f"Void **{len(chosen)} duplicate legacy invoice(s)** ({total} billed "
                       f"twice), recorded as {escape_markdown(current_actor())}?",
                       icon=":material/block:")
        confirm_col, cancel_col = st.columns([1, 5])
        if confirm_col.button(f"Confirm: {'issue' if crediting else 'void'} "
                              f"{len(chosen)}", type="primary", key=f"confirm_{kind}_button"):
            operation = issue_legacy_credits if crediting else void_legacy_duplicates

            def correct():
                with sessions.begin() as session:
                    return operation(session, [row.discrepancy.key for row in chosen],
                                     actor=current_actor())
            ok, result = run_action(correct)
            st.session_state[f"confirm_{kind}"] = None
            if ok:
                st.session_state["legacy_correction_done"] = outcome_sentence(result, verb)
                st.rerun()
        if cancel_col.button("Cancel", key=f"cancel_{kind}"):
            st.session_state[f"confirm_{kind}"] = None
            st.rerun()


correction_form(credit_tab, report.proposed_credits, CorrectionKind.CREDIT)
correction_form(void_tab, report.proposed_voids, CorrectionKind.VOID)
