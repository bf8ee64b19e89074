"""Credits: issue or request a service credit (shown where it lands first), issue or request a
credit note, approve requests, balance history. Finance issues and approves; customer success
requests service credits; managers read."""

import pandas as pd
import streamlit as st

from billing_core.access import Permission, needs_second_approval
from billing_core.credit_ledger import LEDGER_ENTRY_LABELS
from billing_core.credits import CREDIT_NOTE_STATUSES, CreditTarget
from billing_core.money import Money
from billing_core.states import InvoiceStatus
from db.credit_requests import (
    approve_credit_request,
    credit_requests,
    pending_credit_requests,
    reject_credit_request,
    request_credit,
    request_credit_note,
)
from db.credits import (
    credit_approval_threshold,
    issue_credit_note,
    issue_service_credit,
    preview_credit_landing,
    second_approver_needed,
)
from db.reads.invoices import invoice_detail, list_invoices
from db.reads.tenants import tenant_story
from ledgerline_ui.credits.approval_review import REVIEWING_KEY, confirm_approval
from ledgerline_ui.credits.credit_forms import (
    describe_credit_note_outcome,
    describe_credit_note_request,
    describe_credit_outcome,
    read_credit_request,
)
from ledgerline_ui.credits.credit_requests_view import (
    approval_sentence,
    decision_line,
    pending_requests_table,
    requests_history_table,
)
from ledgerline_ui.forms.form_errors import FieldSlots, review_fields
from ledgerline_ui.forms.idempotency import request_key, start_new_request
from ledgerline_ui.invoices.invoice_hub import linked_invoice_id
from ledgerline_ui.invoices.invoice_names import invoice_name_of, invoice_names
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.setup import can, current_actor, setup_page
from ledgerline_ui.tables.formatting import iso_date, money, tenant_label
from ledgerline_ui.tables.plain_text import escape_markdown
from ledgerline_ui.tenants.tenant_picker import pick_tenant

sessions = setup_page("Credits", ":material/redeem:")

st.title("Credits")
st.caption("A service credit lands on the tenant's draft invoice, or waits on the credit balance "
           "for the next invoice. Finalized and paid invoices are never changed: correct them "
           "with a credit note.")

can_issue = can(Permission.ISSUE_CREDITS)
can_request = can(Permission.REQUEST_CREDITS)
can_issue_notes = can(Permission.ISSUE_CREDIT_NOTES)
can_request_notes = can(Permission.REQUEST_CREDIT_NOTES)
can_decide = can(Permission.DECIDE_CREDIT_REQUESTS)
me = current_actor()

# --- requests awaiting approval (all tenants) -----------------------------------------------
with sessions() as session:
    waiting = pending_credit_requests(session, limit=50)
st.subheader(f"Requests awaiting approval ({len(waiting)})")
if flash := st.session_state.pop("credit_request_flash", None):
    st.success(flash, icon=":material/check_circle:")
if not waiting:
    st.caption("No credit request is waiting.")
else:
    # A table, never Markdown: a reason once turned the amount beside it into LaTeX.
    st.dataframe(pending_requests_table(waiting), hide_index=True, width="stretch")

def decide(operation, request):
    """Approve or reject `request` in a transaction of its own, as the signed-in user."""
    with sessions.begin() as session:
        return operation(session, request.tenant_id, request.request_id, actor=current_actor())

for request in waiting if can_decide else ():
    # One line per request: its buttons name it, beside its tenant and amount again.
    line_col, approve_col, reject_col = st.columns([4, 1, 1], vertical_alignment="center")
    line_col.markdown(decision_line(request))
    if request.requested_by == me.user_id:
        line_col.caption(f"You asked for this {request.kind.label}; another finance user "
                         "approves it.")
        continue
    key = f"{request.tenant_id}_{request.request_id}"
    if approve_col.button(f"Approve {request.label}…", key=f"approve_{key}", type="primary",
                          icon=":material/check:", width="stretch"):
        st.session_state[REVIEWING_KEY] = (request.tenant_id, request.request_id)
    if reject_col.button(f"Reject {request.label}", key=f"reject_{key}",
                         icon=":material/close:", width="stretch"):
        ok, _ = run_action(lambda request=request: decide(reject_credit_request, request))
        if ok:
            st.session_state["credit_request_flash"] = (
                f"Request {request.label} rejected; no {request.kind.label} was written.")
            st.rerun()
    if (st.session_state.get(REVIEWING_KEY) == (request.tenant_id, request.request_id)
            and confirm_approval(sessions, request)):
        ok, approved = run_action(lambda request=request: decide(approve_credit_request, request))
        if ok:
            st.session_state.pop(REVIEWING_KEY, None)
            with sessions() as session:
                landed_on = (invoice_name_of(session, request.tenant_id,
                                             approved.credit.invoice_id)
                             if approved.credit and approved.credit.invoice_id else None)
            st.session_state["credit_request_flash"] = approval_sentence(approved, landed_on)
            st.rerun()

