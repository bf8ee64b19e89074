"""An invoice told in plain sentences, for a customer on the phone.

Customer success reads these out in a dispute: which plan the tenant was on
and for how many days, what usage cost beyond what the plan includes, which
discounts came off and in which order, which credits, and where the invoice
stands now. Every amount is the stored line's own (nothing is re-priced), so
the sentences add up to the invoice; the plan history is only used to name
the plan, its monthly price and the days it was in force:

    From 2024-11-16 the tenant was on Compute tier ($1,000.00/month):
    15 of 30 days = $500.00.

Imports nothing from Streamlit, so it is tested as a plain function.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from billing_core.lines import LineKind
from billing_core.periods import Period
from billing_core.proration import PlanChange, segments
from billing_core.states import InvoiceStatus
from billing_core.usage import quantity_text
from db.reads.invoices import InvoiceDetail, LineView
from db.reads.tenants import PlanSegmentView, UsageMonth
from ledgerline_ui.invoices.invoice_names import invoice_name
from ledgerline_ui.tables.formatting import iso_date, money


def explain_invoice(detail: InvoiceDetail, plan_history: Sequence[PlanSegmentView],
                    usage: Sequence[UsageMonth] = (), *, who: str = "the tenant was") -> list[str]:
    """The invoice as sentences, in the order it was priced (SPEC 3-6), ending with its status.
    `who="you were"` tells it to the customer ("From 2024-11-16 you were on ...")."""
    invoice = detail.invoice
    period = Period(invoice.period_start, invoice.period_end)
    sentences = [f"Invoice {invoice_name(invoice)} covers {_period_text(period)}."]
    recurring = [line for line in detail.lines if line.kind == LineKind.RECURRING]
    sentences += _recurring_sentences(recurring, plan_history, period, who)
    usage_lines = [line for line in detail.lines if line.kind == LineKind.USAGE]
    sentences += [f"{_capital(line.description)}: {line.explanation}." for line in usage_lines]
    if not usage_lines:
        sentences += _within_included(plan_history, usage, invoice.period_label)
    sentences.append(f"Subtotal: {money(invoice.subtotal)}.")

    discounts = [line for line in detail.lines if line.kind == LineKind.DISCOUNT]
    if discounts:
        percent_first = any("%" in line.explanation for line in discounts) and any(
            "%" not in line.explanation for line in discounts)
        if percent_first:
            sentences.append("Percentage discounts come off first, then fixed amounts.")
        sentences += [f"{line.description} took {money(-line.amount)} off "
                      f"({line.explanation})." for line in discounts]
    for line in detail.lines:
        if line.kind == LineKind.CREDIT:
            sentences.append(f"{line.description} took {money(-line.amount)} off.")
    sentences.append(f"Total: {money(invoice.total)}.")
    if invoice.unused_discount:
        sentences.append(f"{money(invoice.unused_discount)} of fixed discount could not be used, "
                         "because a total never goes below zero.")
    sentences += _status_sentences(detail)
    return sentences


def _recurring_sentences(lines: list[LineView], plan_history: Sequence[PlanSegmentView],
                         period: Period, who: str) -> list[str]:
    in_force: list[tuple[PlanChange, Period]] = []
    if plan_history:
        changes = [PlanChange(s.starts_on, s.plan_name, s.recurring_price) for s in plan_history]
        in_force = segments(changes, period)
    sentences = []
    for index, line in enumerate(lines):
        matched = in_force[index] if index < len(in_force) else None
        if matched is None or matched[0].plan != line.description:
            sentences.append(f"{line.description}: {line.explanation}.")
            continue
        change, part = matched
        plan = f"{change.plan} ({money(change.price)}/month)"
        if part == period:
            sentences.append(f"For the whole period {who} on {plan}: "
                             f"{money(line.amount)}.")
            continue
        if part.end == period.end:
            when = f"From {iso_date(part.start)}"
        elif part.start == period.start:
            when = f"Until {iso_date(part.last_day)}"
        else:
            when = f"From {iso_date(part.start)} to {iso_date(part.last_day)}"
        sentences.append(f"{when} {who} on {plan}: {part.days} of {period.days} days"
                         f" = {money(line.amount)}.")
    return sentences


def _within_included(plan_history: Sequence[PlanSegmentView], usage: Sequence[UsageMonth],
                     period_label: str) -> list[str]:
    sentences = []
    for month in usage:
        if month.month_label != period_label or month.included_base_units is None:
            continue
        unit = month.unit_name or "units"
        per = month.base_units_per_unit or 1
        sentences.append(
            f"{_capital(month.metric)}: {quantity_text(month.used_base_units, per)} {unit} used of "
            f"{quantity_text(month.included_base_units, per)} {unit} included "
            f"({month.used_base_units:,} of {month.included_base_units:,} base units), so there "
            "is no overage charge: a charge exists only above the included quantity.")
    return sentences


def _status_sentences(detail: InvoiceDetail) -> list[str]:
    invoice = detail.invoice
    sentences = {
        InvoiceStatus.DRAFT: ["It is still a draft: it can change until it is finalized."],
        InvoiceStatus.FINALIZED: [f"It was finalized on {iso_date(invoice.finalized_at)} and "
                                  "can no longer change."],
        InvoiceStatus.PAID: [f"It was finalized on {iso_date(invoice.finalized_at)} and paid on "
                             f"{iso_date(invoice.paid_at)}."],
        InvoiceStatus.VOID: [f"It was voided on {iso_date(invoice.voided_at)}: nothing is owed "
                             "on it."],
    }.get(invoice.status, [f"Its status is {invoice.status}."])
    for note in detail.credit_notes:
        sentences.append(f"Credit note {note.number} credited {money(note.amount)} on "
                         f"{iso_date(note.created_at)} ({note.reason}).")
    return sentences


def _period_text(period: Period) -> str:
    return (f"{iso_date(period.start)} to {iso_date(period.end - timedelta(days=1))} "
            f"({period.days} days)")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]

