"""Every state change and money movement is in the audit log, in the same transaction (SPEC 10)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from billing_core.errors import IllegalTransition
from billing_core.money import Money
from billing_core.periods import calendar_month
from db.allocation_runs import allocate_by_weights
from db.credits import CREDIT_APPROVAL_ENV, issue_credit_note, issue_service_credit
from db.invoicing import generate_invoice
from db.reads.audit import audit_log
from db.reads.invoices import invoice_detail
from db.transitions import finalize_invoice, record_payment, void_invoice
from tests.actors import finance
from tests.integration.factories import (
    add_fixed_discount,
    add_percent_discount,
    add_plan,
    add_tenant,
)


@pytest.fixture(autouse=True)
def _no_credit_approval_limit(monkeypatch):
    """These tests are about where credits land; the approval threshold has its own tests."""
    monkeypatch.setenv(CREDIT_APPROVAL_ENV, "1000000")


def test_each_change_writes_who_what_before_and_after(session, new_tenant_id):
    add_plan(session, "test-compute-1000", 100000)
    tenant = add_tenant(session, new_tenant_id("audited"),
                        plans=[(date(2024, 1, 1), "test-compute-1000")])
    other = add_tenant(session, new_tenant_id("other"))
    october = generate_invoice(session, tenant, calendar_month("2024-10"),
                               actor=finance("gen")).invoice_id
    finalize_invoice(session, tenant, october, actor=finance("fin"))
    record_payment(session, tenant, october, actor=finance("payer"))
    november = generate_invoice(session, tenant, calendar_month("2024-11"),
                                actor=finance("gen")).invoice_id
    issue_service_credit(session, tenant, Money("1100.00", "USD"), "Outage",
                         actor=finance("support"), idempotency_key="k1")
    issue_credit_note(session, tenant, october, Money("10.00", "USD"), "Fix", actor=finance("fin"),
                      idempotency_key="n1")
    void_invoice(session, tenant, november, actor=finance("fin"))
    allocate_by_weights(session, "Shared", Money("1.00", "USD"), {tenant: 1, other: Decimal("1")},
                        actor=finance("boss"))

    entries = list(reversed(audit_log(session, tenant_id=tenant)))
    assert [(e.actor, e.action, e.entity) for e in entries] == [
        ("gen", "invoice.generated", "invoice"),
        ("fin", "invoice.finalized", "invoice"),
        ("payer", "invoice.paid", "invoice"),
        ("gen", "invoice.generated", "invoice"),
        ("support", "invoice.credited", "invoice"),
        ("support", "credit_balance.added", "credit"),
        ("support", "credit.issued", "credit"),
        ("fin", "credit_note.issued", "invoice"),
        ("fin", "invoice.voided", "invoice"),
        ("fin", "credit_balance.returned", "invoice"),
    ]
    finalized = entries[1]
    assert (finalized.before["status"], finalized.after["status"]) == ("draft", "finalized")
    assert finalized.after["number"].startswith("INV-")
    credited = entries[4]
    assert (credited.before["total_minor"], credited.after["total_minor"]) == (100000, 0)
    balance = entries[5]
    assert (balance.before["balance_minor"], balance.after["balance_minor"]) == (0, 10000)
    returned = entries[9]  # the void gives the $1,000.00 applied to November back
    assert (returned.before["balance_minor"], returned.after["balance_minor"]) == (10000, 110000)
    [allocation] = audit_log(session, action="allocation.run", actor="boss")
    assert allocation.after["shares_minor"] == {tenant: 50, other: 50}
    trail = invoice_detail(session, tenant, october).audit
    assert [e.action for e in trail] == ["credit_note.issued", "invoice.paid", "invoice.finalized",
                                         "invoice.generated"]


def test_a_generated_invoice_is_audited_with_the_totals_and_line_count_it_was_stored_with(
        session, new_tenant_id):
    add_plan(session, "test-compute-1000", 100000)
    tenant = add_tenant(session, new_tenant_id("snapshot"),
                        plans=[(date(2024, 1, 1), "test-compute-1000")])
    add_percent_discount(session, tenant, 1, "10", "Enterprise")
    add_fixed_discount(session, tenant, 2, 5000, "Promo")
    invoice_id = generate_invoice(session, tenant, calendar_month("2024-11"),
                                  actor=finance("gen")).invoice_id
    again = generate_invoice(session, tenant, calendar_month("2024-11"), actor=finance("gen"))
    [generated] = audit_log(session, tenant_id=tenant, action="invoice.generated")
    assert (again.created, generated.actor, generated.entity_id, generated.before) == (
        False, "gen", str(invoice_id), None)
    assert generated.after == {
        "invoice_id": invoice_id, "status": "draft", "period": "2024-11", "currency": "USD",
        "subtotal_minor": 100000, "discount_minor": 15000, "credit_minor": 0,
        "total_minor": 85000, "lines": 3,
    }


def test_a_refused_change_leaves_no_audit_row(session, new_tenant_id):
    add_plan(session, "test-compute-1000", 100000)
    tenant = add_tenant(session, new_tenant_id("refused"),
                        plans=[(date(2024, 1, 1), "test-compute-1000")])
    invoice_id = generate_invoice(session, tenant, calendar_month("2024-11"),
                                  actor=finance("gen")).invoice_id
    before = session.execute(text("SELECT count(*) FROM audit_log WHERE tenant_id = :t"),
                             {"t": tenant}).scalar_one()
    with pytest.raises(IllegalTransition):
        record_payment(session, tenant, invoice_id, actor=finance("payer"))
    after = session.execute(text("SELECT count(*) FROM audit_log WHERE tenant_id = :t"),
                            {"t": tenant}).scalar_one()
    assert after == before