st.divider()
tenant = pick_tenant(sessions, preselect=False)
if tenant is None:
    st.caption("Choose a tenant to issue or request a credit, correct an invoice with a credit "
               "note, or read the tenant's credit history.")
    st.stop()
tenant_id, currency = tenant.tenant_id, tenant.currency
st.metric("Credit balance", money(tenant.credit_balance),
          help="Credits waiting for the next invoice generated for this tenant.")
threshold = None
if can_issue or can_issue_notes:
    # A bad LEDGERLINE_CREDIT_APPROVAL_ABOVE is shown here, and every credit and credit note
    # then goes to a second finance user (never a guessed threshold).
    _, threshold = run_action(credit_approval_threshold)


def second_approval_warning(amount: Money, what: str, *, credit_note: bool) -> bool:
    """Warn (and return True) when `amount` must go to a second finance user: above the
    threshold, or past what was given alone in 24 hours (db/four_eyes.py)."""
    if threshold is None:
        st.warning("The approval threshold is not set correctly: a second finance user must "
                   f"approve every {what}. Send it as a request.", icon=":material/group:")
        return True
    if needs_second_approval(amount, threshold):
        st.warning(f"{money(amount)} is above {money(Money(threshold, currency))}: a second "
                   "finance user must approve it. Send it as a request.",
                   icon=":material/group:")
        return True
    with sessions() as session:
        over_window = second_approver_needed(session, tenant_id, amount, actor=me,
                                             credit_note=credit_note)
    if over_window is not None:
        st.warning(escape_markdown(over_window), icon=":material/group:")
        return True
    return False


# Keyed and tracked, so the open tab stays open when a request sent from it adds rows above
# (an unkeyed tabs element would be a new one, opened on its first tab).
# A link from an invoice ("Issue credit note…", ?invoice=<id>) opens the credit-note form on it.
linked_invoice = linked_invoice_id(st.query_params)
credit_tab, note_tab, history_tab = st.tabs(
    ["Service credit" if can_issue else "Request credit", "Credit note", "Balance history"],
    key="credits_tab", on_change="rerun", default="Credit note" if linked_invoice else None)

