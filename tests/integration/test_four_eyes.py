"""Splitting does not beat four-eyes (security review, item 6): what one person gives away alone
(service credits, credit notes, legacy corrections) adds up over a rolling 24 hours, per tenant
and per user, against the approval threshold; a second approver's approval stays open.

Every test gives its users fresh ids: the window is per user, and committed tests share a
database for the whole session.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import text

from billing_core.access import ApprovalRequired
from billing_core.money import Money
from billing_core.periods import calendar_month
from billing_core.reconciliation import Rule
from db.credit_requests import approve_credit_request, request_credit
from db.credits import CREDIT_APPROVAL_ENV, issue_credit_note, issue_service_credit
from db.invoicing import generate_invoice
from db.reconciliation import import_legacy_file, issue_legacy_credits, reconciliation_report
from db.transitions import finalize_invoice
from tests.actors import customer_success, finance, someone
from tests.helpers import usd
from tests.integration.factories import add_plan, add_tenant

OCTOBER = calendar_month("2024-10")


def given(session, tenant_id: str) -> list[int]:
    """Amounts (minor units) of the tenant's credits and credit notes, in order of issue."""
    return [amount for (amount,) in session.execute(text("""
        SELECT amount_minor FROM (
            SELECT amount_minor, created_at, 1 AS kind, credit_id AS id FROM credits
            WHERE tenant_id = :t
            UNION ALL
            SELECT amount_minor, created_at, 2, credit_note_id FROM credit_notes
            WHERE tenant_id = :t) given
        ORDER BY created_at, kind, id
    """), {"t": tenant_id})]


def counts(session) -> dict[str, int]:
    return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("credits", "credit_ledger", "credit_notes", "legacy_corrections",
                          "audit_log")}


def refusal(already: str, scope: str, would_make: str, limit: str) -> str:
    """The sentence (as a regex) naming what was given, the total it would make and the limit."""
    return (rf"needs a second approver: \${already} already credited {scope} in the last 24 "
            rf"hours, this would make \${would_make}, above the \${limit} limit")


@pytest.fixture
def threshold(monkeypatch):
    def set_to(amount: str) -> None:
        monkeypatch.setenv(CREDIT_APPROVAL_ENV, amount)
    return set_to


# --- one tenant, one user -----------------------------------------------------------------------


def test_three_500_credits_at_a_500_threshold_the_first_passes_the_rest_are_refused(
        session, new_tenant_id, threshold):
    threshold("500.00")
    tenant = add_tenant(session, new_tenant_id("split"))
    alice = someone("alice")
    assert issue_service_credit(session, tenant, usd("500.00"), "Outage part 1", actor=alice,
                                idempotency_key="part-1").created
    before = counts(session)
    for part in (2, 3):
        with pytest.raises(ApprovalRequired, match=refusal("500.00", f"to {tenant}", "1,000.00",
                                                           "500.00")):
            issue_service_credit(session, tenant, usd("500.00"), f"Outage part {part}",
                                 actor=alice, idempotency_key=f"part-{part}")
    assert counts(session) == before
    assert given(session, tenant) == [50000]


def test_the_tenant_total_counts_every_user_so_a_colleague_cannot_add_the_second_half(
        session, new_tenant_id, threshold):
    threshold("1000.00")
    tenant = add_tenant(session, new_tenant_id("split"))
    issue_service_credit(session, tenant, usd("600.00"), "Outage", actor=someone("alice"),
                         idempotency_key="alice")
    with pytest.raises(ApprovalRequired, match=refusal("600.00", f"to {tenant}", "1,100.00",
                                                       "1,000.00")):
        issue_service_credit(session, tenant, usd("500.00"), "Outage", actor=someone("bob"),
                             idempotency_key="bob")
    assert given(session, tenant) == [60000]


def test_the_message_says_how_to_get_the_second_approver(session, new_tenant_id, threshold):
    threshold("500.00")
    tenant = add_tenant(session, new_tenant_id("split"))
    alice = someone("alice")
    issue_service_credit(session, tenant, usd("300.00"), "Outage", actor=alice,
                         idempotency_key="a")
    with pytest.raises(ApprovalRequired) as refused:
        issue_service_credit(session, tenant, usd("300.00"), "Outage", actor=alice,
                             idempotency_key="b")
    assert str(refused.value) == (
        f"This credit ($300.00) needs a second approver: $300.00 already credited to {tenant} "
        "in the last 24 hours, this would make $600.00, above the $500.00 limit. Send it as a "
        "credit request for another finance user to approve.")


