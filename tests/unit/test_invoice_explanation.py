"""An invoice in plain sentences: the plan days, usage, discounts, credits and status."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from db.reads.credits import CreditNoteView
from db.reads.invoices import InvoiceDetail, InvoiceSummary, LineView
from db.reads.tenants import PlanSegmentView, UsageMonth
from ledgerline_ui.invoices.invoice_explanation import explain_invoice
from tests.helpers import usd

NOW = datetime(2024, 12, 2, 9, 30, tzinfo=UTC)
TB = 10**12


def plan(starts_on: date, plan_id: str, name: str, price: str, *, included: int | None = None):
    return PlanSegmentView(starts_on, plan_id, name, usd(price),
                           "storage" if included else None, "TB" if included else None,
                           TB if included else None, included, usd("23.00") if included else None)


def line(no: int, kind: str, description: str, amount: str, explanation: str) -> LineView:
    return LineView(no, kind, description, usd(amount), Decimal(amount), explanation)


def detail(lines, *, subtotal, discount="0.00", credit="0.00", total, status="draft",
           notes=()) -> InvoiceDetail:
    summary = InvoiceSummary(
        "ent-test", "Test", 7, "INV-2024-000007" if status != "draft" else None, "2024-11",
        date(2024, 11, 1), date(2024, 12, 1), status, usd(subtotal), usd(discount), usd(credit),
        usd(total), usd("0.00"), NOW, NOW if status in ("finalized", "paid") else None,
        NOW if status == "paid" else None, None)
    return InvoiceDetail(summary, tuple(lines), (), tuple(notes), usd(total), ())


def test_acme_upgrade_reads_as_two_plans_with_their_days():
    history = [plan(date(2024, 6, 1), "compute-600", "Compute tier (legacy)", "600.00"),
               plan(date(2024, 11, 16), "compute-1000", "Compute tier", "1000.00")]
    invoice = detail([
        line(1, "recurring", "Compute tier (legacy)", "300.00", "15 of 30 days ... -> $300.00"),
        line(2, "recurring", "Compute tier", "500.00", "15 of 30 days ... -> $500.00"),
    ], subtotal="800.00", total="800.00")

    assert explain_invoice(invoice, history) == [
        "Invoice draft 2024-11 covers 2024-11-01 to 2024-11-30 (30 days).",
        "Until 2024-11-15 the tenant was on Compute tier (legacy) ($600.00/month): "
        "15 of 30 days = $300.00.",
        "From 2024-11-16 the tenant was on Compute tier ($1,000.00/month): "
        "15 of 30 days = $500.00.",
        "Subtotal: $800.00.",
        "Total: $800.00.",
        "It is still a draft: it can change until it is finalized.",
    ]


def test_initech_discounts_say_percentages_come_first():
    history = [plan(date(2024, 1, 1), "compute-1000", "Compute tier", "1000.00")]
    invoice = detail([
        line(1, "recurring", "Compute tier", "1000.00", "30 of 30 days -> $1,000.00"),
        line(2, "discount", "Enterprise discount", "-100.00", "10% of $1,000.00 -> -$100.00"),
        line(3, "discount", "Promotional credit", "-50.00", "$50.00 off $900.00"),
    ], subtotal="1000.00", discount="150.00", total="850.00")

    sentences = explain_invoice(invoice, history)
    assert sentences[1] == ("For the whole period the tenant was on Compute tier "
                            "($1,000.00/month): $1,000.00.")
    assert sentences[3:7] == [
        "Percentage discounts come off first, then fixed amounts.",
        "Enterprise discount took $100.00 off (10% of $1,000.00 -> -$100.00).",
        "Promotional credit took $50.00 off ($50.00 off $900.00).",
        "Total: $850.00.",
    ]


def test_usage_at_exactly_the_limit_is_explained_as_no_overage():
    history = [plan(date(2024, 1, 1), "storage-1tb", "Storage 1 TB", "100.00", included=TB)]
    usage = [UsageMonth("2024-11", "storage", TB, TB, "TB", TB)]
    invoice = detail([line(1, "recurring", "storage-1tb", "100.00", "full price")],
                     subtotal="100.00", total="100.00")

    assert ("Storage: 1 TB used of 1 TB included (1,000,000,000,000 of 1,000,000,000,000 base "
            "units), so there is no overage charge: a charge exists only above the included "
            "quantity.") in explain_invoice(invoice, history, usage)


def test_credit_and_credit_note_and_paid_status():
    history = [plan(date(2024, 1, 1), "compute-1000", "Compute tier", "1000.00")]
    note = CreditNoteView(3, "CN-2024-000003", 7, usd("100.00"), "Unused seats", "finance", NOW)
    invoice = detail([
        line(1, "recurring", "Compute tier", "1000.00", "full price"),
        line(2, "credit", "Service credit: Outage 2024-11-12", "-200.00", "service credit #1"),
    ], subtotal="1000.00", credit="200.00", total="800.00", status="paid", notes=[note])

    assert explain_invoice(invoice, history)[-5:] == [
        "Subtotal: $1,000.00.",
        "Service credit: Outage 2024-11-12 took $200.00 off.",
        "Total: $800.00.",
        "It was finalized on 2024-12-02 09:30 UTC and paid on 2024-12-02 09:30 UTC.",
        "Credit note CN-2024-000003 credited $100.00 on 2024-12-02 09:30 UTC (Unused seats).",
    ]


def test_a_line_the_plan_history_no_longer_matches_falls_back_to_its_own_explanation():
    invoice = detail([line(1, "recurring", "old-plan", "10.00", "30 of 30 days -> $10.00")],
                     subtotal="10.00", total="10.00")
    assert explain_invoice(invoice, [])[1] == "old-plan: 30 of 30 days -> $10.00."