# --- service credit -------------------------------------------------------------------------
with credit_tab:
    if not (can_issue or can_request):
        st.info(f"You can read credits ({escape_markdown(me)}); finance issues them and "
                "customer success requests them.", icon=":material/lock:")
    else:
        if not can_issue:
            st.caption("Customer success requests credits; a finance user approves or rejects "
                       "each request. Nothing reaches an invoice until then.")
        credit_slots = FieldSlots("service_credit")
        with st.form("service_credit"):
            amount_col, reason_col = st.columns([1, 3])
            amount_text = amount_col.text_input(f"Amount ({currency})", placeholder="200.00")
            credit_slots.keep("amount", amount_col)
            reason = reason_col.text_input("Reason", placeholder="Outage 2024-11-12, 4 hours")
            credit_slots.keep("reason", reason_col)
            reviewed = st.form_submit_button("Review credit" if can_issue else "Request credit")
        if reviewed:
            st.session_state.pop("credit_outcome", None)
            st.session_state["credit_pending"] = review_fields(
                credit_slots, lambda: read_credit_request(tenant_id, currency, amount_text, reason))

        pending = st.session_state.get("credit_pending")
        if pending is not None and pending.tenant_id == tenant_id:
            with sessions() as session:
                ok, landing = run_action(
                    lambda: preview_credit_landing(session, tenant_id, pending.amount))
            if ok:
                lands_on = ("the draft invoice" if landing.target == CreditTarget.INVOICE
                            else "the credit balance")
                st.markdown(f"**Where {money(pending.amount)} will land** ({lands_on})")
                st.info(landing.explanation, icon=":material/pin_drop:")
                on_invoice, on_balance = st.columns(2)
                off_invoice = (f"Off the draft invoice for {landing.invoice_period}"
                               if landing.invoice_period else "Off the draft invoice")
                on_invoice.metric(off_invoice, money(landing.applied))
                on_balance.metric("To the credit balance", money(landing.to_balance))
                st.caption(f"Reason: {escape_markdown(pending.reason)} · recorded as "
                           f"{escape_markdown(current_actor())}")
                above = can_issue and second_approval_warning(pending.amount, "credit",
                                                              credit_note=False)
                key = request_key("service_credit", (tenant_id, pending.amount, pending.reason))

                def submit(operation, outcome_key: str) -> None:
                    def run():
                        with sessions.begin() as session:
                            return operation(session, tenant_id, pending.amount, pending.reason,
                                             actor=current_actor(), idempotency_key=key)
                    ok, outcome = run_action(run)
                    if ok:
                        st.session_state[outcome_key] = (tenant_id, outcome)
                        st.session_state["credit_pending"] = None
                        st.rerun()

                if (not can_issue or above) and st.button(
                        "Send credit request", type="primary", key="confirm_request"):
                    submit(request_credit, "credit_request_outcome")
                if can_issue and not above and st.button("Confirm credit", type="primary",
                                                         key="confirm_credit"):
                    submit(issue_service_credit, "credit_outcome")

        sent = st.session_state.get("credit_request_outcome")
        if sent is not None and sent[0] == tenant_id:
            requested = sent[1]
            st.success(f"Credit request {requested.label} for {money(requested.amount)} "
                       + ("sent: it waits for a finance user's approval." if requested.created
                          else "was already sent; nothing new was written."),
                       icon=":material/outgoing_mail:")
            if st.button("Start another request"):
                start_new_request("service_credit")
                st.session_state.pop("credit_request_outcome", None)
                st.rerun()

        done = st.session_state.get("credit_outcome")
        if done is not None and done[0] == tenant_id:
            outcome = done[1]
            with sessions() as session:
                landed_on = (invoice_name_of(session, tenant_id, outcome.invoice_id)
                             if outcome.invoice_id else None)
            st.success(describe_credit_outcome(outcome, landed_on),
                       icon=":material/check_circle:")
            if st.button("Start another credit"):
                start_new_request("service_credit")
                st.session_state.pop("credit_outcome", None)
                st.rerun()

# --- credit notes ---------------------------------------------------------------------------
with note_tab:
    if not can(Permission.ISSUE_CREDIT_NOTES):
        st.info("Only finance issues credit notes.", icon=":material/lock:")
    else:
        with sessions() as session:
            correctable = [
                invoice for status in InvoiceStatus if status in CREDIT_NOTE_STATUSES
                for invoice in list_invoices(session, tenant_id=tenant_id, status=status,
                                             limit=100).rows]
        if not correctable:
            st.info(f"{escape_markdown(tenant_label(tenant_id, tenant.name))} has no finalized or "
                    "paid invoice to correct. A service credit reaches a draft invoice directly.")
        else:
            by_id = {invoice.invoice_id: invoice for invoice in correctable}
            chosen_id = st.selectbox(
                "Invoice to correct", list(by_id),
                index=list(by_id).index(linked_invoice) if linked_invoice in by_id else 0,
                format_func=lambda i: (f"{by_id[i].label} · {by_id[i].period_label} · "
                                       f"{by_id[i].status} · {money(by_id[i].total)}"))

            def load_detail():
                with sessions() as session:
                    return invoice_detail(session, tenant_id, chosen_id)
            ok, detail = run_action(load_detail)
            if ok:
                chosen = detail.invoice
                st.markdown(f"At most **{money(detail.creditable_left)}** can be credited on "
                            f"{chosen.label}: its total {money(chosen.total)} minus earlier "
                            "credit notes.")
                with sessions() as session:
                    waiting_here = [r for r in pending_credit_requests(session,
                                                                       tenant_id=tenant_id)
                                    if r.invoice_id == chosen_id]
                if waiting_here:
                    st.caption("Waiting for a second finance user on this invoice: " + ", ".join(
                        f"credit note request {r.label} for {escape_markdown(money(r.amount))}"
                        for r in waiting_here) + ".")
                note_slots = FieldSlots("credit_note")
                with st.form("credit_note"):
                    amount_col, reason_col = st.columns([1, 3])
                    note_amount = amount_col.text_input(f"Credit note amount ({currency})",
                                                        placeholder="100.00")
                    note_slots.keep("amount", amount_col)
                    note_reason = reason_col.text_input("Credit note reason",
                                                        placeholder="Billed for unused seats")
                    note_slots.keep("reason", reason_col)
                    note_reviewed = st.form_submit_button("Review credit note")
                if note_reviewed:
                    st.session_state.pop("note_outcome", None)
                    st.session_state.pop("note_request_outcome", None)
                    st.session_state["note_pending"] = review_fields(
                        note_slots, lambda: read_credit_request(
                            tenant_id, currency, note_amount, note_reason, chosen_id,
                            at_most=detail.creditable_left))
                note = st.session_state.get("note_pending")
                if (note is not None and note.tenant_id == tenant_id
                        and note.invoice_id == chosen_id):
                    st.info(f"Credit note of {money(note.amount)} against {chosen.label} "
                            f"({chosen.status}, {money(chosen.total)}). The invoice itself stays "
                            f"as it is. Reason: {escape_markdown(note.reason)}.",
                            icon=":material/receipt_long:")
                    note_above = second_approval_warning(note.amount, "credit note",
                                                         credit_note=True)
                    note_key = request_key("credit_note",
                                           (tenant_id, chosen_id, note.amount, note.reason))

                    def submit_note(operation, outcome_key: str) -> None:
                        def run():
                            with sessions.begin() as session:
                                return operation(session, tenant_id, chosen_id, note.amount,
                                                 note.reason, actor=current_actor(),
                                                 idempotency_key=note_key)
                        ok, outcome = run_action(run)
                        if ok:
                            st.session_state[outcome_key] = (tenant_id, chosen.label, outcome)
                            st.session_state["note_pending"] = None
                            st.rerun()

                    if note_above and not can_request_notes:
                        st.caption("Another finance user must send this credit note.")
                    elif note_above and st.button("Send credit note request", type="primary",
                                                  key="confirm_note_request"):
                        submit_note(request_credit_note, "note_request_outcome")
                    if not note_above and st.button("Confirm credit note", type="primary",
                                                    key="confirm_note"):
                        submit_note(issue_credit_note, "note_outcome")
                note_sent = st.session_state.get("note_request_outcome")
                note_sent = note_sent if note_sent and note_sent[0] == tenant_id else None
                if note_sent is not None:
                    st.success(describe_credit_note_request(note_sent[2]),
                               icon=":material/outgoing_mail:")
                note_done = st.session_state.get("note_outcome")
                note_done = note_done if note_done and note_done[0] == tenant_id else None
                if note_done is not None:
                    st.success(describe_credit_note_outcome(note_done[2], note_done[1]),
                               icon=":material/check_circle:")
                if (note_sent or note_done) and st.button("Start another credit note"):
                    start_new_request("credit_note")
                    st.session_state.pop("note_outcome", None)
                    st.session_state.pop("note_request_outcome", None)
                    st.rerun()

