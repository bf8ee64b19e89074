"""Usage events stored exactly once, all or nothing per batch (SPEC 6, 12), on real PostgreSQL."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from billing_core.access import Actor, PermissionDenied, Role
from billing_core.periods import calendar_month
from billing_core.usage_events import (
    EventOutcome,
    UsageBatchRefused,
    UsageFileTooLarge,
    check_event,
)
from db.invoicing import generate_invoice
from db.usage_events import import_usage_events, import_usage_file
from tests.actors import finance, manager
from tests.integration.factories import TB, add_plan, add_tenant, invoice_lines

JANUARY = calendar_month("2024-01")
ACTOR = finance("finance@test")
STORAGE_1TB = ("storage", "TB", "byte", TB, TB, Decimal("23.00"))
HEADER = "tenant_id,event_id,metric,quantity,occurred_at\n"


def _metered_tenant(session, tenant_id: str) -> str:
    add_plan(session, "test-usage-storage-1tb", 0, usage=STORAGE_1TB)
    return add_tenant(session, tenant_id, plans=[(date(2023, 12, 1), "test-usage-storage-1tb")])


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


def _import(session, data: bytes, name: str = "usage.csv", actor=ACTOR):
    return import_usage_file(session, io.BytesIO(data), name, len(data), actor=actor)


def _stored(session, tenant_id: str) -> list[tuple]:
    return [tuple(row) for row in session.execute(text("""
        SELECT event_id, metric, quantity_base_units FROM usage_events
        WHERE tenant_id = :t ORDER BY event_id"""), {"t": tenant_id})]


def _overage_lines(session, tenant_id: str, invoice_id: int) -> list[tuple]:
    return [line for line in invoice_lines(session, tenant_id, invoice_id) if line[0] == "usage"]


def test_the_same_file_twice_stores_once_and_the_second_reports_only_duplicates(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    draft = generate_invoice(session, tenant, JANUARY, actor=ACTOR).invoice_id
    data = _csv(*(f"{tenant},e{n},storage,{TB // 4},2024-01-{n + 10}T12:00:00Z"
                  for n in range(5)))
    first = _import(session, data)
    lines_after_first = invoice_lines(session, tenant, draft)
    version = session.execute(text("SELECT price_version FROM invoices WHERE invoice_id = :i"),
                              {"i": draft}).scalar_one()

    second = _import(session, data)

    assert (first.counts.new, first.counts.duplicate, first.counts.conflict) == (5, 0, 0)
    assert first.repriced_drafts == 1
    assert (second.counts.received, second.counts.new, second.counts.duplicate,
            second.counts.conflict, second.counts.late) == (5, 0, 5, 0, 0)
    assert second.repriced_drafts == 0
    assert invoice_lines(session, tenant, draft) == lines_after_first
    assert session.execute(text("SELECT price_version FROM invoices WHERE invoice_id = :i"),
                           {"i": draft}).scalar_one() == version
    assert len(_stored(session, tenant)) == 5
    # 5 x 0.25 TB on a 1 TB plan: a quarter TB over at $23.00/TB
    assert _overage_lines(session, tenant, draft) == [("usage", "storage overage", 575)]


def test_an_id_resent_with_another_quantity_is_a_conflict_and_the_stored_event_is_unchanged(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    _import(session, _csv(f"{tenant},e1,storage,100,2024-01-05T00:00:00Z"))

    again = _import(session, _csv(f"{tenant},e1,storage,999,2024-01-05T00:00:00Z",
                                  f"{tenant},e2,storage,5,2024-01-05T00:00:00Z"))

    assert (again.counts.new, again.counts.duplicate, again.counts.conflict) == (1, 0, 1)
    assert [(c.line_no, c.event_id, c.outcome) for c in again.conflicts] == [
        (2, "e1", EventOutcome.CONFLICT)]
    assert _stored(session, tenant) == [("e1", "storage", 100), ("e2", "storage", 5)]
    history = session.execute(text(
        "SELECT conflict_count, conflicts FROM usage_imports WHERE import_id = :i"),
        {"i": again.import_id}).one()
    assert history == (1, [{"line": 2, "tenant_id": tenant, "event_id": "e1"}])


@pytest.mark.parametrize(("extra_bytes", "overage"), [
    pytest.param(0, [], id="exactly 1 TB: no overage line"),
    pytest.param(1, [("usage", "storage overage", 0)], id="one byte more: one line"),
])
def test_smb_wayne_tech_exactly_1_tb_in_2024_01_by_events(session, extra_bytes, overage):
    tenant = "smb-wayne-tech"
    if session.execute(text("SELECT 1 FROM tenants WHERE tenant_id = :t"), {"t": tenant}).first():
        pytest.skip("the demo data owns smb-wayne-tech in this database")
    _metered_tenant(session, tenant)
    events = [f"{tenant},wayne-1,storage,{TB // 2},2024-01-10T08:00:00Z",
              f"{tenant},wayne-2,storage,{TB // 2 + extra_bytes},2024-01-31T23:59:59Z",
              f"{tenant},wayne-feb,storage,7,2024-02-01T00:00:00Z"]  # February's, not January's
    _import(session, _csv(*events))

    invoice_id = generate_invoice(session, tenant, JANUARY, actor=ACTOR).invoice_id

    assert _overage_lines(session, tenant, invoice_id) == overage


def test_the_api_door_reports_each_event(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    _import(session, _csv(f"{tenant},old,storage,1,2024-01-02T00:00:00Z"))
    events = [check_event(tenant, "new", "storage", 3, "2024-01-03T00:00:00Z"),
              check_event(tenant, "old", "storage", 1, "2024-01-02T00:00:00Z"),
              check_event(tenant, "old", "storage", 2, "2024-01-02T00:00:00Z"),
              check_event(tenant, "new", "storage", 3, "2024-01-03T00:00:00Z")]

    result = import_usage_events(session, events, actor=ACTOR)

    assert [(r.line_no, r.event_id, r.outcome) for r in result.results] == [
        (1, "new", EventOutcome.STORED), (2, "old", EventOutcome.DUPLICATE),
        (3, "old", EventOutcome.CONFLICT), (4, "new", EventOutcome.DUPLICATE)]
    assert (result.counts.new, result.counts.duplicate, result.counts.conflict) == (1, 2, 1)


def test_only_who_may_send_usage_imports_it(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    with pytest.raises(PermissionDenied, match="may not send usage events"):
        _import(session, _csv(f"{tenant},e1,storage,1,2024-01-02T00:00:00Z"), actor=manager())
    assert _stored(session, tenant) == []


def _refusal(session, data: bytes, name: str = "usage.csv") -> str:
    before = session.execute(text("SELECT count(*) FROM usage_events")).scalar_one()
    with pytest.raises(UsageBatchRefused) as refused, session.begin_nested():
        _import(session, data, name)
    assert session.execute(text("SELECT count(*) FROM usage_events")).scalar_one() == before
    return str(refused.value)


def test_malformed_files_are_refused_whole_naming_each_bad_line(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    good = f"{tenant},ok,storage,1,2024-01-02T00:00:00Z"
    assert "line 1: the header must be 'tenant_id,event_id,metric,quantity,occurred_at'" in (
        _refusal(session, b"tenant,id,metric,qty,at\n" + good.encode() + b"\n"))
    message = _refusal(session, _csv(
        good,
        f"{tenant},e2,storage,1.5,2024-01-02T00:00:00Z",
        f"{tenant},e3,storage,-3,2024-01-02T00:00:00Z",
        f"{tenant},e4,storage,7,2024-01-02T00:00:00",
        f"{tenant},e5,storage,7,yesterday"))
    assert message.startswith("The file was not imported (4 problems, nothing was stored)")
    assert "line 3, quantity: '1.5' is not a whole number of base units" in message
    assert "line 4, quantity: '-3' is negative" in message
    assert "line 5, occurred_at: '2024-01-02T00:00:00' has no time zone" in message
    assert "line 6, occurred_at: 'yesterday' is not an ISO 8601 timestamp" in message
    message = _refusal(session, _csv(good, "nobody-here,e1,storage,1,2024-01-02T00:00:00Z",
                                     f"{tenant},e9,gpu_hours,1,2024-01-02T00:00:00Z"))
    assert "line 3, tenant_id: 'nobody-here' is not a tenant" in message
    assert (f"line 4, metric: 'gpu_hours' is not metered by any plan of {tenant} "
            "(its plans meter 'storage')") in message
    message = _refusal(session, (f'{{"tenant_id": "{tenant}", "event_id": "j1", "metric": '
                                 '"storage", "quantity": 2, "occurred_at": "2024-01-02T00:00:00Z"}'
                                 '\n{"tenant_id": 5}\nnot json\n').encode(), "usage.jsonl")
    assert "line 2, event_id: is missing" in message
    assert "line 3: is not a JSON object" in message


def test_an_id_sent_twice_in_one_file_with_other_content_refuses_the_file(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    message = _refusal(session, _csv(f"{tenant},e1,storage,1,2024-01-02T00:00:00Z",
                                     f"{tenant},e1,storage,2,2024-01-02T00:00:00Z"))
    assert (f"line 3, event_id: 'e1' of {tenant} is sent on lines 2, 3 with different content; "
            "send each event once") in message


def test_a_2_gb_file_is_refused_by_its_size_before_it_is_read(session, tmp_path):
    huge = tmp_path / "usage.csv"
    with huge.open("wb") as sparse:
        sparse.truncate(2 * 10**9)  # a sparse file: 2 GB by size, nothing written
    from db.usage_events import import_usage_path

    with pytest.raises(UsageFileTooLarge, match="2,000,000,000 bytes is too large"):
        import_usage_path(session, huge, actor=ACTOR)


def test_a_meter_may_send_usage_and_its_events_re_price_the_draft(session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    draft = generate_invoice(session, tenant, JANUARY, actor=ACTOR).invoice_id
    meter = Actor("platform-meter", Role.METER)

    result = _import(session, _csv(f"{tenant},m1,storage,{2 * TB},2024-01-05T00:00:00Z"),
                     actor=meter)

    assert result.repriced_drafts == 1
    assert _overage_lines(session, tenant, draft) == [("usage", "storage overage", 2300)]
    assert session.execute(text("""
        SELECT actor, actor_role FROM audit_log
        WHERE action = 'invoice.repriced' AND entity_id = :i"""), {"i": str(draft)}).all() == [
        ("platform-meter", "meter")]


def test_the_api_door_checks_decoded_objects_and_refuses_the_batch_naming_each_position(
        session, new_tenant_id):
    tenant = _metered_tenant(session, new_tenant_id("usage"))
    good = {"tenant_id": tenant, "event_id": "a1", "metric": "storage", "quantity": 4,
            "occurred_at": "2024-01-03T00:00:00Z"}
    with pytest.raises(UsageBatchRefused) as refused, session.begin_nested():
        import_usage_events(session, [good, {**good, "event_id": "a2", "quantity": 1.5},
                                      {**good, "event_id": "a3", "occurred_at": None}],
                            actor=ACTOR)
    assert str(refused.value).startswith("The batch was not imported (2 problems, nothing was "
                                         "stored): line 2, quantity: '1.5' is not a whole")
    assert _stored(session, tenant) == []

    result = import_usage_events(session, [good], actor=ACTOR)

    assert [(r.line_no, r.outcome) for r in result.results] == [(1, EventOutcome.STORED)]
