"""How an invoice is addressed in a link: `/Invoice?tenant=<tenant id>&invoice=<invoice id>`.

Invoice ids are numbered per database, and keys lead with the tenant (SPEC 9),
so a link names both. Other screens build links with `invoice_query`; the
invoice screen reads them back with `parse_invoice_query`, which refuses
malformed text with an error naming the parameter. On the invoice screen itself, a
choice goes into the URL through `open_invoice`.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from billing_core.errors import InvalidInput

INVOICE_PAGE = "pages/2_Invoice.py"


def invoice_query(tenant_id: str, invoice_id: int) -> dict[str, str]:
    """The query parameters of the invoice screen for one invoice."""
    return {"tenant": tenant_id, "invoice": str(invoice_id)}


def open_invoice(tenant_id: str, invoice_id: int) -> None:
    """Put one invoice in the invoice screen's URL (a button's callback on that screen): the
    run that follows shows it, and every later click and reload keeps it."""
    st.query_params.from_dict(invoice_query(tenant_id, invoice_id))


def parse_invoice_query(params: Mapping[str, str]) -> tuple[str, int] | None:
    """(tenant id, invoice id) from the link, None when it names no invoice.

    A half or malformed link raises InvalidInput naming the parameter
    ("invoice: 'abc' is not an invoice id").
    """
    tenant = (params.get("tenant") or "").strip()
    invoice = (params.get("invoice") or "").strip()
    if not tenant and not invoice:
        return None
    if not tenant:
        raise InvalidInput("tenant", "is missing from the link; it must name the invoice's tenant")
    if not invoice:
        raise InvalidInput("invoice", "is missing from the link")
    # An id is a BIGINT: at most 19 ASCII digits, measured before int() reads them.
    if (not (invoice.isascii() and invoice.isdigit()) or len(invoice) > 19
            or not 1 <= int(invoice) < 2**63):
        raise InvalidInput("invoice", f"{invoice[:40]!r} is not an invoice id (a whole number)")
    return tenant, int(invoice)
