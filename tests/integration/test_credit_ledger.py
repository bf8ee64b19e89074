"""`db.credit_ledger` on a real PostgreSQL: the tenant lock's order, and the balance's ledger.

The lock is taken in tenant-id order whatever order it is given, so two transactions
locking overlapping sets never deadlock: checked step by step (a set given backwards
must not hold its later tenant while it waits for the earlier one) and with real
concurrent connections. Every entry kind moves the balance by its own sign, on top
of the latest row, and every reader of the balance agrees.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing_core.credit_ledger import LedgerEntryKind
from billing_core.periods import calendar_month
from db.credit_ledger import (
    LedgerEntry,
    append_entries,
    credit_balance,
    credit_balances_minor,
    lock_tenant,
    lock_tenants,
    outstanding_balances,
)
from db.errors import NotFound
from db.invoicing import generate_invoice
from db.reads.tenants import list_tenants
from tests.actors import finance
from tests.helpers import usd
from tests.integration.factories import add_plan, add_tenant
from tests.integration.races import FINISHED_WITHIN_S, Race, Transaction

ACTOR = finance("ledger@test")
NOVEMBER = calendar_month("2024-11")


@pytest.fixture
def race(engine):
    with Race(engine) as race:
        yield race


def committed_tenants(sessions, new_tenant_id, count: int) -> list[str]:
    with sessions.begin() as session:
        return sorted(add_tenant(session, new_tenant_id("lock")) for _ in range(count))


def lock_in(transaction: Transaction, tenant_ids: list[str]) -> dict[str, str]:
    with Session(bind=transaction.connection) as session:
        return lock_tenants(session, tenant_ids)


# --- the lock -------------------------------------------------------------------------------

def test_the_lock_returns_the_currency_of_each_tenant_that_exists(session, new_tenant_id):
    dollars = add_tenant(session, new_tenant_id("usd"))
    euros = add_tenant(session, new_tenant_id("eur"), currency="EUR")
    assert lock_tenants(session, [euros, "no-such-tenant", dollars]) == {
        dollars: "USD", euros: "EUR"}
    assert lock_tenant(session, euros) == "EUR"
    with pytest.raises(NotFound):
        lock_tenant(session, "no-such-tenant")


def test_a_set_given_backwards_waits_for_its_first_tenant_holding_none(
        race, sessions, new_tenant_id):
    first, second = committed_tenants(sessions, new_tenant_id, 2)
    holder = race.begin()
    lock_in(holder, [first])
    waiter = race.begin()
    attempt = race.attempt(waiter, lambda: lock_in(waiter, [second, first]))
    race.wait_until_blocked(attempt, waiter, holder)
    # Locked in argument order, the waiter would hold `second` now: this would deadlock.
    assert lock_in(holder, [second]) == {second: "USD"}
    holder.commit()
    assert attempt.result(timeout=FINISHED_WITHIN_S) == {first: "USD", second: "USD"}


def test_overlapping_sets_locked_at_once_in_opposite_orders_never_deadlock(
        sessions, new_tenant_id):
    tenants = committed_tenants(sessions, new_tenant_id, 6)
    orders = [tenants[:4], list(reversed(tenants[2:]))]  # two tenants in common
    rounds = 25
    start = threading.Barrier(len(orders), timeout=30)
    errors: list[BaseException] = []
    done: list[int] = []

    def lock_repeatedly(order: list[str]) -> None:
        try:
            start.wait()
            for _ in range(rounds):
                with sessions.begin() as session:
                    lock_tenants(session, order)
                    # Hold the locks over a round trip, so the two sides overlap.
                    session.execute(text("SELECT 1"))
            done.append(rounds)
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=lock_repeatedly, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=FINISHED_WITHIN_S)
    assert errors == []
    assert done == [rounds, rounds]


# --- the ledger -----------------------------------------------------------------------------

@pytest.fixture
def funded(session, new_tenant_id):
    """A tenant with a $1,000.00 November draft and $100.00 on its credit balance (one
    `credit_added` entry for a $100.00 credit): (tenant, credit id, invoice id)."""
    add_plan(session, "test-compute-1000", 100000)
    tenant = add_tenant(session, new_tenant_id("ledger"),
                        plans=[(date(2024, 1, 1), "test-compute-1000")])
    invoice_id = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    credit_id = session.execute(text("""
        INSERT INTO credits (tenant_id, amount_minor, currency, reason, actor, idempotency_key,
                             applied_minor, to_balance_minor)
        VALUES (:t, 10000, 'USD', 'Goodwill', :actor, 'seed', 0, 10000) RETURNING credit_id
    """), {"t": tenant, "actor": ACTOR.user_id}).scalar_one()
    lock_tenant(session, tenant)
    append_entries(session, [LedgerEntry(tenant, LedgerEntryKind.CREDIT_ADDED, usd("100.00"),
                                         credit_id=credit_id)], ACTOR)
    return tenant, credit_id, invoice_id


def ledger_rows(session, tenant_id: str) -> list[tuple]:
    return [tuple(row) for row in session.execute(text("""
        SELECT entry_kind, amount_minor, balance_after_minor, credit_id, invoice_id
        FROM credit_ledger WHERE tenant_id = :t ORDER BY entry_id
    """), {"t": tenant_id})]


@pytest.mark.parametrize(("kind", "amount", "after", "action", "entity"), [
    pytest.param(LedgerEntryKind.CREDIT_ADDED, "25.00", "125.00", "credit_balance.added",
                 "credit", id="credit-added-adds"),
    pytest.param(LedgerEntryKind.CONSUMED, "40.00", "60.00", "credit_balance.consumed",
                 "invoice", id="consumed-takes"),
    pytest.param(LedgerEntryKind.RETURNED_ON_VOID, "40.00", "140.00", "credit_balance.returned",
                 "invoice", id="returned-on-void-adds"),
])
def test_each_entry_kind_moves_the_balance_by_its_sign_on_top_of_the_latest_row(
        session, funded, new_tenant_id, kind, amount, after, action, entity):
    tenant, credit_id, invoice_id = funded
    untouched = add_tenant(session, new_tenant_id("no-ledger"))
    outstanding_before = dict((m.currency, m) for m in outstanding_balances(session))
    names_credit = kind is LedgerEntryKind.CREDIT_ADDED
    entry = LedgerEntry(tenant, kind, usd(amount), credit_id=credit_id if names_credit else None,
                        invoice_id=None if names_credit else invoice_id,
                        invoice_label=None if names_credit else f"#{invoice_id}")

    [change] = append_entries(session, [entry], ACTOR)

    assert (change.before, change.after) == (usd("100.00"), usd(after))
    sign = -1 if kind is LedgerEntryKind.CONSUMED else 1
    assert ledger_rows(session, tenant)[-1] == (
        kind.value, sign * usd(amount).to_minor_units(), usd(after).to_minor_units(),
        entry.credit_id, entry.invoice_id)
    # Every reader of the balance reads the latest row.
    assert credit_balance(session, tenant) == usd(after)
    assert credit_balance(session, untouched) == usd("0.00")
    assert credit_balances_minor(session, [tenant, untouched]) == {
        tenant: usd(after).to_minor_units()}
    [summary] = list_tenants(session, search=tenant)
    assert summary.credit_balance == usd(after)
    outstanding_after = dict((m.currency, m) for m in outstanding_balances(session))
    assert outstanding_after["USD"] - outstanding_before["USD"] == usd(after) - usd("100.00")
    audited = session.execute(text("""
        SELECT action, entity, entity_id, before, after FROM audit_log
        WHERE tenant_id = :t ORDER BY audit_id DESC LIMIT 1
    """), {"t": tenant}).one()
    assert (audited.action, audited.entity, audited.entity_id) == (
        action, entity, str(credit_id if names_credit else invoice_id))
    assert audited.before == {"balance_minor": 10000, "currency": "USD"}
    assert audited.after["balance_minor"] == usd(after).to_minor_units()


def test_a_return_is_audited_with_the_amount_and_the_invoice_it_came_from(session, funded):
    tenant, _, invoice_id = funded
    append_entries(session, [LedgerEntry(tenant, LedgerEntryKind.RETURNED_ON_VOID, usd("40.00"),
                                         invoice_id=invoice_id, invoice_label="INV-2024-000042")],
                   ACTOR)
    after = session.execute(text("""
        SELECT after FROM audit_log WHERE tenant_id = :t ORDER BY audit_id DESC LIMIT 1
    """), {"t": tenant}).scalar_one()
    assert after == {"balance_minor": 14000, "currency": "USD", "returned_minor": 4000,
                     "invoice": "INV-2024-000042"}


def test_consuming_more_than_the_balance_is_refused_by_the_database(session, funded):
    tenant, _, invoice_id = funded
    with pytest.raises(IntegrityError, match="ck_credit_ledger_balance_not_negative"), \
            session.begin_nested():
        append_entries(session, [LedgerEntry(tenant, LedgerEntryKind.CONSUMED, usd("100.01"),
                                             invoice_id=invoice_id)], ACTOR)
    assert credit_balance(session, tenant) == usd("100.00")


@pytest.mark.parametrize("amounts", [("0.00",), ("10.00", "5.00")],
                         ids=["zero", "two-for-one-tenant"])
def test_an_entry_of_nothing_or_two_entries_for_one_tenant_at_once_are_refused(
        session, funded, amounts):
    tenant, credit_id, _ = funded
    with pytest.raises(ValueError):
        append_entries(session, [LedgerEntry(tenant, LedgerEntryKind.CREDIT_ADDED, usd(amount),
                                             credit_id=credit_id) for amount in amounts], ACTOR)
    assert len(ledger_rows(session, tenant)) == 1


def test_appends_at_once_under_the_tenant_lock_lose_nothing(sessions, new_tenant_id):
    with sessions.begin() as session:
        tenant = add_tenant(session, new_tenant_id("busy"))
        credit_id = session.execute(text("""
            INSERT INTO credits (tenant_id, amount_minor, currency, reason, actor,
                                 idempotency_key, applied_minor, to_balance_minor)
            VALUES (:t, 100, 'USD', 'Goodwill', :actor, 'busy', 0, 100) RETURNING credit_id
        """), {"t": tenant, "actor": ACTOR.user_id}).scalar_one()
    writers, rounds = 2, 15
    start = threading.Barrier(writers, timeout=30)
    errors: list[BaseException] = []

    def append_repeatedly() -> None:
        try:
            start.wait()
            for _ in range(rounds):
                with sessions.begin() as session:
                    lock_tenant(session, tenant)
                    append_entries(session, [LedgerEntry(
                        tenant, LedgerEntryKind.CREDIT_ADDED, usd("1.00"),
                        credit_id=credit_id)], ACTOR)
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=append_repeatedly) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=FINISHED_WITHIN_S)
    assert errors == []
    with sessions() as session:
        assert credit_balance(session, tenant) == usd(f"{writers * rounds}.00")
        balances = [row[2] for row in ledger_rows(session, tenant)]
    assert balances == list(range(100, 100 * writers * rounds + 1, 100))
