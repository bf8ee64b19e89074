"""A usage file sent again byte for byte is known by its SHA-256 (0017): it ends as the
event-by-event way would end it, without reading its events into the database."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from billing_core.usage_events import UsageBatchRefused
from db.invoicing import generate_invoice
from db.usage_events import UsageImportResult, import_usage_file
from tests.integration.factories import add_plan
from tests.integration.test_usage_events import ACTOR, JANUARY, _csv, _import, _metered_tenant


def _history(session, result: UsageImportResult) -> tuple:
    """What the import history shows of an import, and whose import it repeats."""
    return tuple(session.execute(text("""
        SELECT received_count, new_count, duplicate_count, conflict_count, late_count,
               repriced_count, conflicts, repeats_import_id
        FROM usage_imports WHERE import_id = :i"""), {"i": result.import_id}).one())


def _ended(result: UsageImportResult) -> tuple:
    return result.counts, result.conflicts, result.repriced_drafts


def test_the_same_bytes_again_end_as_the_same_events_in_other_bytes(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    generate_invoice(session, tenant, JANUARY, actor=ACTOR)
    lines = [f"{tenant},e{n},storage,{n + 1},2024-01-{n + 10}T12:00:00Z" for n in range(5)]
    first = _import(session, _csv(*lines))

    again = _import(session, _csv(*lines))
    reordered = _import(session, _csv(*reversed(lines)))

    assert _ended(again) == _ended(reordered)
    assert _history(session, again)[:-1] == _history(session, reordered)[:-1]
    assert _history(session, again)[-1] == first.import_id
    assert _history(session, reordered)[-1] is None
    assert (again.counts.received, again.counts.duplicate, again.repriced_drafts) == (5, 5, 0)
    audit = session.execute(text("""
        SELECT after FROM audit_log WHERE action = 'usage.imported' AND entity_id = :i"""),
        {"i": str(again.import_id)}).scalar_one()
    assert audit["repeats_import"] == first.import_id
    assert audit["duplicate"] == 5


def test_bytes_whose_import_had_a_conflict_go_event_by_event(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    _import(session, _csv(f"{tenant},e1,storage,100,2024-01-05T00:00:00Z"))
    data = _csv(f"{tenant},e1,storage,999,2024-01-05T00:00:00Z",
                f"{tenant},e2,storage,5,2024-01-05T00:00:00Z")
    first = _import(session, data)

    again = _import(session, data)

    assert (again.counts.duplicate, again.counts.conflict) == (1, 1)
    assert [(c.line_no, c.event_id) for c in again.conflicts] == [(2, "e1")]
    history = _history(session, again)
    assert (history[3], history[6], history[7]) == (1, _history(session, first)[6], None)


def test_a_repeat_whose_tenant_no_longer_meters_the_metric_is_refused_as_before(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    data = _csv(f"{tenant},e1,storage,1,2024-01-05T00:00:00Z")
    _import(session, data)
    add_plan(session, "test-usage-flat", 1000)
    session.execute(text("UPDATE subscriptions SET plan_id = 'test-usage-flat' "
                         "WHERE tenant_id = :t"), {"t": tenant})

    with pytest.raises(UsageBatchRefused) as refused:
        _import(session, data)

    assert (f"line 2, metric: 'storage' is not metered by any plan of {tenant} "
            "(none of its plans meters usage)") in str(refused.value)


def test_a_stream_that_cannot_go_back_is_imported_event_by_event(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    data = _csv(f"{tenant},e1,storage,1,2024-01-05T00:00:00Z")
    _import(session, data)

    class OneWay(io.BytesIO):
        def seekable(self) -> bool:
            return False

    again = import_usage_file(session, OneWay(data), "usage.csv", len(data), actor=ACTOR)

    assert (again.counts.duplicate, _history(session, again)[-1]) == (1, None)


def test_stored_events_are_never_deleted_nor_changed(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    _import(session, _csv(f"{tenant},e1,storage,1,2024-01-05T00:00:00Z"))
    for change in ("DELETE FROM usage_events WHERE tenant_id = :t",
                   "UPDATE usage_events SET quantity_base_units = 2 WHERE tenant_id = :t",
                   "UPDATE usage_events SET occurred_at = now() WHERE tenant_id = :t"):
        with pytest.raises(DBAPIError, match="is history: it cannot be deleted or changed"), \
                session.begin_nested():
            session.execute(text(change), {"t": tenant})
    # Its late-usage group is named by the import that stores it: that stays possible.
    session.execute(text("UPDATE usage_events SET late_usage_id = NULL WHERE tenant_id = :t"),
                    {"t": tenant})