def test_a_replayed_key_is_the_same_credit_not_a_new_one_and_is_not_refused(
        session, new_tenant_id, threshold):
    threshold("500.00")
    tenant = add_tenant(session, new_tenant_id("split"))
    alice = someone("alice")
    first = issue_service_credit(session, tenant, usd("500.00"), "Outage", actor=alice,
                                 idempotency_key="once")
    again = issue_service_credit(session, tenant, usd("500.00"), "Outage", actor=alice,
                                 idempotency_key="once")
    assert (again.created, again.credit_id) == (False, first.credit_id)


def test_the_window_rolls_credits_older_than_24_hours_no_longer_count(
        session, new_tenant_id, threshold):
    threshold("500.00")
    tenant = add_tenant(session, new_tenant_id("split"))
    alice = someone("alice")
    issue_service_credit(session, tenant, usd("500.00"), "Outage", actor=alice,
                         idempotency_key="yesterday")
    session.execute(text("""
        UPDATE credits SET created_at = now() - interval '23 hours 59 minutes'
        WHERE tenant_id = :t
    """), {"t": tenant})
    with pytest.raises(ApprovalRequired, match="needs a second approver"):
        issue_service_credit(session, tenant, usd("0.01"), "Outage", actor=alice,
                             idempotency_key="today")
    session.execute(text("""
        UPDATE credits SET created_at = now() - interval '24 hours 1 minute' WHERE tenant_id = :t
    """), {"t": tenant})
    assert issue_service_credit(session, tenant, usd("500.00"), "Outage", actor=alice,
                                idempotency_key="today").created


# --- one user, several tenants ------------------------------------------------------------------


def test_one_user_spreading_credits_over_tenants_is_refused_past_the_limit(
        session, new_tenant_id, threshold):
    threshold("1000.00")
    tenants = [add_tenant(session, new_tenant_id(f"spread{n}")) for n in range(3)]
    alice = someone("alice")
    for tenant in tenants[:2]:
        issue_service_credit(session, tenant, usd("400.00"), "Goodwill", actor=alice,
                             idempotency_key="goodwill")
    with pytest.raises(ApprovalRequired, match=refusal("800.00", f"by {alice.user_id}",
                                                       "1,200.00", "1,000.00")):
        issue_service_credit(session, tenants[2], usd("400.00"), "Goodwill", actor=alice,
                             idempotency_key="goodwill")
    assert given(session, tenants[2]) == []
    # Another user is not held back by alice's total.
    assert issue_service_credit(session, tenants[2], usd("400.00"), "Goodwill",
                                actor=someone("bob"), idempotency_key="goodwill").created


def test_the_user_total_is_per_currency(session, new_tenant_id, threshold):
    threshold("1000.00")
    dollars = add_tenant(session, new_tenant_id("usd"))
    euros = add_tenant(session, new_tenant_id("eur"), currency="EUR")
    alice = someone("alice")
    issue_service_credit(session, dollars, usd("900.00"), "Outage", actor=alice,
                         idempotency_key="usd")
    assert issue_service_credit(session, euros, Money("900.00", "EUR"), "Outage", actor=alice,
                                idempotency_key="eur").created


# --- at the same time ---------------------------------------------------------------------------


def _at_once(sessions, grants) -> tuple[list, list]:
    """Run each grant(session) in its own thread and transaction, all released together."""
    barrier = threading.Barrier(len(grants))
    done, refused, errors = [], [], []

    def run(grant) -> None:
        try:
            with sessions.begin() as session:
                session.connection()
                barrier.wait(timeout=60)
                done.append(grant(session))
        except ApprovalRequired as error:
            refused.append(error)
        except Exception as error:  # asserted empty below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(grant,)) for grant in grants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return done, refused


@pytest.mark.parametrize("same_user", [True, False], ids=["one user", "three users"])
def test_three_concurrent_500_credits_to_one_tenant_let_one_through(
        sessions, new_tenant_id, threshold, same_user):
    threshold("500.00")
    with sessions.begin() as session:
        tenant = add_tenant(session, new_tenant_id("race"))
    alice = someone("alice")
    actors = [alice] * 3 if same_user else [someone(f"user{n}") for n in range(3)]
    done, refused = _at_once(sessions, [
        lambda session, n=n, actor=actor: issue_service_credit(
            session, tenant, usd("500.00"), "Outage", actor=actor, idempotency_key=f"race-{n}")
        for n, actor in enumerate(actors)])
    assert (len(done), len(refused)) == (1, 2)
    assert all("needs a second approver" in str(error) for error in refused)
    with sessions() as session:
        assert given(session, tenant) == [50000]


