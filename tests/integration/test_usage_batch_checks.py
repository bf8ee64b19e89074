"""A usage batch is checked as a batch (0015): the ways a batch is stored, and the rules the
dropped per-row foreign keys kept, on real PostgreSQL.

An import first tries to store every line as new (a plain INSERT in a savepoint); a batch
holding a stored key, or one key twice, goes another way. Each way must count the same."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from billing_core.periods import calendar_month
from db.invoicing import generate_invoice
from db.usage_events import import_usage_file
from tests.integration.factories import add_tenant
from tests.integration.test_usage_events import ACTOR, HEADER, _metered_tenant


def _import(session, *rows: str):
    data = (HEADER + "".join(f"{row}\n" for row in rows)).encode()
    return import_usage_file(session, io.BytesIO(data), "usage.csv", len(data), actor=ACTOR)


def _counts(result) -> tuple[int, int, int, int]:
    counts = result.counts
    return counts.received, counts.new, counts.duplicate, counts.conflict


def _stored(session, tenant_id: str) -> list[tuple]:
    return [tuple(row) for row in session.execute(text("""
        SELECT event_id, quantity_base_units FROM usage_events
        WHERE tenant_id = :t ORDER BY event_id"""), {"t": tenant_id})]


def _day_total(session, tenant_id: str) -> int:
    return session.execute(text(
        "SELECT coalesce(sum(quantity_base_units), 0) FROM usage_days WHERE tenant_id = :t"),
        {"t": tenant_id}).scalar_one()


def test_an_event_sent_twice_in_one_file_with_the_same_content_is_stored_and_counted_once(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))

    result = _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z",
                     f"{tenant},e2,storage,5,2024-01-05T00:00:00Z",
                     f"{tenant},e1,storage,7,2024-01-05T00:00:00Z")

    assert _counts(result) == (3, 2, 1, 0)
    assert _stored(session, tenant) == [("e1", 7), ("e2", 5)]
    assert _day_total(session, tenant) == 12


def test_a_batch_sent_again_with_one_event_changed_reports_that_conflict_and_stores_nothing(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    generate_invoice(session, tenant, calendar_month("2024-01"), actor=ACTOR)
    _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z",
            f"{tenant},e2,storage,5,2024-01-06T00:00:00Z")

    again = _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z",
                    f"{tenant},e2,storage,6,2024-01-06T00:00:00Z")

    assert _counts(again) == (2, 0, 1, 1)
    assert [(c.line_no, c.event_id) for c in again.conflicts] == [(3, "e2")]
    assert again.repriced_drafts == 0
    assert _stored(session, tenant) == [("e1", 7), ("e2", 5)]
    assert _day_total(session, tenant) == 12


def test_a_batch_of_new_and_stored_events_stores_only_the_new_ones(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    _import(session, f"{tenant},e1,storage,7,2024-01-05T00:00:00Z")

    mixed = _import(session, f"{tenant},e2,storage,5,2024-01-06T00:00:00Z",
                    f"{tenant},e1,storage,7,2024-01-05T00:00:00Z")

    assert _counts(mixed) == (2, 1, 1, 0)
    assert _stored(session, tenant) == [("e1", 7), ("e2", 5)]
    assert _day_total(session, tenant) == 12


def test_a_usage_record_of_a_tenant_that_does_not_exist_is_refused(session):
    with pytest.raises(IntegrityError, match="tenant no-such-tenant does not exist"), \
            session.begin_nested():
        session.execute(text("""
            INSERT INTO usage_records (tenant_id, metric, used_on, quantity_base_units)
            VALUES ('no-such-tenant', 'storage', '2024-01-05', 1)"""))


def test_a_tenant_with_usage_events_cannot_be_deleted_nor_its_import_record(
        session, new_tenant_id):
    # A tenant with nothing else (no plan, no day rows): only its event keeps it.
    tenant = add_tenant(session, new_tenant_id("usage"))
    import_id = session.execute(text("""
        INSERT INTO usage_imports (source, actor, actor_role, received_count, new_count)
        VALUES ('command', 'test', 'finance', 1, 1) RETURNING import_id""")).scalar_one()
    session.execute(text("""
        INSERT INTO usage_events (tenant_id, event_id, metric, quantity_base_units,
                                  occurred_at, import_id)
        VALUES (:t, 'e1', 'storage', 7, '2024-01-05T00:00:00Z', :i)"""),
        {"t": tenant, "i": import_id})

    with pytest.raises(IntegrityError, match=f"tenant {tenant} has usage"), \
            session.begin_nested():
        session.execute(text("DELETE FROM tenants WHERE tenant_id = :t"), {"t": tenant})
    with pytest.raises(DBAPIError, match=f"usage import {import_id} is history"), \
            session.begin_nested():
        session.execute(text("DELETE FROM usage_imports WHERE import_id = :i"), {"i": import_id})
