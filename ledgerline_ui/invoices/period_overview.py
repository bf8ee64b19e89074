"""A billing month at a glance: invoices by status, what they add up to, what is still owed.

`db.reads.periods.status_summary` gives counts and totals per status (one total per
currency). The home screen wants a few more figures that are sums of those:
everything billed (finalized or paid: a draft is not a bill yet, and a void one
is none any more), what is still to be collected (finalized, not yet paid) and
what is still being drafted. Money is added here, per
currency, with `Money` (never across currencies, never in floats).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from billing_core.money import Money
from billing_core.states import INVOICE_STATUS_LABELS, InvoiceStatus
from db.reads.periods import PeriodSummary, StatusTotals
from ledgerline_ui.tables.formatting import money

BILLED = (InvoiceStatus.FINALIZED, InvoiceStatus.PAID)
STATUS_LABELS = {**INVOICE_STATUS_LABELS, InvoiceStatus.FINALIZED:
                 f"{INVOICE_STATUS_LABELS[InvoiceStatus.FINALIZED]} (awaiting payment)"}
"""The statuses as the month's overview names them: a finalized invoice is what is owed."""


@dataclass(frozen=True, slots=True)
class Overview:
    invoices: int
    billed: tuple[Money, ...]
    """Finalized + paid, per currency (drafts and void excluded)."""
    to_collect: tuple[Money, ...]
    """Finalized, not yet paid."""
    drafting: tuple[Money, ...]


def overview(summary: PeriodSummary) -> Overview:
    by_status = {row.status: row for row in summary.by_status}
    return Overview(
        invoices=sum(row.count for row in summary.by_status),
        billed=_add(by_status, BILLED),
        to_collect=_add(by_status, (InvoiceStatus.FINALIZED,)),
        drafting=_add(by_status, (InvoiceStatus.DRAFT,)),
    )


def amounts_text(amounts: Iterable[Money]) -> str:
    """ "$1,000.00 + EUR 20.00", or "$0.00"-like "none" when there is nothing."""
    shown = [money(amount) for amount in amounts]
    return " + ".join(shown) if shown else "none"


def _add(by_status: dict[str, StatusTotals],
         statuses: Iterable[InvoiceStatus]) -> tuple[Money, ...]:
    sums: dict[str, Money] = {}
    for status in statuses:
        row = by_status.get(status.value)
        for total in row.totals if row else ():
            sums[total.currency] = sums[total.currency] + total if total.currency in sums else total
    return tuple(sums[currency] for currency in sorted(sums))
