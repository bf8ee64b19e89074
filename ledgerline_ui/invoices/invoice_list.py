"""Paging through the invoice list: the filter, and where the reader is in it.

The list pages in the database by keyset (`db.reads.invoices.list_invoices(after=...)`):
each page starts after the last row of the previous one, so page 2,000 of a
million invoices costs what page 1 costs, which OFFSET cannot promise. The
price is that pages are walked, not jumped to: the screen keeps the cursors of
the pages it has passed (a short stack in the session), so "Previous" goes back
exactly and "Next" goes on. Changing a filter starts again at page 1.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from db.reads.invoices import InvoiceCount, InvoiceCursor, InvoiceOrder

PAGE_SIZE = 50
_STATE_KEY = "invoice_list_position"


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    tenant_id: str | None
    period_label: str | None
    status: str | None
    order: InvoiceOrder = InvoiceOrder.NEWEST_PERIOD

    def csv_file_name(self) -> str:
        parts = ["invoices", self.tenant_id, self.period_label, self.status]
        return "_".join(part for part in parts if part) + ".csv"


@dataclass(slots=True)
class ListPosition:
    """The filter being paged and the cursors of the pages before the current one."""

    filter: InvoiceFilter
    cursors: list[InvoiceCursor | None]

    @classmethod
    def of(cls, state: MutableMapping[str, Any], wanted: InvoiceFilter) -> ListPosition:
        """The position kept in `state` for `wanted`; page 1 when the filter changed."""
        position = state.get(_STATE_KEY)
        if not isinstance(position, ListPosition) or position.filter != wanted:
            position = ListPosition(wanted, [None])
            state[_STATE_KEY] = position
        return position

    @property
    def number(self) -> int:
        return len(self.cursors)

    @property
    def cursor(self) -> InvoiceCursor | None:
        return self.cursors[-1]

    def forward(self, state: MutableMapping[str, Any], cursor: InvoiceCursor) -> None:
        state[_STATE_KEY] = ListPosition(self.filter, [*self.cursors, cursor])

    def back(self, state: MutableMapping[str, Any]) -> None:
        state[_STATE_KEY] = ListPosition(self.filter, self.cursors[:-1] or [None])


def page_caption(page_number: int, rows_on_page: int, matching: InvoiceCount,
                 order: InvoiceOrder = InvoiceOrder.NEWEST_PERIOD) -> str:
    """ "Invoices 51-100 of 1,234 (page 2 of 25)", or "of about 1,000,000 (page 2)" when the
    count is the planner's estimate (see `db.reads.invoices.count_invoices`)."""
    if rows_on_page == 0:
        return "No invoices match." if page_number == 1 else f"Page {page_number:,} is empty."
    first = (page_number - 1) * PAGE_SIZE + 1
    last = first + rows_on_page - 1
    if not matching.exact:
        return (f"Invoices {first:,}-{last:,} of about {matching.count:,} "
                f"(page {page_number:,}, {order.value})")
    pages = max(1, -(-matching.count // PAGE_SIZE))
    return (f"Invoices {first:,}-{last:,} of {matching.count:,} "
            f"(page {page_number:,} of {pages:,}, {order.value})")