# --- history --------------------------------------------------------------------------------
with history_tab:
    with sessions() as session:
        story = tenant_story(session, tenant_id)
    names = invoice_names(story.invoices)
    st.subheader("Credit balance ledger")
    if story.balance_history:
        st.dataframe(pd.DataFrame([
            {"When": iso_date(entry.created_at), "Entry": LEDGER_ENTRY_LABELS[entry.entry_kind],
             "Amount": money(entry.amount), "Balance after": money(entry.balance_after),
             "Credit": f"#{entry.credit_id}" if entry.credit_id else "",
             "Invoice": names.get(entry.invoice_id, "") if entry.invoice_id else "",
             "By": entry.actor}
            for entry in reversed(story.balance_history)]), hide_index=True, width="stretch")
    else:
        st.caption("No credit has ever waited on this tenant's balance.")
    st.subheader("Service credits")
    if story.credits:
        st.dataframe(pd.DataFrame([
            {"Credit": f"#{credit.credit_id}", "When": iso_date(credit.created_at),
             "Amount": money(credit.amount), "Reason": credit.reason,
             "On invoice": names.get(credit.invoice_id, "") if credit.invoice_id else "",
             "Applied": money(credit.applied), "To balance": money(credit.to_balance),
             "By": credit.actor} for credit in reversed(story.credits)]),
            hide_index=True, width="stretch")
    else:
        st.caption("No service credits.")
    st.subheader("Credit requests")
    with sessions() as session:
        requests = credit_requests(session, tenant_id)
    if requests:
        st.dataframe(requests_history_table(requests), hide_index=True, width="stretch")
    else:
        st.caption("No credit requests.")
    st.subheader("Credit notes")
    if story.credit_notes:
        st.dataframe(pd.DataFrame([
            {"Number": note.number, "When": iso_date(note.created_at),
             "Invoice": names[note.invoice_id], "Amount": money(note.amount),
             "Reason": note.reason, "By": note.actor} for note in reversed(story.credit_notes)]),
            hide_index=True, width="stretch")
    else:
        st.caption("No credit notes.")
