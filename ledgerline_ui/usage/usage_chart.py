"""A tenant's metered usage against what its plan includes, month by month.

Quantities are counted in integer base units (bytes, requests); the chart
shows them in the plan's billing unit (TB, million requests), converted
exactly with Decimal and handed to Plotly as text, like the money charts. The
metric and unit names are escaped for Plotly's label markup
(`ledgerline_ui.tables.plain_text.escape_chart_text`).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from billing_core.money import Money
from billing_core.usage import quantity_text
from billing_core.usage import unit_price_text as _core_unit_price_text
from db.reads.tenants import UsageMonth
from ledgerline_ui.tables.plain_text import escape_chart_text


def unit_price_text(price: Money | None) -> str:
    """A usage price per unit as charged ("$0.023", never "$0.02"); blank when there is none."""
    return "" if price is None else _core_unit_price_text(price)


def usage_chart(usage: Sequence[UsageMonth], metric: str) -> go.Figure:
    """Used (bars) against included (a line) for one metric, oldest month first."""
    months = sorted((m for m in usage if m.metric == metric), key=lambda m: m.month_label)
    unit = escape_chart_text(next((m.unit_name for m in months if m.unit_name), "base units"))
    per_unit = next((m.base_units_per_unit for m in months if m.base_units_per_unit), 1)
    labels = [m.month_label for m in months]
    figure = go.Figure()
    figure.add_bar(x=labels, y=[quantity_text(m.used_base_units, per_unit) for m in months],
                   name="Used", marker_color="#2563eb",
                   customdata=[f"{m.used_base_units:,}" for m in months],
                   hovertemplate="%{x}: %{y} " + unit + " (%{customdata} base units)"
                                 "<extra>Used</extra>")
    if any(m.included_base_units is not None for m in months):
        figure.add_scatter(
            x=labels, name="Included", mode="lines+markers", line={"color": "#dc2626"},
            y=[quantity_text(m.included_base_units, per_unit) if m.included_base_units is not None
               else None for m in months])
    figure.update_layout(title=f"{escape_chart_text(metric)}: used vs included ({unit})",
                         height=320,
                         yaxis={"type": "linear", "title": {"text": unit}, "rangemode": "tozero"},
                         xaxis={"type": "category"}, margin={"t": 50, "b": 10, "l": 10, "r": 10},
                         legend={"orientation": "h"})
    return figure
