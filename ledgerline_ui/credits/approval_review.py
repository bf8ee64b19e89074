"""What approving a credit request will do, shown before the approver confirms.

An approver decides on money given to a customer, so "Approve #12" alone is not
enough: the review names the tenant (name and id), the amount, and where the
money will land as of now. A service credit lands on the tenant's draft invoice
(named "draft 2024-11"), or waits on the credit balance for the next invoice
(`db.credits.preview_credit_landing`, the rule approving applies); a credit note
corrects a named finalized or paid invoice, never more than it can still take.
The reason is the requester's text: it is shown as text, never as Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from billing_core.credit_requests import CreditRequestKind
from db.credit_requests import CreditRequestState
from db.credits import preview_credit_landing
from db.reads.invoices import invoice_detail
from db.reads.tenants import tenant_names
from ledgerline_ui.invoices.invoice_names import invoice_name
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.tables.formatting import money, tenant_label
from ledgerline_ui.tables.plain_text import escape_markdown

REVIEWING_KEY = "credit_request_reviewing"
"""Session state: (tenant id, request id) of the request whose review is open."""


@dataclass(frozen=True, slots=True)
class ApprovalReview:
    tenant: str
    """"Acme Corp (ent-acme-corp)"."""
    amount: str
    lands: str
    """Where the money goes if approved now, in one sentence."""
    reason: str


def review_request(session: Session, request: CreditRequestState) -> ApprovalReview:
    """The tenant, amount, landing and reason of `request`, read now (nothing is written)."""
    names = tenant_names(session, [request.tenant_id])
    tenant = tenant_label(request.tenant_id, names.get(request.tenant_id))
    if request.kind is CreditRequestKind.CREDIT_NOTE and request.invoice_id is not None:
        detail = invoice_detail(session, request.tenant_id, request.invoice_id)
        invoice = detail.invoice
        lands = (f"A credit note against invoice {invoice_name(invoice)} ({invoice.status}, "
                 f"total {money(invoice.total)}); {money(detail.creditable_left)} can still be "
                 "credited on it. The invoice itself stays as it is.")
    else:
        landing = preview_credit_landing(session, request.tenant_id, request.amount)
        if landing.invoice is None:
            lands = (f"No draft invoice: all {money(request.amount)} waits on the credit "
                     "balance, and the next invoice generated consumes it.")
        else:
            lands = (f"{money(landing.applied)} off draft {landing.invoice.period_label} "
                     f"(total {money(landing.invoice.total)})")
            lands += (f"; {money(landing.to_balance)} waits on the credit balance."
                      if landing.to_balance else ".")
    return ApprovalReview(tenant, money(request.amount), lands, request.reason)


def confirm_approval(sessions: sessionmaker[Session], request: CreditRequestState) -> bool:
    """Show the review of `request` with Confirm and Cancel; True when Confirm was pressed.
    Cancel closes the review (REVIEWING_KEY) and reruns."""
    with st.container(border=True):
        def read() -> ApprovalReview:
            with sessions() as session:
                return review_request(session, request)
        ok, review = run_action(read)
        if ok and review is not None:
            st.markdown(f"**Approve request {request.label}?** Nothing is issued until you "
                        "confirm.")
            tenant_col, amount_col = st.columns([3, 1])
            tenant_col.metric("Tenant", escape_markdown(review.tenant))
            amount_col.metric("Amount", review.amount)
            st.info(review.lands, icon=":material/pin_drop:")
            st.caption("Reason, as the requester typed it:")
            st.text(review.reason)
        key = f"{request.tenant_id}_{request.request_id}"
        confirm_col, cancel_col = st.columns(2)
        if cancel_col.button("Cancel", key=f"cancel_approve_{key}", width="stretch"):
            st.session_state.pop(REVIEWING_KEY, None)
            st.rerun()
        return ok and confirm_col.button(f"Confirm: approve {request.label}", type="primary",
                                         key=f"confirm_approve_{key}", width="stretch")
