"""How each tenant's part of one shared cost moved across saved runs and months.

A manager asks whether a tenant's part of the database cluster is growing. The
saved runs of one shared cost (runs with the same label and currency) are the
points, oldest first, each named by the month it split (its usage period) or,
for weights given by hand, the day it was saved; one line per tenant, for the
tenants with the largest parts (at most a handful, so the chart stays
readable; `ledgerline_ui.allocation.allocation_charts.trend_chart` draws them). The database
picks the runs and those tenants (`db.reads.allocations.allocation_trend`): a run
can hold 25,000 shares, and the chart needs a few of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from billing_core.money import Money
from db.reads.allocations import AllocationTrend


@dataclass(frozen=True, slots=True)
class TrendRun:
    run_id: int
    when: str
    """"2024-11" for a split of that month's usage, "saved 2026-11-30" otherwise."""
    amounts: Mapping[str, Money]
    """The amounts of the trend's largest tenants in this run, by tenant id."""

    @property
    def label(self) -> str:
        return f"#{self.run_id} · {self.when}"


def trend_runs(trend: AllocationTrend) -> list[TrendRun]:
    """The trend's runs, oldest first, each with its largest tenants' amounts."""
    return [TrendRun(point.run_id,
                     point.period_start.strftime("%Y-%m") if point.period_start
                     else f"saved {point.created_at.date().isoformat()}",
                     {tenant_id: by_run[point.run_id]
                      for tenant_id, by_run in trend.amounts.items() if point.run_id in by_run})
            for point in trend.points]
