"""What the Usage screen shows: imports, late usage, a refused file's lines, daily usage.

Everything here turns rows into tables, sentences and a chart; nothing reads the
database or decides anything. Texts people or meters typed (file names, reasons,
event ids) go into table cells or through `escape_chart_text`, never into Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate

import pandas as pd
import plotly.graph_objects as go

from billing_core.usage import quantity_text
from billing_core.usage_events import LateUsageStatus, LineProblem
from db.reads.usage import DailyUsage, LateUsageRow, UsageImportRow
from ledgerline_ui.invoices.invoice_names import invoice_name
from ledgerline_ui.tables.formatting import money
from ledgerline_ui.tables.plain_text import escape_chart_text

_SOURCE_LABELS = {"file": "Upload", "command": "Command line", "api": "API"}
_STATUS_LABELS = {LateUsageStatus.OPEN: "Open", LateUsageStatus.BILLED: "Billed",
                  LateUsageStatus.WAIVED: "Waived"}


def import_history_table(rows: Sequence[UsageImportRow]) -> pd.DataFrame:
    """One import a row, newest first: where from, who, and what became of its events; a file
    sent again byte for byte names the import it repeats."""
    columns = ["Import", "When (UTC)", "Source", "File", "Same file as", "By", "Received", "New",
               "Duplicates", "Conflicts", "Late", "Drafts re-priced"]
    return pd.DataFrame([{
        "Import": f"#{row.import_id}", "When (UTC)": f"{row.imported_at:%Y-%m-%d %H:%M}",
        "Source": _SOURCE_LABELS.get(row.source, row.source), "File": row.file_name or "",
        "Same file as": "" if row.repeats_import_id is None else f"#{row.repeats_import_id}",
        "By": row.actor, "Received": f"{row.received:,}", "New": f"{row.new:,}",
        "Duplicates": f"{row.duplicate:,}", "Conflicts": f"{row.conflict:,}",
        "Late": f"{row.late:,}", "Drafts re-priced": f"{row.repriced:,}",
    } for row in rows], columns=columns)


def late_usage_label(row: LateUsageRow) -> str:
    """How a late-usage group is named in the picker: "#4 · ent-acme-corp · 2024-01 · storage"."""
    return f"#{row.late_usage_id} · {row.tenant_id} · {row.period_label} · {row.metric}"


def settlement_text(row: LateUsageRow) -> str:
    if row.status is LateUsageStatus.BILLED and row.billed_invoice is not None:
        return f"billed on invoice {invoice_name(row.billed_invoice)}: {money(row.billed)}"
    if row.status is LateUsageStatus.WAIVED:
        return f"waived: {row.waive_reason}"
    return ""


def late_usage_table(rows: Sequence[LateUsageRow]) -> pd.DataFrame:
    """Late usage per tenant, period and metric, with why it is late and how it was settled."""
    # Status and settlement lead: the grid draws only the columns in view, and a long
    # "Why late" must not push how the group was settled off-screen.
    columns = ["Group", "Tenant", "Period", "Metric", "Status", "Settlement", "Events",
               "Base units", "Why late", "By"]
    return pd.DataFrame([{
        "Group": f"#{row.late_usage_id}", "Tenant": row.tenant_id, "Period": row.period_label,
        "Metric": row.metric, "Events": f"{row.events:,}",
        "Base units": f"{row.quantity_base_units:,}", "Why late": row.reason,
        "Status": _STATUS_LABELS[row.status], "Settlement": settlement_text(row),
        "By": row.settled_by or "",
    } for row in rows], columns=columns)


def problems_table(problems: Sequence[LineProblem]) -> pd.DataFrame:
    """Every bad line of a refused file that the refusal lists: line, field, problem."""
    return pd.DataFrame([{"Line": f"{problem.line_no:,}", "Field": problem.field or "",
                          "Problem": problem.problem} for problem in problems],
                        columns=["Line", "Field", "Problem"])


def daily_usage_chart(usage: DailyUsage, period_label: str) -> go.Figure:
    """Usage per day (bars) and the running total (a line) against the included quantity, in
    the plan's billing unit, converted exactly and handed to Plotly as text."""
    per_unit = usage.base_units_per_unit or 1
    unit = escape_chart_text(usage.unit_name or "base units")
    days = [f"{day:%Y-%m-%d}" for day, _ in usage.days]
    used = [quantity for _, quantity in usage.days]
    figure = go.Figure()
    figure.add_bar(x=days, y=[quantity_text(q, per_unit) for q in used], name="Used that day",
                   marker_color="#2563eb", customdata=[f"{q:,}" for q in used],
                   hovertemplate="%{x}: %{y} " + unit + " (%{customdata} base units)"
                                 "<extra>Used that day</extra>")
    figure.add_scatter(x=days, y=[quantity_text(q, per_unit) for q in accumulate(used)],
                       name="Used so far", mode="lines+markers", line={"color": "#16a34a"})
    if usage.included_base_units is not None and days:
        included = quantity_text(usage.included_base_units, per_unit)
        figure.add_scatter(x=[days[0], days[-1]], y=[included, included], name="Included",
                           mode="lines", line={"color": "#dc2626", "dash": "dash"})
    figure.update_layout(
        title=f"{escape_chart_text(usage.metric)} in {escape_chart_text(period_label)}: "
              f"used vs included ({unit})",
        height=340, yaxis={"type": "linear", "title": {"text": unit}, "rangemode": "tozero"},
        xaxis={"type": "category"}, margin={"t": 50, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h"})
    return figure
