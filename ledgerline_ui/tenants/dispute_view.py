"""The Tenant screen for a dispute: which invoice is disputed, and what to send the customer.

A customer calls about the bill they received: the latest finalized invoice
(not yet paid), else the latest paid one; a draft has not been sent to anyone.
So the screen opens on that invoice unless a link names another.

Customer success then answers in the customer's own terms: `customer_message`
tells the invoice in the second person ("From 2024-11-16 you were on Compute
tier ($1,000.00/month): 15 of 30 days = $500.00."), the same sentences as the
screen (`ledgerline_ui.invoices.invoice_explanation`), ready to paste into an email.
The screen shows it as a code block, whose copy button copies it as it is:
plain text, nothing rendered.
"""

from __future__ import annotations

from collections.abc import Sequence

from billing_core.states import InvoiceStatus
from db.reads.invoices import InvoiceDetail, InvoiceSummary
from db.reads.tenants import PlanSegmentView, UsageMonth
from ledgerline_ui.invoices.invoice_explanation import explain_invoice
from ledgerline_ui.invoices.invoice_names import invoice_name

_SENT = (InvoiceStatus.FINALIZED, InvoiceStatus.PAID)


def disputed_invoice(invoices: Sequence[InvoiceSummary]) -> InvoiceSummary | None:
    """The latest finalized invoice, else the latest paid one, else the latest of any status
    (`invoices` newest period first, as `tenant_story` reads them)."""
    for status in _SENT:
        for invoice in invoices:
            if invoice.status == status:
                return invoice
    return invoices[0] if invoices else None


def customer_message(detail: InvoiceDetail, plan_history: Sequence[PlanSegmentView],
                     usage: Sequence[UsageMonth] = ()) -> str:
    """The explanation as a short message to the customer, in plain text."""
    invoice = detail.invoice
    customer = invoice.tenant_name or invoice.tenant_id
    sentences = explain_invoice(detail, plan_history, usage, who="you were")
    return "\n".join([
        f"Hello {customer},",
        "",
        f"Here is how invoice {invoice_name(invoice)} for {invoice.period_label} was "
        "calculated, step by step:",
        "",
        *(f"- {sentence}" for sentence in sentences),
        "",
        "Each amount is rounded once, to the cent, and the steps add up to the total. "
        "If anything still looks wrong, reply to this message and we will look at it with you.",
    ])
