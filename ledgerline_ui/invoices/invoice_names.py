"""How every screen names an invoice: its number, or "draft 2024-11".

People find invoices by number, and a draft has none yet. Its database id
("#5") means nothing to a customer or to finance reading a credit's history, so
a draft is named by the month it bills, which is unique per tenant among the
invoices that are not void (SPEC 8). A void invoice without a number is
"void draft 2024-11".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy.orm import Session

from billing_core.states import InvoiceStatus
from db.reads.invoices import tenant_invoices


class NamedInvoice(Protocol):
    @property
    def invoice_id(self) -> int: ...
    @property
    def number(self) -> str | None: ...
    @property
    def period_label(self) -> str: ...
    @property
    def status(self) -> str: ...


def invoice_name(invoice: NamedInvoice) -> str:
    """"INV-2024-000012", "draft 2024-11", or "void draft 2024-11"."""
    if invoice.number:
        return invoice.number
    void = "void " if invoice.status == InvoiceStatus.VOID else ""
    return f"{void}draft {invoice.period_label}"


def invoice_names(invoices: Iterable[NamedInvoice]) -> dict[int, str]:
    """Each invoice's name by its id, for tables that hold only the id."""
    return {invoice.invoice_id: invoice_name(invoice) for invoice in invoices}


def invoice_name_of(session: Session, tenant_id: str, invoice_id: int) -> str:
    """The name of one of `tenant_id`'s invoices, read by its id."""
    return invoice_names(tenant_invoices(session, tenant_id)).get(invoice_id,
                                                                  f"invoice {invoice_id}")
