"""Invoice states on a real PostgreSQL (SPEC 8): lock, check, move, audit; numbering gap-free."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from billing_core.errors import IllegalTransition
from billing_core.money import Money
from billing_core.periods import calendar_month
from db.credit_ledger import credit_balance
from db.credits import issue_service_credit
from db.invoicing import generate_invoice
from db.transitions import finalize_invoice, record_payment, void_invoice
from tests.actors import finance
from tests.integration.factories import add_plan, add_tenant, invoice_lines, invoice_row

NOVEMBER = calendar_month("2024-11")
ACTOR = finance("finance@test")


def _draft(session, tenant_id: str) -> int:
    add_plan(session, "test-compute-1000", 100000)
    add_tenant(session, tenant_id, plans=[(date(2024, 1, 1), "test-compute-1000")])
    return generate_invoice(session, tenant_id, NOVEMBER, actor=ACTOR).invoice_id


def test_finalize_numbers_the_invoice_and_payment_follows(session, new_tenant_id):
    tenant = new_tenant_id("fin")
    invoice_id = _draft(session, tenant)
    finalized = finalize_invoice(session, tenant, invoice_id, actor=ACTOR)
    assert finalized.status == "finalized"
    assert re.fullmatch(r"INV-\d{4}-\d{6}", finalized.number)
    paid_at = datetime(2024, 12, 3, 9, 30, tzinfo=UTC)
    paid = record_payment(session, tenant, invoice_id, actor=ACTOR, paid_at=paid_at)
    assert (paid.status, paid.number, paid.paid_at) == ("paid", finalized.number, paid_at)


@pytest.mark.parametrize(("moves", "message"), [
    pytest.param(["pay"], "cannot move from draft to paid", id="draft-to-paid"),
    pytest.param(["finalize", "finalize"], "is already finalized", id="finalize-twice"),
    pytest.param(["finalize", "pay", "void"], "cannot move from paid to void", id="paid-to-void"),
    pytest.param(["void", "finalize"], "cannot move from void to finalized", id="void-is-final"),
])
def test_illegal_moves_name_both_states(session, new_tenant_id, moves, message):
    tenant = new_tenant_id("moves")
    invoice_id = _draft(session, tenant)
    operations = {"finalize": finalize_invoice, "pay": record_payment, "void": void_invoice}
    with pytest.raises(IllegalTransition, match=message):
        for move in moves:
            operations[move](session, tenant, invoice_id, actor=ACTOR)


def test_voiding_frees_the_period_for_a_new_invoice(session, new_tenant_id):
    tenant = new_tenant_id("void")
    first = _draft(session, tenant)
    void_invoice(session, tenant, first, actor=ACTOR)
    second = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR)
    assert second.created and second.invoice_id != first



def _ledger(session, tenant_id: str) -> list[tuple]:
    """(entry kind, amount_minor, balance_after_minor, invoice_id) of each ledger entry."""
    return [tuple(row) for row in session.execute(text("""
        SELECT entry_kind, amount_minor, balance_after_minor, invoice_id FROM credit_ledger
        WHERE tenant_id = :t ORDER BY entry_id
    """), {"t": tenant_id})]


def test_voiding_a_credited_draft_gives_the_credit_back_and_the_new_draft_consumes_it(
        session, new_tenant_id):
    tenant = new_tenant_id("voidcredit")
    first = _draft(session, tenant)
    issue_service_credit(session, tenant, Money("200.00", "USD"), "Outage", actor=ACTOR,
                         idempotency_key="outage")
    assert invoice_row(session, tenant, first)["credit_minor"] == 20000
    assert credit_balance(session, tenant) == Money("0.00", "USD")

    void_invoice(session, tenant, first, actor=ACTOR)
    assert credit_balance(session, tenant) == Money("200.00", "USD")
    assert _ledger(session, tenant) == [("returned_on_void", 20000, 20000, first)]
    voided = invoice_row(session, tenant, first)  # the void invoice stays as it was billed
    assert (voided["status"], voided["credit_minor"], voided["total_minor"]) == (
        "void", 20000, 80000)
    returned = session.execute(text("""
        SELECT actor, before, after FROM audit_log
        WHERE tenant_id = :t AND action = 'credit_balance.returned'
    """), {"t": tenant}).one()
    assert (returned.actor, returned.before["balance_minor"], returned.after["balance_minor"],
            returned.after["returned_minor"]) == (ACTOR.user_id, 0, 20000, 20000)

    second = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    assert invoice_lines(session, tenant, second) == [
        ("recurring", "test-compute-1000", 100000), ("credit", "Credit balance", -20000)]
    assert invoice_row(session, tenant, second)["total_minor"] == 80000
    assert credit_balance(session, tenant) == Money("0.00", "USD")
    assert _ledger(session, tenant)[-1] == ("consumed", -20000, 0, second)


@pytest.mark.parametrize("finalize_first", [False, True], ids=["draft", "finalized"])
def test_voiding_an_invoice_that_consumed_the_balance_restores_it(session, new_tenant_id,
                                                                  finalize_first):
    tenant = new_tenant_id("voidbalance")
    add_plan(session, "test-compute-1000", 100000)
    add_tenant(session, tenant, plans=[(date(2024, 1, 1), "test-compute-1000")])
    issue_service_credit(session, tenant, Money("50.00", "USD"), "Goodwill", actor=ACTOR,
                         idempotency_key="goodwill")  # no draft yet: waits on the balance
    invoice_id = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    assert credit_balance(session, tenant) == Money("0.00", "USD")
    if finalize_first:
        finalize_invoice(session, tenant, invoice_id, actor=ACTOR)

    void_invoice(session, tenant, invoice_id, actor=ACTOR)
    assert credit_balance(session, tenant) == Money("50.00", "USD")
    assert [entry[0] for entry in _ledger(session, tenant)] == [
        "credit_added", "consumed", "returned_on_void"]


def test_voiding_an_invoice_without_credit_writes_no_ledger_entry(session, new_tenant_id):
    tenant = new_tenant_id("voidplain")
    invoice_id = _draft(session, tenant)
    void_invoice(session, tenant, invoice_id, actor=ACTOR)
    assert _ledger(session, tenant) == []


def _committed_drafts(sessions, new_tenant_id, count: int) -> list[tuple[str, int]]:
    with sessions.begin() as session:
        return [(tenant, _draft(session, tenant))
                for tenant in (new_tenant_id("race") for _ in range(count))]


def _race(sessions, calls) -> tuple[list, list]:
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call) -> None:
        try:
            with sessions.begin() as session:
                session.connection()
                barrier.wait()
                results.append(call(session))
        except Exception as error:  # collected and asserted by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_of_two_simultaneous_finalizations_exactly_one_happens(sessions, new_tenant_id):
    [(tenant, invoice_id)] = _committed_drafts(sessions, new_tenant_id, 1)
    results, errors = _race(sessions, [
        lambda session: finalize_invoice(session, tenant, invoice_id, actor=finance("alice")),
        lambda session: finalize_invoice(session, tenant, invoice_id, actor=finance("bob")),
    ])
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], IllegalTransition)
    assert str(errors[0]) == f"Invoice {results[0].number} is already finalized"
    with sessions() as session:
        audits = session.execute(text("""
            SELECT count(*) FROM audit_log WHERE entity = 'invoice' AND entity_id = :i
              AND action = 'invoice.finalized'
        """), {"i": str(invoice_id)}).scalar_one()
    assert audits == 1


def test_numbers_stay_gap_free_across_concurrent_finalizations(sessions, new_tenant_id):
    drafts = _committed_drafts(sessions, new_tenant_id, 20)
    results, errors = _race(sessions, [
        (lambda session, t=tenant, i=invoice_id: finalize_invoice(session, t, i, actor=ACTOR))
        for tenant, invoice_id in drafts
    ])
    assert errors == []
    numbers = sorted(int(result.number.rsplit("-", 1)[1]) for result in results)
    assert numbers == list(range(numbers[0], numbers[0] + 20))
    with sessions() as session:
        year = results[0].number.split("-")[1]
        issued = session.execute(text(
            "SELECT number FROM invoices WHERE number LIKE :prefix ORDER BY number"
        ), {"prefix": f"INV-{year}-%"}).scalars().all()
    # Across the whole database, too: 1..N with no hole.
    assert [int(number.rsplit("-", 1)[1]) for number in issued] == list(range(1, len(issued) + 1))


def test_a_rolled_back_finalization_gives_its_number_back(sessions, new_tenant_id):
    (tenant_a, invoice_a), (tenant_b, invoice_b) = _committed_drafts(sessions, new_tenant_id, 2)
    with sessions() as session, session.begin():
        lost = finalize_invoice(session, tenant_a, invoice_a, actor=ACTOR).number
        session.rollback()
    with sessions.begin() as session:
        kept = finalize_invoice(session, tenant_b, invoice_b, actor=ACTOR).number
    assert kept == lost
