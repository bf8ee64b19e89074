"""The straight way of storing usage (db.usage_straight) and the roll-up of its day totals
(db.usage_days), on real PostgreSQL: which batches take it, which give it up, and that every
reader counts each event once before, during and after the roll-up."""

from __future__ import annotations

import io
import threading
import time
from datetime import date

import pytest
from sqlalchemy import text

from billing_core.periods import calendar_month
from billing_core.usage_events import UsageBatchRefused
from db.credit_ledger import lock_tenant
from db.invoicing import generate_invoice
from db.jobs import ROLL_UP_TASK, defer, run_worker
from db.month_end import run_month_end
from db.usage_days import roll_up_pending_days
from db.usage_events import import_usage_file
from tests.helpers import committed_session
from tests.integration.factories import TB, add_plan
from tests.integration.test_usage_batch_checks import _import
from tests.integration.test_usage_events import ACTOR, _metered_tenant, _overage_lines

WAIT_LIMIT_S = 60


def _pending(session, import_id: int) -> bool:
    return session.execute(text("SELECT days_pending FROM usage_imports WHERE import_id = :i"),
                           {"i": import_id}).scalar_one()


def _records(session, tenant_id: str) -> list[tuple]:
    return [tuple(row) for row in session.execute(text("""
        SELECT used_on, quantity_base_units FROM usage_records WHERE tenant_id = :t
        ORDER BY used_on"""), {"t": tenant_id})]


def _days(session, tenant_id: str) -> list[tuple]:
    return [tuple(row) for row in session.execute(text("""
        SELECT used_on, sum(quantity_base_units) FROM usage_days WHERE tenant_id = :t
        GROUP BY used_on ORDER BY used_on"""), {"t": tenant_id})]


def test_an_all_new_batch_is_stored_straight_priced_at_once_and_rolled_up_later(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("straight"))

    result = _import(session, f"{tenant},e1,storage,{TB // 2},2024-01-05T10:00:00Z",
                     f"{tenant},e2,storage,{TB // 2},2024-01-05T23:59:59Z",
                     f"{tenant},e3,storage,1,2024-01-31T23:59:59Z")

    assert result.counts.new == 3 and _pending(session, result.import_id)
    assert session.execute(text("""
        SELECT received_count, new_count, duplicate_count, conflict_count, late_count,
               repriced_count, conflicts, u.actor, a.after
        FROM usage_imports u JOIN audit_log a ON a.entity = 'usage_import'
                                           AND a.entity_id = CAST(import_id AS text)
        WHERE import_id = :i"""), {"i": result.import_id}).one() == (
        3, 3, 0, 0, 0, 0, [], ACTOR.user_id, {"received": 3, "new": 3, "duplicate": 0,
                                              "conflict": 0, "late": 0, "drafts_repriced": 0})
    assert _records(session, tenant) == []
    assert _days(session, tenant) == [(date(2024, 1, 5), TB), (date(2024, 1, 31), 1)]
    # One byte above the included 1 TB: the draft's overage line counts the pending events.
    invoice_id = generate_invoice(session, tenant, calendar_month("2024-01"),
                                  actor=ACTOR).invoice_id
    assert len(_overage_lines(session, tenant, invoice_id)) == 1

    rolled = roll_up_pending_days(session)

    assert rolled.imports >= 1 and not _pending(session, result.import_id)
    assert _records(session, tenant) == [(date(2024, 1, 5), TB), (date(2024, 1, 31), 1)]
    assert _days(session, tenant) == [(date(2024, 1, 5), TB), (date(2024, 1, 31), 1)]
    assert roll_up_pending_days(session).imports == 0


def test_a_batch_for_days_an_invoice_covers_goes_the_other_way_and_re_prices_the_draft(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("straight"))
    generate_invoice(session, tenant, calendar_month("2024-01"), actor=ACTOR)

    result = _import(session, f"{tenant},e1,storage,{TB + 1},2024-01-05T10:00:00Z")

    assert not _pending(session, result.import_id)
    assert result.repriced_drafts == 1
    assert _records(session, tenant) == [(date(2024, 1, 5), TB + 1)]


