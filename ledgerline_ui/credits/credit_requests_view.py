"""Credit requests as the approver reads them: a table, one row a request, and what approving did.

The approver decides on an amount, so nothing the requester typed may change how
the amount reads. A reason once sat in the same Markdown line as the amount, and
a `$` in it made the amount part of a LaTeX formula: finance read "$90.00" and
approved $9,000.00. So the requests are a dataframe, whose cells Streamlit never
parses, and the line beside each request's buttons names the request, tenant,
what it asks for (a credit note names its invoice) and amount again, with the
tenant and invoice escaped (`ledgerline_ui.tables.plain_text`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from billing_core.access import ROLE_LABELS
from billing_core.credit_requests import CreditRequestKind
from db.credit_requests import ApprovalOutcome, CreditRequestState
from ledgerline_ui.credits.credit_forms import describe_credit_note_outcome, describe_credit_outcome
from ledgerline_ui.tables.formatting import iso_date, money
from ledgerline_ui.tables.plain_text import escape_markdown

# The reason, as long as its author made it, comes after who asked: the grid shows the
# columns that fit first.
PENDING_COLUMNS = ["Request", "Kind", "Tenant", "Invoice", "Amount", "Requested by", "Reason",
                   "Requested"]
HISTORY_COLUMNS = ["Request", "Kind", "Invoice", "When", "Amount", "Reason", "Asked by", "Status",
                   "Decided by", "Issued"]


def kind_label(request: CreditRequestState) -> str:
    """"Service credit" or "Credit note"."""
    return request.kind.label.capitalize()


def pending_requests_table(requests: Iterable[CreditRequestState]) -> pd.DataFrame:
    """Request, kind, tenant, invoice (a credit note's), amount, who asked (and as what), reason
    (as typed), when."""
    return pd.DataFrame(
        [{"Request": request.label, "Kind": kind_label(request), "Tenant": request.tenant_id,
          "Invoice": request.invoice_label or "", "Amount": money(request.amount),
          "Reason": request.reason,
          "Requested by": f"{request.requested_by} "
                          f"({ROLE_LABELS[request.requested_by_role].lower()})",
          "Requested": iso_date(request.requested_at)} for request in requests],
        columns=PENDING_COLUMNS)


def requests_history_table(requests: Iterable[CreditRequestState]) -> pd.DataFrame:
    """A tenant's requests whatever their status, with the credit or note each approval issued."""
    return pd.DataFrame(
        [{"Request": r.label, "Kind": kind_label(r), "Invoice": r.invoice_label or "",
          "When": iso_date(r.requested_at), "Amount": money(r.amount), "Reason": r.reason,
          "Asked by": r.requested_by, "Status": r.status.value, "Decided by": r.decided_by or "",
          "Issued": (f"credit #{r.credit_id}" if r.credit_id else r.credit_note_number or "")}
         for r in requests],
        columns=HISTORY_COLUMNS)


def decision_line(request: CreditRequestState) -> str:
    """Markdown naming the request its buttons decide: "**Request #12** · ent-x · **$9,000.00**",
    or for a note "**Request #13** · ent-x · credit note on INV-2024-000010 · **$1,500.00**"."""
    asks = ""
    if request.kind is CreditRequestKind.CREDIT_NOTE:
        asks = f"credit note on {escape_markdown(request.invoice_label)} · "
    return (f"**Request {request.label}** · {escape_markdown(request.tenant_id)} · {asks}"
            f"**{escape_markdown(money(request.amount))}**")


def approval_sentence(approved: ApprovalOutcome, landed_on: str | None = None) -> str:
    """"Request #12 approved. Credit #7 issued. ..." or "... Credit note CN-... issued: ..."."""
    request = approved.request
    if approved.credit_note is not None:
        done = describe_credit_note_outcome(approved.credit_note, request.invoice_label)
    else:
        done = describe_credit_outcome(approved.credit, landed_on)
    return f"Request {request.label} approved. {done}"
