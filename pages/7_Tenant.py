"""Tenant: one tenant's story for a dispute — plans, usage, invoices explained, credits, audit."""

import pandas as pd
import streamlit as st

from db.credit_requests import pending_credit_requests
from db.reads.invoices import invoice_detail
from db.reads.tenants import tenant_story
from ledgerline_ui.back_office.audit_view import audit_table
from ledgerline_ui.credits.credit_requests_view import pending_requests_table
from ledgerline_ui.invoices.invoice_explanation import explain_invoice
from ledgerline_ui.invoices.invoice_links import INVOICE_PAGE, invoice_query
from ledgerline_ui.invoices.invoice_names import invoice_name, invoice_names
from ledgerline_ui.invoices.invoice_tables import lines_table
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.page_links import SCREENS, link_to, page_link
from ledgerline_ui.shell.setup import setup_page
from ledgerline_ui.tables.formatting import iso_date, money, tenant_label
from ledgerline_ui.tables.plain_text import escape_markdown
from ledgerline_ui.tables.wrapping_table import wrapping_table
from ledgerline_ui.tenants.billing_changes import show_billing_changes
from ledgerline_ui.tenants.dispute_view import customer_message, disputed_invoice
from ledgerline_ui.tenants.tenant_picker import pick_tenant
from ledgerline_ui.usage.usage_chart import unit_price_text, usage_chart

sessions = setup_page("Tenant", ":material/apartment:")

st.title("Tenant")
picked = pick_tenant(sessions)
if picked is None:
    st.stop()
with sessions() as session:
    ok, story = run_action(lambda: tenant_story(session, picked.tenant_id))
if not ok:
    st.stop()
tenant = story.tenant

st.header(escape_markdown(tenant_label(tenant.tenant_id, tenant.name)))
plan_col, balance_col, invoices_col, status_col = st.columns(4)
current = story.plan_history[-1] if story.plan_history else None
plan_col.metric("Current plan", escape_markdown(current.plan_name) if current else "none")
balance_col.metric("Credit balance", money(tenant.credit_balance))
invoices_col.metric("Invoices", len(story.invoices))
status_col.metric("Status", "active" if tenant.is_active else "inactive",
                  help=f"Billed in {tenant.currency}, periods anchored on day "
                       f"{tenant.billing_anchor_day}.")

show_billing_changes(sessions, tenant, story.discounts)

# --- explain an invoice ---------------------------------------------------------------------
st.subheader("Explain an invoice")
if story.invoices:
    by_id = {invoice.invoice_id: invoice for invoice in story.invoices}
    wanted = st.query_params.get("invoice")
    ids = list(by_id)
    # A link's id is measured before int() reads it ("²" is a digit to isdigit, not to int).
    known = wanted and wanted.isascii() and wanted.isdigit() and len(wanted) <= 19
    # Unless a link names one, the invoice in dispute: the latest one sent to the customer.
    disputed = disputed_invoice(story.invoices)
    start = (ids.index(int(wanted)) if known and int(wanted) in by_id
             else ids.index(disputed.invoice_id) if disputed else 0)
    chosen_id = st.selectbox(
        "Invoice", ids, index=start,
        format_func=lambda i: (f"{invoice_name(by_id[i])} · {by_id[i].period_label} · "
                               f"{by_id[i].status} · {money(by_id[i].total)}"))

    def load_detail():
        with sessions() as session:
            return invoice_detail(session, tenant.tenant_id, chosen_id)
    ok, detail = run_action(load_detail)
    if ok:
        sentences = explain_invoice(detail, story.plan_history, story.usage)
        # The sentences quote plan names, discount labels and credit reasons as typed.
        st.markdown("\n".join(f"- {escape_markdown(sentence)}" for sentence in sentences))
        with st.expander("The invoice lines"):
            wrapping_table(lines_table(detail.lines))
        st.markdown("**Copy explanation** (customer wording; the copy button is at the "
                    "block's top right)")
        st.code(customer_message(detail, story.plan_history, story.usage), language=None,
                wrap_lines=True)
    # In-app navigation keeps the sign-in (a new tab would be a new, signed-out session).
    page_link(INVOICE_PAGE, label=f"Open invoice {invoice_name(by_id[chosen_id])}",
              icon=":material/receipt_long:",
              query_params=invoice_query(tenant.tenant_id, chosen_id))
else:
    st.info("This tenant has no invoices yet.")

# A tenant's short tables wrap (wrapping_table): in these half-width columns a grid cut the
# usage terms, reasons and explanations at 1440 px. The invoices and the audit trail stay
# grids (sortable, and the audit trail is long).

