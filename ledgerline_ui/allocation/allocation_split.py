"""A split as the screen reads it: a page of tenants at a time, whether saved or just
calculated.

A split can cover 25,000 tenants and a person reads a screenful. So the screen asks a
`ShownSplit` for what it draws: the sum check, the largest few tenants (the chart), one
page of tenants in the chosen order (the tables), and every tenant only when the CSV is
downloaded. A saved run answers from the database (`db.reads.allocations`: sorted, paged
and added up there); a split just calculated is in memory and answers by sorting it.
Either way only the rows shown are named and formatted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from billing_core.allocation import Allocation, AllocationRow
from billing_core.money import Money
from db.reads.allocations import (
    AllocationRunView,
    ShareOrder,
    allocation_shares,
    share_totals,
)
from db.reads.tenants import tenant_names
from ledgerline_ui.allocation.allocation_view import ShareRow, SumCheck, share_rows

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class ShownSplit:
    total: Money
    tenant_count: int
    check: SumCheck
    read_page: Callable[[ShareOrder, int, int], list[ShareRow]]
    """(order, offset, limit) -> those rows, named."""
    read_every: Callable[[], list[ShareRow]]
    """Every row, named (for the CSV)."""

    def page(self, order: ShareOrder, number: int) -> list[ShareRow]:
        """Page `number` (from 1) of `PAGE_SIZE` rows in `order`."""
        return self.read_page(order, (number - 1) * PAGE_SIZE, PAGE_SIZE)

    def largest(self, count: int) -> list[ShareRow]:
        return self.read_page(ShareOrder.LARGEST, 0, count)

    @property
    def page_count(self) -> int:
        return max(1, -(-self.tenant_count // PAGE_SIZE))


def saved_split(sessions: Callable[[], Session], run: AllocationRunView) -> ShownSplit:
    """A saved run, read from the database as it is drawn (each read in a session of its
    own, so the CSV's read on a later click needs no session kept open)."""
    def read(order: ShareOrder, offset: int, limit: int | None) -> list[ShareRow]:
        with sessions() as session:
            shares = allocation_shares(session, run, order, limit=limit, offset=offset)
            return share_rows(shares, tenant_names(session, [s.tenant_id for s in shares]))

    with sessions() as session:
        totals = share_totals(session, run)
    return ShownSplit(run.total, totals.tenant_count,
                      SumCheck(totals.parts, run.total, totals.extra_minor),
                      read, lambda: read(ShareOrder.LARGEST, 0, None))


def calculated_split(allocation: Allocation, names: dict[str, str]) -> ShownSplit:
    """A split calculated but not saved: sorted in memory, named from `names` (every tenant
    of the split: sorting by name needs them all)."""
    rows = allocation.rows()
    orders: dict[ShareOrder, Callable[[AllocationRow], tuple[object, ...]]] = {
        ShareOrder.LARGEST: lambda row: (-row.amount.to_minor_units(), row.tenant_id),
        ShareOrder.SMALLEST: lambda row: (row.amount.to_minor_units(), row.tenant_id),
        ShareOrder.TENANT: lambda row: (names.get(row.tenant_id, ""), row.tenant_id),
    }
    sorted_rows: dict[ShareOrder, list[AllocationRow]] = {}

    def read(order: ShareOrder, offset: int, limit: int | None) -> list[ShareRow]:
        if order not in sorted_rows:
            sorted_rows[order] = sorted(rows, key=orders[order])
        end = None if limit is None else offset + limit
        return share_rows(sorted_rows[order][offset:end], names)

    total = allocation.total
    check = SumCheck(Money.from_minor_units(sum(allocation.shares_minor.values()),
                                            total.currency),
                     total, sum(row.extra_minor for row in rows))
    return ShownSplit(total, len(rows), check, read,
                      lambda: read(ShareOrder.LARGEST, 0, None))
