"""Credit requests awaiting approval, as the approver reads them: a table, one row a request.

The approver decides on an amount, so nothing the requester typed may change how
the amount reads. A reason once sat in the same Markdown line as the amount, and
a `$` in it made the amount part of a LaTeX formula: finance read "$90.00" and
approved $9,000.00. So the requests are a dataframe, whose cells Streamlit never
parses, and the line beside each request's buttons names the request, tenant and
amount again with the tenant escaped (`ledgerline_ui.plain_text`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from db.credit_requests import CreditRequestState
from ledgerline_ui.formatting import iso_date, money
from ledgerline_ui.plain_text import escape_markdown

PENDING_COLUMNS = ["Request", "Tenant", "Amount", "Reason", "Requested by", "Requested"]


def pending_requests_table(requests: Iterable[CreditRequestState]) -> pd.DataFrame:
    """Request, tenant, amount, reason (as typed), who asked (and as what), when."""
    return pd.DataFrame(
        [{"Request": request.label, "Tenant": request.tenant_id, "Amount": money(request.amount),
          "Reason": request.reason,
          "Requested by": f"{request.requested_by} "
                          f"({request.requested_by_role.replace('_', ' ')})",
          "Requested": iso_date(request.requested_at)} for request in requests],
        columns=PENDING_COLUMNS)


def decision_line(request: CreditRequestState) -> str:
    """Markdown naming the request its buttons decide: "**Request #12** · ent-x · **$9,000.00**"."""
    return (f"**Request {request.label}** · {escape_markdown(request.tenant_id)} · "
            f"**{escape_markdown(money(request.amount))}**")
