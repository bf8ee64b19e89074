"""Late usage (SPEC 12): listed with its reason, never added to its finalized invoice, billed once
on the next invoice naming its period, or waived with a reason."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from billing_core.access import PermissionDenied
from billing_core.errors import InvalidInput
from billing_core.periods import calendar_month
from db.invoicing import generate_invoice
from db.late_usage import (
    LateUsageAlreadySettled,
    NoDraftToBillOn,
    bill_late_usage,
    waive_late_usage,
)
from db.repricing import reprice_drafts
from db.transitions import finalize_invoice
from db.usage_events import import_usage_file
from tests.actors import customer_success, finance
from tests.integration.factories import TB, add_plan, add_tenant, invoice_lines, invoice_row

JANUARY = calendar_month("2024-01")
FEBRUARY = calendar_month("2024-02")
ACTOR = finance("finance@test")
HEADER = "tenant_id,event_id,metric,quantity,occurred_at\n"


def _import(session, *rows: str):
    data = (HEADER + "".join(f"{row}\n" for row in rows)).encode()
    return import_usage_file(session, io.BytesIO(data), "late.csv", len(data), actor=ACTOR)


@pytest.fixture
def finalized_january(session, new_tenant_id):
    """A tenant billed for exactly 1 TB in January (no overage), January finalized."""
    add_plan(session, "test-late-storage-1tb", 0,
             usage=("storage", "TB", "byte", TB, TB, Decimal("23.00")))
    tenant = add_tenant(session, new_tenant_id("late"),
                        plans=[(date(2023, 12, 1), "test-late-storage-1tb")])
    _import(session, f"{tenant},jan-1,storage,{TB},2024-01-10T00:00:00Z")
    january = generate_invoice(session, tenant, JANUARY, actor=ACTOR).invoice_id
    finalize_invoice(session, tenant, january, actor=ACTOR)
    return tenant, january


def _late_groups(session, tenant_id: str) -> list[tuple]:
    return [tuple(row) for row in session.execute(text("""
        SELECT late_usage_id, period_label, metric, event_count, quantity_base_units, status,
               reason
        FROM late_usage WHERE tenant_id = :t ORDER BY late_usage_id"""), {"t": tenant_id})]


def test_a_late_event_is_listed_with_its_reason_and_never_added_to_its_invoice(
        session, finalized_january):
    tenant, january = finalized_january
    before = invoice_row(session, tenant, january), invoice_lines(session, tenant, january)

    result = _import(session, f"{tenant},jan-late,storage,{TB // 2},2024-01-31T23:00:00Z",
                     f"{tenant},feb-1,storage,5,2024-02-02T00:00:00Z")

    assert (result.counts.new, result.counts.late) == (2, 1)
    [(group_id, label, metric, events, quantity, status, reason)] = _late_groups(session, tenant)
    assert (label, metric, events, quantity, status) == ("2024-01", "storage", 1, TB // 2,
                                                         "open")
    assert reason.startswith("arrived after its invoice: 2024-01 is finalized (INV-")
    after = invoice_row(session, tenant, january), invoice_lines(session, tenant, january)
    assert after == before
    # the late event is not in January's day totals (a regenerated January would not bill it)
    assert session.execute(text("""
        SELECT sum(quantity_base_units) FROM usage_days
        WHERE tenant_id = :t AND used_on < '2024-02-01'"""), {"t": tenant}).scalar_one() == TB


def test_late_usage_is_billed_on_the_next_invoice_naming_its_period_and_only_once(
        session, finalized_january):
    tenant, january = finalized_january
    _import(session, f"{tenant},jan-late,storage,{TB // 2},2024-01-31T23:00:00Z")
    [(group_id, *_)] = _late_groups(session, tenant)
    february = generate_invoice(session, tenant, FEBRUARY, actor=ACTOR).invoice_id
    total_before = invoice_row(session, tenant, february)["total_minor"]

    first = bill_late_usage(session, tenant, group_id, actor=ACTOR)
    again = bill_late_usage(session, tenant, group_id, actor=finance("finance2@test"))

    # 1.5 TB in January on a 1 TB plan: 0.5 TB x $23.00 = $11.50, of which $0.00 was charged
    assert first == again
    assert (first.invoice_id, first.amount.to_minor_units()) == (february, 1150)
    late_lines = [line for line in invoice_lines(session, tenant, february)
                  if line[1].startswith("Late usage")]
    assert late_lines == [("usage", "Late usage from 2024-01 (storage)", 1150)]
    assert invoice_row(session, tenant, february)["total_minor"] == total_before + 1150
    assert invoice_lines(session, tenant, january) == [  # January itself is unchanged
        ("recurring", "test-late-storage-1tb", 0)]
    assert session.execute(text("""
        SELECT count(*) FROM audit_log WHERE action = 'late_usage.billed' AND tenant_id = :t
    """), {"t": tenant}).scalar_one() == 1


def test_more_late_usage_for_a_billed_period_charges_only_the_difference(
        session, finalized_january):
    tenant, _ = finalized_january
    generate_invoice(session, tenant, FEBRUARY, actor=ACTOR)
    _import(session, f"{tenant},late-1,storage,{TB // 2},2024-01-20T00:00:00Z")
    first_group = _late_groups(session, tenant)[0][0]
    bill_late_usage(session, tenant, first_group, actor=ACTOR)
    _import(session, f"{tenant},late-2,storage,{TB // 4},2024-01-21T00:00:00Z")
    second_group = _late_groups(session, tenant)[1][0]

    second = bill_late_usage(session, tenant, second_group, actor=ACTOR)

    # 1.75 TB: $17.25 owed for January, $11.50 billed before -> $5.75
    assert second.amount.to_minor_units() == 575


def test_a_draft_re_priced_by_new_usage_keeps_the_late_usage_billed_on_it(
        session, finalized_january):
    tenant, _ = finalized_january
    february = generate_invoice(session, tenant, FEBRUARY, actor=ACTOR).invoice_id
    _import(session, f"{tenant},late-1,storage,{TB // 2},2024-01-20T00:00:00Z")
    bill_late_usage(session, tenant, _late_groups(session, tenant)[0][0], actor=ACTOR)

    result = _import(session, f"{tenant},feb-big,storage,{2 * TB},2024-02-10T00:00:00Z")

    assert result.repriced_drafts == 1
    lines = invoice_lines(session, tenant, february)
    assert ("usage", "storage overage", 2300) in lines
    assert ("usage", "Late usage from 2024-01 (storage)", 1150) in lines
    assert invoice_row(session, tenant, february)["total_minor"] == sum(
        amount for _, _, amount in lines)


def test_waiving_needs_a_reason_and_a_waived_group_is_never_billed(session, finalized_january):
    tenant, _ = finalized_january
    generate_invoice(session, tenant, FEBRUARY, actor=ACTOR)
    _import(session, f"{tenant},late-1,storage,{TB},2024-01-20T00:00:00Z")
    group_id = _late_groups(session, tenant)[0][0]
    with pytest.raises(InvalidInput, match="reason: is empty"):
        waive_late_usage(session, tenant, group_id, "  ", actor=ACTOR)

    waived = waive_late_usage(session, tenant, group_id, "meter double-counted", actor=ACTOR)

    assert waive_late_usage(session, tenant, group_id, "again", actor=ACTOR) == waived
    with pytest.raises(LateUsageAlreadySettled, match="was already waived by finance@test"):
        bill_late_usage(session, tenant, group_id, actor=ACTOR)
    assert _late_groups(session, tenant)[0][5] == "waived"


def test_late_usage_waits_for_a_draft_to_bill_on_and_only_finance_settles_it(
        session, finalized_january):
    tenant, _ = finalized_january
    _import(session, f"{tenant},late-1,storage,1,2024-01-20T00:00:00Z")
    group_id = _late_groups(session, tenant)[0][0]
    with pytest.raises(NoDraftToBillOn, match="no draft invoice after 2024-01"):
        bill_late_usage(session, tenant, group_id, actor=ACTOR)
    with pytest.raises(PermissionDenied, match="may not bill or waive late usage"):
        bill_late_usage(session, tenant, group_id, actor=customer_success())


def test_a_plan_change_re_pricing_the_draft_keeps_the_late_usage_billed_on_it(
        session, finalized_january):
    tenant, _ = finalized_january
    february = generate_invoice(session, tenant, FEBRUARY, actor=ACTOR).invoice_id
    _import(session, f"{tenant},late-1,storage,{TB // 2},2024-01-20T00:00:00Z")
    bill_late_usage(session, tenant, _late_groups(session, tenant)[0][0], actor=ACTOR)
    add_plan(session, "test-late-storage-1tb-paid", 2900,
             usage=("storage", "TB", "byte", TB, TB, Decimal("23.00")))
    session.execute(text("INSERT INTO subscriptions (tenant_id, starts_on, plan_id) "
                         "VALUES (:t, '2024-02-01', 'test-late-storage-1tb-paid')"), {"t": tenant})

    [repriced] = reprice_drafts(session, [(tenant, FEBRUARY)], actor=ACTOR, cause="plan change")

    lines = invoice_lines(session, tenant, february)
    assert lines == [("recurring", "test-late-storage-1tb-paid", 2900),
                     ("usage", "Late usage from 2024-01 (storage)", 1150)]
    assert invoice_row(session, tenant, february)["total_minor"] == 4050
    assert repriced.invoice_id == february