def test_a_batch_holding_a_stored_key_is_read_again_and_counted_the_other_way(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("straight"))
    first = _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z")

    second = _import(session, f"{tenant},e2,storage,5,2024-01-06T00:00:00Z",
                     f"{tenant},e1,storage,7,2024-01-05T00:00:00Z")

    assert _pending(session, first.import_id) and not _pending(session, second.import_id)
    counts = second.counts
    assert (counts.received, counts.new, counts.duplicate, counts.conflict) == (2, 1, 1, 0)
    assert _days(session, tenant) == [(date(2024, 1, 5), 7), (date(2024, 1, 6), 5)]


def test_an_unknown_tenant_is_named_by_its_line_after_the_straight_way_gives_up(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("straight"))
    stranger = new_tenant_id("nobody")

    try:
        _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z",
                f"{stranger},e2,storage,5,2024-01-06T00:00:00Z")
    except Exception as refused:  # noqa: BLE001 - the message is what is checked
        assert "line 3" in str(refused) and stranger in str(refused)
    else:
        raise AssertionError("the file was not refused")
    assert session.execute(text("SELECT count(*) FROM usage_events WHERE tenant_id = :t"),
                           {"t": tenant}).scalar_one() == 0


def test_a_tenant_another_transaction_holds_makes_the_batch_wait_its_turn_the_other_way(
        database_url, new_tenant_id):
    with committed_session(database_url) as session:
        tenant = _metered_tenant(session, new_tenant_id("straight"))
    outcome: dict[str, object] = {}

    def import_while_held() -> None:
        with committed_session(database_url) as session:
            outcome["result"] = _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z")

    with committed_session(database_url) as holder:
        lock_tenant(holder, tenant)
        importer = threading.Thread(target=import_while_held)
        importer.start()
        # The import gave the straight way up and waits, in the other way, for the tenant.
        _wait_until(lambda: _waiting_for_a_lock(holder), "the import to wait for the tenant")
    importer.join(timeout=WAIT_LIMIT_S)

    result = outcome["result"]
    with committed_session(database_url) as session:
        assert not _pending(session, result.import_id)  # type: ignore[attr-defined]
        assert _records(session, tenant) == [(date(2024, 1, 5), 7)]


def test_readers_count_each_event_once_while_the_roll_up_commits(database_url, new_tenant_id):
    with committed_session(database_url) as session:
        tenant = _metered_tenant(session, new_tenant_id("straight"))
        _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z",
                f"{tenant},e2,storage,5,2024-01-05T01:00:00Z")

    with committed_session(database_url) as rolling, committed_session(database_url) as reader:
        roll_up_pending_days(rolling)
        assert _days(reader, tenant) == [(date(2024, 1, 5), 12)]  # before the commit
    with committed_session(database_url) as reader:
        assert _days(reader, tenant) == [(date(2024, 1, 5), 12)]
        assert _records(reader, tenant) == [(date(2024, 1, 5), 12)]


def _waiting_for_a_lock(session) -> bool:
    """Whether an import waits for tenants the other way (the straight way's own wait, on
    `usage_straight_pairs`, ends after `LOCK_WAIT`)."""
    session.execute(text("SELECT pg_stat_clear_snapshot()"))  # a fresh look each time
    return bool(session.execute(text("""
        SELECT EXISTS (SELECT FROM pg_stat_activity
                       WHERE datname = current_database() AND wait_event_type = 'Lock'
                         AND query LIKE '%usage_incoming_pairs%FOR NO KEY UPDATE%')
    """)).scalar_one())


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT_LIMIT_S} s for {what}")
        time.sleep(0.05)  # between two looks at the condition


def test_month_end_rolls_up_pending_days_before_it_prices(fresh_engine, new_tenant_id):
    url = fresh_engine.url
    with committed_session(url) as session:
        tenant = _metered_tenant(session, new_tenant_id("straight"))
        imported = _import(session, f"{tenant},e1,storage,{TB + 1},2024-01-05T00:00:00Z")
        assert _pending(session, imported.import_id)

    run_month_end(fresh_engine, "2024-01", actor=ACTOR, batch_size=500)

    with committed_session(url) as session:
        assert not _pending(session, imported.import_id)
        assert _records(session, tenant) == [(date(2024, 1, 5), TB + 1)]
        invoice_id = session.execute(text(
            "SELECT invoice_id FROM invoices WHERE tenant_id = :t"), {"t": tenant}).scalar_one()
        assert len(_overage_lines(session, tenant, invoice_id)) == 1


