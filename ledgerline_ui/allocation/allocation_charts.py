"""Charts of a shared-cost split: each tenant's share beside the others', and each tenant's
part across saved runs.

Plotly draws with binary floats, which is fine for a picture and never fine
for money, so this module hands Plotly the exact amounts as Decimal-derived
strings ("333.30") on a linear axis and the formatted amounts ("$333.30") as
labels: no float is made here, and nothing read off a chart is ever used to
compute. Tenant names are Plotly markup like any label (`<a href>` is a link), so
they are escaped (`ledgerline_ui.tables.plain_text.escape_chart_text`).
"""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go

from billing_core.money import CURRENCY_EXPONENTS, Money
from ledgerline_ui.allocation.allocation_trend import TrendRun
from ledgerline_ui.allocation.allocation_view import ShareRow
from ledgerline_ui.tables.formatting import money, tenant_label
from ledgerline_ui.tables.plain_text import escape_chart_text

MAX_BARS = 20
MAX_LINES = 8


def _number(amount: Money) -> str:
    return format(amount.amount, "f")


def _axis(currency: str) -> dict[str, object]:
    return {"type": "linear", "title": {"text": f"Amount ({currency})"},
            "tickformat": f",.{CURRENCY_EXPONENTS[currency]}f", "rangemode": "tozero"}


def share_bar_chart(largest: list[ShareRow], tenant_count: int, currency: str) -> go.Figure:
    """One horizontal bar per tenant of `largest` (the split's largest MAX_BARS, largest
    first) out of the split's `tenant_count`."""
    shown = list(largest[:MAX_BARS])
    title = ("Share per tenant" if len(shown) == tenant_count
             else f"Share per tenant: the largest {len(shown)} of {tenant_count:,}")
    shown.reverse()  # Plotly draws the first bar at the bottom
    figure = go.Figure(go.Bar(
        y=[escape_chart_text(row.label) for row in shown], x=[_number(row.amount) for row in shown],
        orientation="h", text=[money(row.amount) for row in shown], textposition="auto",
        hovertemplate="%{y}<br>%{text}<extra></extra>", marker_color="#2563eb"))
    figure.update_layout(title=title, xaxis=_axis(currency), yaxis={"type": "category"},
                         height=max(300, 120 + 26 * len(shown)),
                         margin={"t": 50, "b": 10, "l": 10, "r": 10})
    return figure


def trend_chart(runs: list[TrendRun], names: Mapping[str, str], currency: str,
                tenant_count: int) -> go.Figure:
    """One line per tenant across `runs` (the MAX_LINES tenants with the largest parts, of
    `tenant_count` in the runs)."""
    largest: dict[str, int] = {}
    for run in runs:
        for tenant_id, amount in run.amounts.items():
            largest[tenant_id] = max(largest.get(tenant_id, 0), amount.to_minor_units())
    tenants = sorted(largest, key=lambda tenant_id: (-largest[tenant_id], tenant_id))[:MAX_LINES]
    figure = go.Figure()
    for tenant_id in tenants:
        name = escape_chart_text(tenant_label(tenant_id, names.get(tenant_id)))
        amounts = [run.amounts.get(tenant_id, Money.zero(currency)) for run in runs]
        figure.add_trace(go.Scatter(
            x=[run.label for run in runs], y=[_number(amount) for amount in amounts],
            mode="lines+markers", name=name, text=[money(amount) for amount in amounts],
            hovertemplate=f"{name}<br>%{{x}}<br>%{{text}}<extra></extra>"))
    shown = "" if len(tenants) == tenant_count else f" (the largest {len(tenants)} of " \
                                                   f"{tenant_count:,} tenants)"
    figure.update_layout(title=f"Each tenant's part across saved runs{shown}",
                         xaxis={"type": "category", "title": {"text": "Saved run"}},
                         yaxis=_axis(currency), height=420,
                         margin={"t": 50, "b": 10, "l": 10, "r": 10})
    return figure
