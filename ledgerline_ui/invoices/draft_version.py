"""The draft version a person reviews, carried from the click to the finalize (SPEC 13).

A draft can be re-priced while someone looks at it (a plan change, a discount,
usage arriving). The Invoice screen shows when the draft was last priced, and
remembers the version it showed when "Finalize…" was pressed; confirming
finalizes that version, so a draft re-priced in between is refused with both
totals ("Invoice #12 changed since you opened it: $800.00 is now $812.40;
review it again") instead of being finalized unseen.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from db.reads.invoices import InvoiceSummary
from ledgerline_ui.tables.formatting import iso_date


def priced_at_text(invoice: InvoiceSummary) -> str | None:
    """"Priced at 2024-11-30 05:12 UTC (version 2)" for a draft; None once it is issued."""
    if invoice.number is not None or invoice.priced_at is None:
        return None
    return f"Priced at {iso_date(invoice.priced_at)} (version {invoice.price_version})"


def reviewed_key(invoice: InvoiceSummary) -> str:
    return f"invoice_reviewed_version_{invoice.tenant_id}_{invoice.invoice_id}"


def remember_reviewed(state: MutableMapping[str, object], invoice: InvoiceSummary) -> None:
    """Keep the version on screen when the person asks to finalize."""
    state[reviewed_key(invoice)] = invoice.price_version


def take_reviewed(state: MutableMapping[str, object], invoice: InvoiceSummary) -> int:
    """The version the person asked to finalize (the one on screen if none was kept)."""
    version = state.pop(reviewed_key(invoice), None)
    return version if isinstance(version, int) else invoice.price_version