def test_one_user_crediting_three_tenants_at_once_stops_at_the_limit(
        sessions, new_tenant_id, threshold):
    threshold("1000.00")
    with sessions.begin() as session:
        tenants = [add_tenant(session, new_tenant_id(f"race{n}")) for n in range(3)]
    alice = someone("alice")
    done, refused = _at_once(sessions, [
        lambda session, tenant=tenant: issue_service_credit(
            session, tenant, usd("500.00"), "Outage", actor=alice, idempotency_key="race")
        for tenant in tenants])
    assert (len(done), len(refused)) == (2, 1)
    assert f"already credited by {alice.user_id}" in str(refused[0])
    with sessions() as session:
        assert sum(len(given(session, tenant)) for tenant in tenants) == 2


# --- credit notes -------------------------------------------------------------------------------


@pytest.fixture
def finalized(session, new_tenant_id):
    """A tenant whose October invoice ($1,000.00) is finalized; no draft."""
    add_plan(session, "test-compute-1000", 100000)
    tenant = add_tenant(session, new_tenant_id("noted"),
                        plans=[(date(2024, 1, 1), "test-compute-1000")])
    october = generate_invoice(session, tenant, OCTOBER, actor=finance("setup@test")).invoice_id
    finalize_invoice(session, tenant, october, actor=finance("setup@test"))
    return tenant, october


def test_credit_notes_and_credits_add_up_in_one_total(session, finalized, threshold):
    threshold("1000.00")
    tenant, october = finalized
    alice = someone("alice")
    issue_service_credit(session, tenant, usd("600.00"), "Outage", actor=alice,
                         idempotency_key="credit")
    before = counts(session)
    with pytest.raises(ApprovalRequired, match=r"^This credit note \(\$500\.00\) "
                       + refusal("600.00", f"to {tenant}", "1,100.00", "1,000.00")):
        issue_credit_note(session, tenant, october, usd("500.00"), "Billed twice", actor=alice,
                          idempotency_key="note")
    assert counts(session) == before
    issue_credit_note(session, tenant, october, usd("400.00"), "Billed twice", actor=alice,
                      idempotency_key="note")
    with pytest.raises(ApprovalRequired, match=refusal("1,000.00", f"to {tenant}", "1,000.01",
                                                       "1,000.00")):
        issue_service_credit(session, tenant, usd("0.01"), "Rounding", actor=alice,
                             idempotency_key="cent")
    assert given(session, tenant) == [60000, 40000]


def test_a_large_credit_note_needs_a_second_approver_too(session, finalized, threshold):
    threshold("500.00")
    tenant, october = finalized
    before = counts(session)
    with pytest.raises(ApprovalRequired, match=r"^A credit note of \$900\.00 is above "
                       r"\$500\.00 and needs a second finance user's approval"):
        issue_credit_note(session, tenant, october, usd("900.00"), "Wrong tier",
                          actor=someone("alice"), idempotency_key="note")
    assert counts(session) == before


# --- legacy corrections -------------------------------------------------------------------------


def _crafted_legacy_file(tenant_id: str, invoices: int) -> str:
    """`invoices` monthly legacy invoices, each owed $1,000.00: a $1,000.00 credit the old system
    applied after the invoice was paid (the customer paid $2,000.00)."""
    header = ("record,tenant_id,period,legacy_id,status,currency,plans,discounts,usage_metric,"
              "used_base_units,included_base_units,base_units_per_unit,usage_price_per_unit,"
              "credits,billed_recurring,billed_usage,billed_discount,billed_credit,billed_total,"
              "weight,allocation_total")
    rows = [f"invoice,{tenant_id},{2023 + n // 12}-{n % 12 + 1:02d},CRAFTED-{n:02d},paid,USD,"
            "2022-01-01 compute-2000 2000.00,,,,,,,1000.00@paid,2000.00,,,1000.00,1000.00,,"
            for n in range(invoices)]
    return "\n".join([header, *rows]) + "\n"


