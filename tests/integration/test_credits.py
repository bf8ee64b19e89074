"""Service credits, the credit balance and credit notes on a real PostgreSQL (SPEC 5)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import text

from billing_core.errors import CreditNoteTooLarge, InvalidInput, InvoiceNotOpen
from billing_core.periods import calendar_month
from db.credit_ledger import credit_balance
from db.credit_requests import request_credit
from db.credits import (
    CREDIT_APPROVAL_ENV,
    issue_credit_note,
    issue_service_credit,
    preview_credit_landing,
)
from db.invoicing import generate_invoice
from db.transitions import finalize_invoice, record_payment
from tests.actors import finance
from tests.helpers import usd
from tests.integration.factories import add_plan, add_tenant, invoice_lines, invoice_row


@pytest.fixture(autouse=True)
def _no_credit_approval_limit(monkeypatch):
    """These tests are about where credits land; the approval threshold has its own tests."""
    monkeypatch.setenv(CREDIT_APPROVAL_ENV, "1000000")

OCTOBER, NOVEMBER = calendar_month("2024-10"), calendar_month("2024-11")
ACTOR = finance("support@test")


@pytest.fixture
def umbrella(session, new_tenant_id):
    """October paid, November a draft of $1,000.00 (the SPEC 5 example)."""
    add_plan(session, "test-compute-1000", 100000)
    tenant = add_tenant(session, new_tenant_id("umbrella"),
                        plans=[(date(2024, 1, 1), "test-compute-1000")])
    october = generate_invoice(session, tenant, OCTOBER, actor=ACTOR).invoice_id
    finalize_invoice(session, tenant, october, actor=ACTOR)
    record_payment(session, tenant, october, actor=ACTOR)
    november = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    return tenant, october, november


def test_outage_credit_lands_on_the_november_draft_and_october_is_untouched(session, umbrella):
    tenant, october, november = umbrella
    october_before = invoice_row(session, tenant, october)
    outcome = issue_service_credit(session, tenant, usd("200.00"), "Outage", actor=ACTOR,
                                   idempotency_key="outage-1")
    assert (outcome.invoice_id, outcome.applied, outcome.to_balance) == (
        november, usd("200.00"), usd("0.00"))
    assert invoice_lines(session, tenant, november) == [
        ("recurring", "test-compute-1000", 100000),
        ("credit", "Service credit: Outage", -20000),
    ]
    row = invoice_row(session, tenant, november)
    assert (row["subtotal_minor"], row["credit_minor"], row["total_minor"]) == (
        100000, 20000, 80000)
    assert invoice_row(session, tenant, october) == october_before
    assert credit_balance(session, tenant) == usd("0.00")


def test_a_credit_aimed_at_a_paid_invoice_is_refused_and_nothing_changes(session, umbrella):
    tenant, october, _ = umbrella
    row_before = invoice_row(session, tenant, october)
    lines_before = invoice_lines(session, tenant, october)
    credits_before = session.execute(text("SELECT count(*) FROM credits WHERE tenant_id = :t"),
                                     {"t": tenant}).scalar_one()
    with pytest.raises(InvoiceNotOpen, match=r"Invoice INV-\d{4}-\d{6} is paid"):
        issue_service_credit(session, tenant, usd("200.00"), "Outage", actor=ACTOR,
                             idempotency_key="aimed-at-october", invoice_id=october)
    assert invoice_row(session, tenant, october) == row_before
    assert invoice_lines(session, tenant, october) == lines_before
    assert session.execute(text("SELECT count(*) FROM credits WHERE tenant_id = :t"),
                           {"t": tenant}).scalar_one() == credits_before


def test_the_excess_over_the_draft_total_waits_on_the_balance(session, umbrella):
    tenant, _, november = umbrella
    outcome = issue_service_credit(session, tenant, usd("1200.00"), "Long outage", actor=ACTOR,
                                   idempotency_key="big")
    assert (outcome.applied, outcome.to_balance) == (usd("1000.00"), usd("200.00"))
    assert invoice_row(session, tenant, november)["total_minor"] == 0
    assert credit_balance(session, tenant) == usd("200.00")
    december = generate_invoice(session, tenant, calendar_month("2024-12"), actor=ACTOR)
    assert invoice_lines(session, tenant, december.invoice_id) == [
        ("recurring", "test-compute-1000", 100000), ("credit", "Credit balance", -20000)]
    assert credit_balance(session, tenant) == usd("0.00")


def test_with_no_draft_the_credit_waits_on_the_balance(session, new_tenant_id):
    tenant = add_tenant(session, new_tenant_id("nodraft"))
    landing = preview_credit_landing(session, tenant, usd("50.00"))
    assert (landing.target, landing.to_balance) == ("balance", usd("50.00"))
    outcome = issue_service_credit(session, tenant, usd("50.00"), "Goodwill", actor=ACTOR,
                                   idempotency_key="g-1")
    assert (outcome.invoice_id, outcome.to_balance) == (None, usd("50.00"))
    assert credit_balance(session, tenant) == usd("50.00")


def test_preview_says_where_and_why_and_writes_nothing(session, umbrella):
    tenant, _, november = umbrella
    audit_before = session.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    landing = preview_credit_landing(session, tenant, usd("1500.00"))
    assert (landing.target, landing.invoice_id, landing.applied, landing.to_balance) == (
        "invoice", november, usd("1000.00"), usd("500.00"))
    assert "cannot go below zero" in landing.explanation
    assert invoice_row(session, tenant, november)["total_minor"] == 100000
    assert session.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == audit_before


def test_the_same_key_twice_is_one_credit(session, umbrella):
    tenant, _, november = umbrella
    first = issue_service_credit(session, tenant, usd("200.00"), "Outage", actor=ACTOR,
                                 idempotency_key="same")
    second = issue_service_credit(session, tenant, usd("200.00"), "Outage", actor=ACTOR,
                                  idempotency_key="same")
    assert (second.credit_id, second.created) == (first.credit_id, False)
    assert invoice_row(session, tenant, november)["total_minor"] == 80000
    with pytest.raises(InvalidInput, match="idempotency_key"):
        issue_service_credit(session, tenant, usd("300.00"), "Outage", actor=ACTOR,
                             idempotency_key="same")


@pytest.mark.parametrize(("reason", "aimed_at", "difference"), [
    pytest.param("Goodwill", None, "reason 'Outage', not 'Goodwill'", id="other-reason"),
    pytest.param("Outage", "october", "invoice {november}, not invoice {october}",
                 id="other-invoice"),
])
def test_a_key_reused_for_a_different_credit_is_refused_not_replayed(session, umbrella, reason,
                                                                     aimed_at, difference):
    tenant, october, november = umbrella
    first = issue_service_credit(session, tenant, usd("200.00"), "Outage", actor=ACTOR,
                                 idempotency_key="reused")
    invoice_id = october if aimed_at == "october" else None
    expected = (f"idempotency_key: 'reused' was already used for a different credit "
                f"({difference.format(november=november, october=october)})")
    with pytest.raises(InvalidInput) as refused:
        issue_service_credit(session, tenant, usd("200.00"), reason, actor=ACTOR,
                             idempotency_key="reused", invoice_id=invoice_id)
    assert str(refused.value) == expected
    # The true replay, naming the invoice the credit landed on, is still the same credit.
    again = issue_service_credit(session, tenant, usd("200.00"), "Outage", actor=ACTOR,
                                 idempotency_key="reused", invoice_id=november)
    assert (again.credit_id, again.created) == (first.credit_id, False)
    assert invoice_row(session, tenant, november)["total_minor"] == 80000


def test_a_request_key_reused_for_a_different_reason_is_refused(session, umbrella):
    tenant, _, _ = umbrella
    first = request_credit(session, tenant, usd("200.00"), "Outage", actor=ACTOR,
                           idempotency_key="req")
    again = request_credit(session, tenant, usd("200.00"), "Outage", actor=ACTOR,
                           idempotency_key="req")
    assert (again.request_id, again.created) == (first.request_id, False)
    with pytest.raises(InvalidInput) as refused:
        request_credit(session, tenant, usd("250.00"), "Goodwill", actor=ACTOR,
                       idempotency_key="req")
    assert str(refused.value) == (
        "idempotency_key: 'req' was already used for a different credit request "
        "($200.00, not $250.00; reason 'Outage', not 'Goodwill')")


def test_concurrent_credits_with_one_key_make_one_credit(sessions, new_tenant_id):
    with sessions.begin() as session:
        add_plan(session, "test-compute-1000", 100000)
        tenant = add_tenant(session, new_tenant_id("concurrent"),
                            plans=[(date(2024, 1, 1), "test-compute-1000")])
        invoice_id = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    barrier = threading.Barrier(20)
    outcomes, errors = [], []

    def credit() -> None:
        try:
            with sessions.begin() as session:
                session.connection()
                barrier.wait()
                outcomes.append(issue_service_credit(session, tenant, usd("200.00"), "Outage",
                                                     actor=ACTOR, idempotency_key="one-key"))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=credit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({outcome.credit_id for outcome in outcomes}) == 1
    assert sum(outcome.created for outcome in outcomes) == 1
    with sessions() as session:
        assert session.execute(text("SELECT count(*) FROM credits WHERE tenant_id = :t"),
                               {"t": tenant}).scalar_one() == 1
        assert invoice_lines(session, tenant, invoice_id) == [
            ("recurring", "test-compute-1000", 100000),
            ("credit", "Service credit: Outage", -20000)]
        assert invoice_row(session, tenant, invoice_id)["total_minor"] == 80000


def test_credit_notes_never_exceed_total_minus_earlier_notes(session, umbrella):
    tenant, october, _ = umbrella
    first = issue_credit_note(session, tenant, october, usd("700.00"), "Overbilled", actor=ACTOR,
                              idempotency_key="cn-1")
    assert first.created and first.number.startswith("CN-")
    assert first.creditable_left == usd("300.00")
    again = issue_credit_note(session, tenant, october, usd("700.00"), "Overbilled", actor=ACTOR,
                              idempotency_key="cn-1")
    assert (again.credit_note_id, again.created) == (first.credit_note_id, False)
    with pytest.raises(CreditNoteTooLarge, match=r"only \$300.00 can still be credited"):
        issue_credit_note(session, tenant, october, usd("300.01"), "More", actor=ACTOR,
                          idempotency_key="cn-2")
    last = issue_credit_note(session, tenant, october, usd("300.00"), "Rest", actor=ACTOR,
                             idempotency_key="cn-3")
    assert last.creditable_left == usd("0.00")
    assert invoice_row(session, tenant, october)["total_minor"] == 100000


def test_a_credit_note_needs_a_finalized_invoice(session, umbrella):
    tenant, _, november = umbrella
    with pytest.raises(InvalidInput, match="corrects only a finalized or paid invoice"):
        issue_credit_note(session, tenant, november, usd("10.00"), "x", actor=ACTOR,
                          idempotency_key="cn-draft")


@pytest.mark.parametrize(("amount", "error"), [
    pytest.param(usd("0.00"), InvalidInput, id="zero"),
    pytest.param(usd("-5.00"), InvalidInput, id="negative"),
    pytest.param(usd("0.005"), InvalidInput, id="finer-than-a-cent"),
])
def test_bad_credit_amounts_are_refused(session, umbrella, amount, error):
    tenant, _, _ = umbrella
    with pytest.raises(error, match="amount"):
        issue_service_credit(session, tenant, amount, "x", actor=ACTOR, idempotency_key="bad")