# --- credit requests waiting ----------------------------------------------------------------
st.subheader("Credit requests waiting for approval")
with sessions() as session:
    waiting = pending_credit_requests(session, tenant_id=tenant.tenant_id)
if waiting:
    wrapping_table(pending_requests_table(waiting))
    link_to(SCREENS[3], label="Approve or reject on Credits",
            query_params={"tenant": tenant.tenant_id})
else:
    st.caption("No credit request is waiting for this tenant.")

# --- invoices -------------------------------------------------------------------------------
st.subheader("Invoices")
if story.invoices:
    # In-app links keep the sign-in (a new tab would be a new, signed-out session).
    for column, invoice in zip(st.columns(4) * len(story.invoices), story.invoices,
                               strict=False):
        with column:
            page_link(INVOICE_PAGE, icon=":material/receipt_long:",
                      label=f"{invoice_name(invoice)} · {invoice.status}",
                      query_params=invoice_query(tenant.tenant_id, invoice.invoice_id))
    st.dataframe(pd.DataFrame([
        {"Invoice": invoice_name(invoice),
         "Period": invoice.period_label, "Status": invoice.status,
         "Subtotal": money(invoice.subtotal), "Discounts": money(invoice.discount),
         "Credits": money(invoice.credit), "Total": money(invoice.total),
         "Finalized": iso_date(invoice.finalized_at), "Paid": iso_date(invoice.paid_at)}
        for invoice in story.invoices]), hide_index=True, width="stretch")

# --- plans and usage ------------------------------------------------------------------------
plans_col, usage_col = st.columns(2, gap="large")
with plans_col:
    st.subheader("Plan history")
    wrapping_table(pd.DataFrame([
        {"From": iso_date(segment.starts_on), "Plan": f"{segment.plan_name} ({segment.plan_id})",
         "Price per month": money(segment.recurring_price),
         "Usage terms": (f"{segment.usage_metric}: {segment.usage_included_base_units:,} base "
                         f"units included, then "
                         f"{unit_price_text(segment.usage_price_per_unit)} per "
                         f"{segment.usage_unit_name}" if segment.usage_metric else "")}
        for segment in story.plan_history]))
    if story.discounts:
        st.markdown("**Discounts** (percentages always come off before fixed amounts)")
        wrapping_table(pd.DataFrame([
            {"Label": d.label,
             "Discount": (f"{d.percent.normalize():f}%" if d.percent is not None
                          else money(d.amount)),
             "Valid": (f"{iso_date(d.valid_from) or 'always'} to "
                       f"{iso_date(d.valid_until) or 'open'}")}
            for d in story.discounts]))
with usage_col:
    st.subheader("Usage against the plan")
    metrics = sorted({month.metric for month in story.usage})
    if metrics:
        for metric in metrics:
            st.plotly_chart(usage_chart(story.usage, metric), key=f"usage_{metric}",
                            width="stretch")
    else:
        st.caption("No metered usage recorded.")

# --- credits, balance, audit ----------------------------------------------------------------
credits_col, balance_col = st.columns(2, gap="large")
with credits_col:
    st.subheader("Credits and credit notes")
    if story.credits or story.credit_notes:
        names = invoice_names(story.invoices)
        wrapping_table(pd.DataFrame(
            [{"What": f"Service credit #{c.credit_id}", "When": iso_date(c.created_at),
              "Amount": money(c.amount), "Reason": c.reason,
              "Where": (f"{money(c.applied)} on invoice {names[c.invoice_id]}" if c.applied else "")
              + (f"{'; ' if c.applied else ''}{money(c.to_balance)} to the balance"
                 if c.to_balance else "")} for c in story.credits]
            + [{"What": f"Credit note {n.number}", "When": iso_date(n.created_at),
                "Amount": money(n.amount), "Reason": n.reason,
                "Where": f"against invoice {names[n.invoice_id]}"} for n in story.credit_notes]))
    else:
        st.caption("No credits or credit notes.")
with balance_col:
    st.subheader("Credit balance")
    if story.balance_history:
        st.dataframe(pd.DataFrame([
            {"When": iso_date(e.created_at), "Entry": e.entry_kind.replace("_", " "),
             "Amount": money(e.amount), "Balance after": money(e.balance_after)}
            for e in reversed(story.balance_history)]), hide_index=True, width="stretch")
    else:
        st.caption(f"Nothing has waited on the balance; it is {money(tenant.credit_balance)}.")

st.subheader("Audit trail")
st.caption("Every change to this tenant's invoices, credits and balance, newest first "
           "(the latest 500).")
st.dataframe(audit_table(story.audit), hide_index=True, width="stretch")
