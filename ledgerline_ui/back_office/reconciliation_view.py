"""What the reconciliation screen shows: the discrepancy table, totals, chart and CSV export.

Money stays `Money` until it becomes text: "$2.00" on screen, "2.00" beside a
currency column in the export, and Decimal-derived strings ("1230.00") for
Plotly, which draws with floats but never computes anything we keep.

Text from outside (legacy ids from a file, credit reasons, a bad line's cells)
goes into dataframe cells, which Streamlit never reads as Markdown; a sentence
for an alert escapes it (`escape_markdown`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go

from billing_core.legacy_csv import LineProblem
from billing_core.money import CURRENCY_EXPONENTS, Money
from billing_core.reconciliation import (
    RULE_LABELS,
    CorrectionKind,
    ReconciliationTotals,
    Rule,
    RuleTotal,
)
from db.reads.reconciliation import PAGE_SIZE
from db.reconciliation import CorrectionOutcome, ReportRow
from ledgerline_ui.tables.csv_export import decimal_text
from ledgerline_ui.tables.formatting import money
from ledgerline_ui.tables.plain_text import escape_markdown
from ledgerline_ui.tables.spreadsheet_csv import csv_text

EXPORT_COLUMNS = ("tenant_id", "period", "source", "legacy_id", "rule", "currency", "billed",
                  "correct", "difference", "action", "state", "explanation", "line",
                  "already_granted")
EXPORT_NUMERIC_COLUMNS = ("billed", "correct", "difference", "line")
GRANTED = "Already granted"


def discrepancy_table(rows: Sequence[ReportRow]) -> pd.DataFrame:
    """One row per discrepancy: tenant, period, billed, correct, difference, rule, state, and
    the credits already granted for the same period or record."""
    return pd.DataFrame([{
        "Tenant": row.discrepancy.tenant_id, "Period": row.discrepancy.period_label,
        "Legacy record": row.discrepancy.legacy_id, "Billed": money(row.discrepancy.billed),
        "Correct": money(row.discrepancy.correct),
        "Difference": money(row.discrepancy.difference), "Rule": row.discrepancy.rule_label,
        "State": row.state, GRANTED: granted_text(row), "Why": row.discrepancy.explanation}
        for row in rows],
        columns=["Tenant", "Period", "Legacy record", "Billed", "Correct", "Difference", "Rule",
                 "State", GRANTED, "Why"])


def granted_text(row: ReportRow) -> str:
    """The credits beside a proposal, the one that already gave it first: plain text."""
    first = row.already_granted
    others = [credit for credit in row.granted if credit is not first]
    return "; ".join(credit.describe() for credit in ([first] if first else []) + others)


def granted_table(rows: Sequence[ReportRow]) -> pd.DataFrame:
    """Proposals beside the credits already granted for the same period or record."""
    return pd.DataFrame([{
        "Tenant": row.discrepancy.tenant_id, "Legacy record": row.discrepancy.legacy_id,
        "Period": row.discrepancy.period_label, "Rule": row.discrepancy.rule_label,
        "Difference": money(row.discrepancy.difference), GRANTED: granted_text(row)}
        for row in rows],
        columns=["Tenant", "Legacy record", "Period", "Rule", "Difference", GRANTED])


def left_out_sentence(count: int) -> str:
    """"1 proposal left out: already granted." (the customer received the credit already)."""
    return f"{count} proposal{'s' if count != 1 else ''} left out: already granted."


def bad_lines_table(problems: Sequence[LineProblem]) -> pd.DataFrame:
    """Every problem of a refused legacy file, one per row: line, column, problem."""
    return pd.DataFrame([{"Line": problem.line, "Column": problem.field or "",
                          "Problem": problem.problem} for problem in problems],
                        columns=["Line", "Column", "Problem"])


def totals_table(totals: ReconciliationTotals) -> pd.DataFrame:
    """Per rule and overall (per currency): count, overcharged, undercharged, net."""
    def line(label: str, total: RuleTotal) -> dict[str, str]:
        return {"Rule": label, "Currency": total.currency, "Discrepancies": f"{total.count:,}",
                "Overcharged": money(total.overcharged),
                "Undercharged": money(total.undercharged), "Net to the customer": money(total.net)}
    rows = [line(RULE_LABELS[t.rule], t) for t in totals.by_rule if t.rule is not None]
    rows += [line("All rules", t) for t in totals.overall]
    return pd.DataFrame(rows, columns=["Rule", "Currency", "Discrepancies", "Overcharged",
                                       "Undercharged", "Net to the customer"])


def _number(amount: Money) -> str:
    return format(amount.amount, "f")


def totals_chart(totals: ReconciliationTotals, currency: str) -> go.Figure:
    """Overcharged and undercharged per rule, one currency: grouped bars labelled in money."""
    rows = [t for t in totals.by_rule if t.currency == currency and t.rule is not None]
    labels = [RULE_LABELS[t.rule] for t in rows]  # type: ignore[index]
    figure = go.Figure([
        go.Bar(name="Overcharged (credit the customer)", x=labels,
               y=[_number(t.overcharged) for t in rows],
               text=[money(t.overcharged) for t in rows], textposition="outside",
               marker_color="#dc2626", hovertemplate="%{x}<br>%{text}<extra></extra>"),
        go.Bar(name="Undercharged (reported only)", x=labels,
               y=[_number(t.undercharged) for t in rows],
               text=[money(t.undercharged) for t in rows], textposition="outside",
               marker_color="#2563eb", hovertemplate="%{x}<br>%{text}<extra></extra>"),
    ])
    figure.update_layout(
        title=f"Discrepancies by rule ({currency})", barmode="group", height=380,
        xaxis={"type": "category"},
        # Linear, always: on a log axis $2 stood a quarter as tall as $1,000. A small amount
        # is still read from its bar's label.
        yaxis={"type": "linear", "title": {"text": f"Amount ({currency})"},
               "tickformat": f",.{CURRENCY_EXPONENTS[currency]}f"},
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        margin={"t": 60, "b": 10, "l": 10, "r": 10})
    return figure


def page_caption(page: int, shown: int, count: int) -> str:
    """"Rows 101–200 of 54,083." for page 1 (from 0) of 100 rows; "All 6 rows." on one page."""
    if shown == count:
        return f"All {count:,} row{'s' if count != 1 else ''}."
    first = page * PAGE_SIZE + 1
    return f"Rows {first:,}–{first + shown - 1:,} of {count:,}."


def proposal_table(rows: Sequence[ReportRow]) -> pd.DataFrame:
    """The proposals a selection holds: tenant, legacy record, period, rule, amount."""
    return pd.DataFrame([{
        "Tenant": row.discrepancy.tenant_id, "Legacy record": row.discrepancy.legacy_id,
        "Period": row.discrepancy.period_label, "Rule": row.discrepancy.rule_label,
        "Amount": money(row.discrepancy.difference)} for row in rows],
        columns=["Tenant", "Legacy record", "Period", "Rule", "Amount"])


def selection_sentence(count: int, amounts: Iterable[Money], kind: CorrectionKind,
                       rule: Rule | None = None, tenant_id: str | None = None) -> str:
    """What a rule and tenant filter chose, as Markdown: "**All 54,083 proposals**: $X in
    all." or "**2 proposals** of Proration for ent-acme-corp: $4.00 in all." (the tenant id
    escaped: it may come from a file)."""
    noun = "proposal" if kind is CorrectionKind.CREDIT else "duplicate"
    counted = f"{count:,} {noun}{'s' if count != 1 else ''}"
    if rule is None and tenant_id is None:
        counted = f"All {counted}" if count != 1 else f"The one {noun}"
    scope = (f" of {RULE_LABELS[rule]}" if rule is not None else "") + (
        f" for {escape_markdown(tenant_id)}" if tenant_id is not None else "")
    what = "in all" if kind is CorrectionKind.CREDIT else "billed twice"
    return f"**{counted}**{scope}: {amounts_text(amounts)} {what}."


def amounts_text(amounts: Iterable[Money]) -> str:
    """Sum per currency: "$230.00" or "$230.00 + EUR 5.00"; "$0.00" for nothing."""
    by_currency: dict[str, Money] = {}
    for amount in amounts:
        by_currency[amount.currency] = by_currency.get(amount.currency,
                                                       Money.zero(amount.currency)) + amount
    return " + ".join(money(by_currency[c]) for c in sorted(by_currency)) or "$0.00"


def outcome_sentence(outcome: CorrectionOutcome, verb: str) -> str:
    """"4 service credits issued ($230.00); 0 were issued before." and the like, as Markdown: the
    legacy ids of corrections left out come from a file and are escaped."""
    done = len(outcome.done)
    noun = "service credit" if verb == "issued" else "duplicate"
    sentence = f"{done} {noun}{'s' if done != 1 else ''} {verb}"
    if done:
        sentence += f" ({amounts_text(outcome.amounts)})"
    if outcome.already:
        sentence += (f"; {len(outcome.already)} already {verb} before, nothing new written "
                     "for them")
    if outcome.left_out:
        records = ", ".join(escape_markdown(f"{left.key[2]} of {left.key[0]}")
                            for left in outcome.left_out)
        sentence += (f"; {len(outcome.left_out)} left out: already granted since the report "
                     f"({records}), see the table")
    return sentence + "."


def report_csv(rows: Sequence[ReportRow]) -> str:
    """The report as CSV: money as decimal text beside its currency, never a float. Legacy ids
    come from the imported file, so the file is written by `spreadsheet_csv` (a legacy id that
    looks like a formula arrives as text; an undercharge stays "-0.10")."""
    return csv_text(EXPORT_COLUMNS, map(_export_line, rows), numeric=EXPORT_NUMERIC_COLUMNS)


def _export_line(row: ReportRow) -> list[str]:
    item = row.discrepancy
    return [item.tenant_id, item.period_label, str(item.source), item.legacy_id, str(item.rule),
            item.difference.currency, decimal_text(item.billed), decimal_text(item.correct),
            decimal_text(item.difference), str(item.action), row.state, item.explanation,
            str(item.line_no), granted_text(row)]
