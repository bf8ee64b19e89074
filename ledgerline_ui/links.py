"""Links between screens, as URLs relative to the current page (works behind a base path).

Streamlit serves `pages/2_Invoice.py` at `Invoice`; query parameters select the row.
"""

from __future__ import annotations

from urllib.parse import urlencode


def invoice_url(tenant_id: str, invoice_id: int) -> str:
    return "Invoice?" + urlencode({"tenant": tenant_id, "invoice": invoice_id})


def tenant_url(tenant_id: str) -> str:
    return "Tenant?" + urlencode({"tenant": tenant_id})