def test_24_legacy_corrections_of_1000_in_one_batch_are_refused_whole(
        session, new_tenant_id, threshold):
    threshold("1000.00")
    tenant = add_tenant(session, new_tenant_id("crafted"))
    mallory = someone("mallory")
    import_legacy_file(session, _crafted_legacy_file(tenant, 24), "crafted.csv", actor=mallory)
    keys = [row.discrepancy.key for row in reconciliation_report(session, [tenant]).rows]
    assert len(keys) == 24 and {key[3] for key in keys} == {Rule.CREDIT_ON_FINALIZED}
    before = counts(session)

    with pytest.raises(ApprovalRequired) as refused:
        issue_legacy_credits(session, keys, actor=mallory)
    assert str(refused.value) == (
        f"Correcting 24 legacy overcharges of {tenant} ($24,000.00) needs a second approver: "
        f"$0.00 already credited to {tenant} in the last 24 hours, this would make $24,000.00, "
        "above the $1,000.00 limit. Nothing was issued: select fewer, or correct the larger "
        "overcharges with credit requests on the Credits screen.")
    assert counts(session) == before  # nothing partial

    # One at a time is no way round it: the second correction meets the first in the window.
    assert len(issue_legacy_credits(session, keys[:1], actor=mallory).done) == 1
    with pytest.raises(ApprovalRequired, match=refusal("1,000.00", f"to {tenant}", "2,000.00",
                                                       "1,000.00")):
        issue_legacy_credits(session, keys[1:2], actor=mallory)
    # ... and a correction counts against a direct credit too.
    with pytest.raises(ApprovalRequired, match=refusal("1,000.00", f"to {tenant}", "1,000.01",
                                                       "1,000.00")):
        issue_service_credit(session, tenant, usd("0.01"), "Goodwill", actor=mallory,
                             idempotency_key="cent")
    assert given(session, tenant) == [100000]


def test_a_legacy_batch_over_several_tenants_counts_against_the_user(
        session, new_tenant_id, threshold):
    threshold("1000.00")
    tenants = [add_tenant(session, new_tenant_id(f"crafted{n}")) for n in range(2)]
    mallory = someone("mallory")
    for tenant in tenants:
        import_legacy_file(session, _crafted_legacy_file(tenant, 1), f"{tenant}.csv",
                           actor=mallory)
    keys = [row.discrepancy.key for row in reconciliation_report(session, tenants).rows]
    before = counts(session)
    with pytest.raises(ApprovalRequired, match=r"^Correcting 2 legacy overcharges \(\$2,000\.00\) "
                       + refusal("0.00", f"by {mallory.user_id}", "2,000.00", "1,000.00")):
        issue_legacy_credits(session, keys, actor=mallory)
    assert counts(session) == before


# --- a second approver --------------------------------------------------------------------------


def test_an_approved_request_is_not_blocked_by_the_window_and_does_not_fill_it(
        session, new_tenant_id, threshold):
    threshold("500.00")
    tenant, other, third = (add_tenant(session, new_tenant_id(f"approved{n}")) for n in range(3))
    alice, bob = someone("alice"), someone("bob")
    issue_service_credit(session, tenant, usd("500.00"), "Outage", actor=bob,
                         idempotency_key="direct")  # the tenant's window and bob's are full

    big = request_credit(session, tenant, usd("5000.00"), "Week-long outage", actor=alice,
                         idempotency_key="big")
    approved = approve_credit_request(session, tenant, big.request_id, actor=bob)
    assert approved.credit.created and approved.request.status == "approved"
    small = request_credit(session, tenant, usd("300.00"), "Goodwill",
                           actor=customer_success(), idempotency_key="small")
    assert approve_credit_request(session, tenant, small.request_id, actor=bob).credit.created
    assert given(session, tenant) == [50000, 500000, 30000]

    # Approved credits are not given alone: another tenant's approved $5,000.00 leaves its
    # whole limit to a direct credit, and bob's own total is still his $500.00.
    elsewhere = request_credit(session, other, usd("5000.00"), "Outage", actor=alice,
                               idempotency_key="big")
    approve_credit_request(session, other, elsewhere.request_id, actor=bob)
    assert issue_service_credit(session, other, usd("500.00"), "Goodwill", actor=alice,
                                idempotency_key="direct").created
    with pytest.raises(ApprovalRequired, match=refusal("500.00", f"by {bob.user_id}", "500.01",
                                                       "500.00")):
        issue_service_credit(session, third, usd("0.01"), "Goodwill", actor=bob,
                             idempotency_key="cent")