def test_an_event_id_holding_commas_and_quotes_is_stored_straight_as_sent(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("straight"))

    result = _import(session, f'{tenant},"a,b""c""",storage,7,2024-01-05T00:00:00Z')

    assert _pending(session, result.import_id)
    assert session.execute(text(
        "SELECT event_id, metric, quantity_base_units FROM usage_events WHERE tenant_id = :t"),
        {"t": tenant}).one() == ('a,b"c"', "storage", 7)


def test_a_json_lines_file_is_stored_straight(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("straight"))
    data = (f'{{"tenant_id": "{tenant}", "event_id": "j1", "metric": "storage", '
            f'"quantity": 9, "occurred_at": "2024-01-07T12:00:00+02:00"}}\n').encode()

    result = import_usage_file(session, io.BytesIO(data), "usage.jsonl", len(data), actor=ACTOR)

    assert _pending(session, result.import_id)
    assert _days(session, tenant) == [(date(2024, 1, 7), 9)]


def test_the_job_worker_rolls_up_pending_days(fresh_engine, new_tenant_id):
    url = fresh_engine.url
    with committed_session(url) as session:
        tenant = _metered_tenant(session, new_tenant_id("straight"))
        imported = _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z")
    # What the periodic task defers every minute, deferred now (its argument: the minute).
    defer(url, ROLL_UP_TASK, queueing_lock=ROLL_UP_TASK, timestamp=0)

    run_worker(url, wait=False)

    with committed_session(url) as session:
        assert not _pending(session, imported.import_id)
        assert _records(session, tenant) == [(date(2024, 1, 5), 7)]


def test_a_pair_that_stops_being_metered_is_refused_though_this_process_found_it_metered(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("straight"))
    first = _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z")
    assert _pending(session, first.import_id)  # stored straight: the pair is known metered
    add_plan(session, "test-usage-flat", 0)
    session.execute(text("UPDATE subscriptions SET plan_id = 'test-usage-flat' "
                         "WHERE tenant_id = :t"), {"t": tenant})

    with pytest.raises(UsageBatchRefused) as refused:
        _import(session, f"{tenant},e2,storage,7,2024-01-06T00:00:00Z")
    assert "storage" in str(refused.value)


@pytest.mark.parametrize("change", [
    "INSERT INTO subscriptions (tenant_id, starts_on, plan_id) "
    "VALUES (:t, '2024-06-01', 'test-usage-storage-1tb')",
    "UPDATE subscriptions SET starts_on = '2023-11-01' WHERE tenant_id = :t",
    "DELETE FROM subscriptions WHERE tenant_id = :t",
])
def test_every_change_of_subscriptions_gives_metering_a_new_version(session, new_tenant_id,
                                                                     change):
    tenant = _metered_tenant(session, new_tenant_id("straight"))
    before = _metering_version(session)
    session.execute(text(change), {"t": tenant})
    assert _metering_version(session) != before


def test_deleting_a_plan_gives_metering_a_new_version(session):
    add_plan(session, "test-usage-unused", 0)
    before = _metering_version(session)
    session.execute(text("DELETE FROM plans WHERE plan_id = 'test-usage-unused'"))
    assert _metering_version(session) != before


def _metering_version(session) -> str:
    return session.execute(text("SELECT version FROM metering_version")).scalar_one()


def test_an_import_stored_straight_is_audited_as_the_other_way_audits_it(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("straight"))

    result = _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z",
                     f"{tenant},e2,storage,5,2024-01-05T01:00:00Z")

    assert _pending(session, result.import_id)
    row = session.execute(text("""
        SELECT actor, actor_role, entity, tenant_id, before, after FROM audit_log
        WHERE action = 'usage.imported' AND entity_id = :i
    """), {"i": str(result.import_id)}).one()
    assert tuple(row) == (ACTOR.user_id, ACTOR.role.value, "usage_import", None, None, {
        "received": 2, "new": 2, "duplicate": 0, "conflict": 0, "late": 0,
        "drafts_repriced": 0})
