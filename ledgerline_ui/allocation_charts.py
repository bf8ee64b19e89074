"""Charts of a shared-cost split: each tenant's share, and how the total adds up.

Plotly draws with binary floats, which is fine for a picture and never fine
for money, so this module hands Plotly the exact amounts as Decimal-derived
strings ("333.30") on a linear axis and the formatted amounts ("$333.30") as
labels: no float is made here, and nothing read off a chart is ever used to
compute. Tenant names are Plotly markup like any label (`<a href>` is a link), so
they are escaped (`ledgerline_ui.plain_text.escape_chart_text`).
"""

from __future__ import annotations

import plotly.graph_objects as go

from billing_core.money import CURRENCY_EXPONENTS, Money
from ledgerline_ui.allocation_view import ShareRow, SumCheck
from ledgerline_ui.formatting import money
from ledgerline_ui.plain_text import escape_chart_text

MAX_BARS = 20


def _number(amount: Money) -> str:
    return format(amount.amount, "f")


def _axis(currency: str) -> dict[str, object]:
    return {"type": "linear", "title": {"text": f"Amount ({currency})"},
            "tickformat": f",.{CURRENCY_EXPONENTS[currency]}f", "rangemode": "tozero"}


def share_bar_chart(rows: list[ShareRow], currency: str) -> go.Figure:
    """One horizontal bar per tenant, largest first (the largest MAX_BARS when there are more)."""
    ordered = sorted(rows, key=lambda row: (-row.amount.to_minor_units(), row.tenant_id))
    shown = ordered[:MAX_BARS]
    title = ("Share per tenant" if len(shown) == len(rows)
             else f"Share per tenant: the largest {len(shown)} of {len(rows)}")
    shown.reverse()  # Plotly draws the first bar at the bottom
    figure = go.Figure(go.Bar(
        y=[escape_chart_text(row.label) for row in shown], x=[_number(row.amount) for row in shown],
        orientation="h", text=[money(row.amount) for row in shown], textposition="auto",
        hovertemplate="%{y}<br>%{text}<extra></extra>", marker_color="#2563eb"))
    figure.update_layout(title=title, xaxis=_axis(currency), yaxis={"type": "category"},
                         height=max(300, 120 + 26 * len(shown)),
                         margin={"t": 50, "b": 10, "l": 10, "r": 10})
    return figure


def total_waterfall(rows: list[ShareRow], check: SumCheck) -> go.Figure:
    """Floors of every quota, plus the leftover minor units, make exactly the total."""
    currency = check.total.currency
    floors = sum((row.floor for row in rows), Money.zero(currency))
    extras = Money.from_minor_units(check.extra_minor, currency)
    steps = [(f"Floors ({len(rows)} tenants)", floors, "relative"),
             (f"Leftover units ({check.extra_minor})", extras, "relative"),
             ("Total", check.parts, "total")]
    figure = go.Figure(go.Waterfall(
        x=[label for label, _, _ in steps], y=[_number(amount) for _, amount, _ in steps],
        measure=[measure for _, _, measure in steps],
        text=[money(amount) for _, amount, _ in steps], textposition="outside",
        hovertemplate="%{x}<br>%{text}<extra></extra>",
        connector={"line": {"color": "#94a3b8"}},
        increasing={"marker": {"color": "#2563eb"}}, totals={"marker": {"color": "#0f766e"}}))
    figure.update_layout(title=f"How the total adds up: {money(check.total)}",
                         yaxis=_axis(currency), height=380, showlegend=False,
                         margin={"t": 50, "b": 10, "l": 10, "r": 10})
    return figure
