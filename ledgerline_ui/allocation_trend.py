"""How each tenant's part of one shared cost moved across saved runs and months.

A manager asks whether a tenant's part of the database cluster is growing. The
saved runs of one shared cost (runs with the same label and currency) are the
points, oldest first, each named by the month it split (its usage period) or,
for weights given by hand, the day it was saved; one line per tenant, for the
tenants with the largest parts (at most a handful, so the chart stays
readable; `ledgerline_ui.allocation_charts.trend_chart` draws them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from billing_core.money import Money
from db.reads.allocations import AllocationRunView


@dataclass(frozen=True, slots=True)
class TrendRun:
    run_id: int
    when: str
    """"2024-11" for a split of that month's usage, "saved 2026-11-30" otherwise."""
    amounts: Mapping[str, Money]
    """Each tenant's amount in this run, by tenant id."""

    @property
    def label(self) -> str:
        return f"#{self.run_id} · {self.when}"


def trend_runs(runs: Sequence[AllocationRunView], label: str, currency: str) -> list[TrendRun]:
    """The runs of the shared cost `label` in `currency`, oldest first."""
    chosen = [run for run in runs if run.label == label and run.total.currency == currency]
    chosen.sort(key=lambda run: (run.period_start or run.created_at.date(), run.run_id))
    return [TrendRun(run.run_id,
                     run.period_start.strftime("%Y-%m") if run.period_start
                     else f"saved {run.created_at.date().isoformat()}",
                     {share.tenant_id: share.amount for share in run.shares})
            for run in chosen]
