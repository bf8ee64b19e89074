"""Generating invoices on a real PostgreSQL: SPEC 3, 4, 5, 6 end to end, and SPEC 8's
"fifty at once yields one invoice"."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing_core.errors import InvalidInput
from billing_core.periods import calendar_month
from db.errors import NotFound
from db.invoicing import generate_invoice, generate_invoices
from tests.actors import finance
from tests.integration.factories import (
    TB,
    add_fixed_discount,
    add_percent_discount,
    add_plan,
    add_tenant,
    add_usage,
    invoice_lines,
    invoice_row,
)

NOVEMBER = calendar_month("2024-11")
ACTOR = finance("finance@test")


@pytest.fixture
def plans(session):
    add_plan(session, "test-basic-600", 60000)
    add_plan(session, "test-compute-1000", 100000)
    add_plan(session, "test-storage-1tb", 0,
             usage=("storage", "TB", "byte", TB, TB, Decimal("23.00")))


@pytest.mark.parametrize(("segments", "expected_lines", "total_minor"), [
    pytest.param([(date(2024, 11, 16), "test-compute-1000")],
                 [("recurring", "test-compute-1000", 50000)], 50000, id="from-nov-16-is-500"),
    pytest.param([(date(2024, 10, 1), "test-basic-600"), (date(2024, 11, 16), "test-compute-1000")],
                 [("recurring", "test-basic-600", 30000),
                  ("recurring", "test-compute-1000", 50000)], 80000, id="upgrade-300-plus-500"),
    pytest.param([(date(2024, 1, 1), "test-compute-1000")],
                 [("recurring", "test-compute-1000", 100000)], 100000, id="unchanged-full-price"),
])
def test_proration_is_stored_line_by_line(session, plans, new_tenant_id, segments,
                                          expected_lines, total_minor):
    tenant = add_tenant(session, new_tenant_id("acme"), plans=segments)
    generated = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR)
    assert generated.created
    assert invoice_lines(session, tenant, generated.invoice_id) == expected_lines
    row = invoice_row(session, tenant, generated.invoice_id)
    assert (row["subtotal_minor"], row["discount_minor"], row["total_minor"]) == (
        total_minor, 0, total_minor)
    assert (row["status"], row["period_label"], row["number"]) == ("draft", "2024-11", None)


def test_percent_discounts_come_before_fixed_ones_850_not_855(session, plans, new_tenant_id):
    tenant = add_tenant(session, new_tenant_id("initech"),
                        plans=[(date(2024, 1, 1), "test-compute-1000")])
    add_fixed_discount(session, tenant, 1, 5000, "Promotional credit")
    add_percent_discount(session, tenant, 2, "10", "Enterprise discount")
    invoice_id = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    assert invoice_lines(session, tenant, invoice_id) == [
        ("recurring", "test-compute-1000", 100000),
        ("discount", "Enterprise discount", -10000),
        ("discount", "Promotional credit", -5000),
    ]
    row = invoice_row(session, tenant, invoice_id)
    assert (row["subtotal_minor"], row["discount_minor"], row["total_minor"]) == (
        100000, 15000, 85000)


@pytest.mark.parametrize(("used", "expected_usage_minor"), [
    pytest.param(TB, None, id="exactly-1tb-no-overage"),
    pytest.param(TB + 1, 0, id="one-byte-over-is-a-zero-line"),
    pytest.param(TB + TB // 2, 1150, id="half-a-tb-over-is-11.50"),
])
def test_overage_only_above_the_included_quantity(session, plans, new_tenant_id, used,
                                                  expected_usage_minor):
    tenant = add_tenant(session, new_tenant_id("wayne"),
                        plans=[(date(2024, 1, 1), "test-storage-1tb")])
    add_usage(session, tenant, "storage", date(2024, 11, 10), used - 5)
    add_usage(session, tenant, "storage", date(2024, 11, 30), 5)
    add_usage(session, tenant, "storage", date(2024, 12, 1), 10**15)  # next period: not counted
    invoice_id = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    usage_lines = [line for line in invoice_lines(session, tenant, invoice_id)
                   if line[0] == "usage"]
    if expected_usage_minor is None:
        assert usage_lines == []
    else:
        assert usage_lines == [("usage", "storage overage", expected_usage_minor)]


def test_credit_balance_is_consumed_by_the_next_invoice_only_once(session, plans, new_tenant_id):
    from billing_core.money import Money
    from db.credit_ledger import credit_balance
    from db.credits import issue_service_credit

    tenant = add_tenant(session, new_tenant_id("umbrella"),
                        plans=[(date(2024, 1, 1), "test-basic-600")])
    issue_service_credit(session, tenant, Money("700.00", "USD"), "Outage", actor=ACTOR,
                         idempotency_key="outage-1")
    first = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR)
    again = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR)
    assert (again.invoice_id, again.created) == (first.invoice_id, False)
    assert invoice_lines(session, tenant, first.invoice_id) == [
        ("recurring", "test-basic-600", 60000), ("credit", "Credit balance", -60000)]
    assert invoice_row(session, tenant, first.invoice_id)["total_minor"] == 0
    assert credit_balance(session, tenant) == Money("100.00", "USD")
    december = generate_invoice(session, tenant, calendar_month("2024-12"), actor=ACTOR)
    assert invoice_lines(session, tenant, december.invoice_id)[-1] == (
        "credit", "Credit balance", -10000)
    assert credit_balance(session, tenant) == Money("0.00", "USD")


def test_no_plan_in_force_is_refused_with_the_reason(session, plans, new_tenant_id):
    tenant = add_tenant(session, new_tenant_id("late"),
                        plans=[(date(2024, 12, 5), "test-basic-600")])
    with pytest.raises(InvalidInput, match="plan: no plan in force in 2024-11"):
        generate_invoice(session, tenant, NOVEMBER, actor=ACTOR)


def test_unknown_tenant_is_not_found(session):
    with pytest.raises(NotFound, match="tenant ent-nobody was not found"):
        generate_invoice(session, "ent-nobody", NOVEMBER, actor=ACTOR)


def test_a_period_off_the_tenants_anchor_is_refused(session, plans, new_tenant_id):
    tenant = add_tenant(session, new_tenant_id("anchored"), anchor_day=15,
                        plans=[(date(2024, 1, 1), "test-basic-600")])
    with pytest.raises(InvalidInput, match="bills monthly from day 15"):
        generate_invoice(session, tenant, NOVEMBER, actor=ACTOR)


def test_batch_reports_created_present_and_skipped(session, plans, new_tenant_id):
    billed = add_tenant(session, new_tenant_id("a"), plans=[(date(2024, 1, 1), "test-basic-600")])
    fresh = add_tenant(session, new_tenant_id("b"), plans=[(date(2024, 1, 1), "test-basic-600")])
    planless = add_tenant(session, new_tenant_id("c"))
    existing = generate_invoice(session, billed, NOVEMBER, actor=ACTOR).invoice_id
    result = generate_invoices(session, [billed, fresh, planless], NOVEMBER, actor=ACTOR)
    assert result.created == {fresh}
    assert result.already_present == {billed}
    assert result.invoice_ids[billed] == existing
    assert set(result.skipped) == {planless}
