"""Tenants, plans, plan changes and discounts as operations, on a real PostgreSQL (SPEC 11)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from billing_core.access import PermissionDenied
from billing_core.errors import BillingError
from billing_core.periods import calendar_month
from db.change_preview import preview_change
from db.discounts import add_discount, end_discount, remove_discount
from db.invoicing import generate_invoice
from db.plans import create_plan, new_plan_version, retire_plan
from db.subscriptions import change_plan, move_plan_version
from db.tenants import (
    change_anchor_day,
    create_tenant,
    deactivate_tenant,
    reactivate_tenant,
    rename_tenant,
)
from db.transitions import finalize_invoice
from tests.actors import customer_success, finance, manager
from tests.helpers import usd
from tests.integration.factories import invoice_lines, invoice_row

NOVEMBER = calendar_month("2024-11")
OCTOBER = calendar_month("2024-10")
ACTOR = finance("finance@test")
TABLES = ("tenants", "plans", "subscriptions", "tenant_discounts", "invoices", "invoice_lines",
          "audit_log")


def _counts(session) -> dict[str, int]:
    return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in TABLES}


def _plans(session, prefix: str) -> tuple[str, str]:
    small = create_plan(session, f"{prefix}-600", "Compute 600", usd("600.00"), actor=ACTOR)
    large = create_plan(session, f"{prefix}-1000", "Compute 1000", usd("1000.00"), actor=ACTOR)
    return small.plan_id, large.plan_id


def _amounts(session, tenant_id: str, invoice_id: int) -> list[int]:
    return [amount for _, _, amount in invoice_lines(session, tenant_id, invoice_id)]


def test_the_issue_example_upgrade_mid_month_then_two_discounts(session, new_tenant_id):
    tenant = create_tenant(session, new_tenant_id("ent-new-co"), "New Co", "USD",
                           actor=ACTOR).tenant_id
    small, large = _plans(session, tenant)
    change_plan(session, tenant, date(2024, 11, 1), small, actor=ACTOR)
    invoice_id = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    assert _amounts(session, tenant, invoice_id) == [60000]

    upgraded = change_plan(session, tenant, date(2024, 11, 16), large, actor=ACTOR)
    assert [(d.total_before, d.total_after) for d in upgraded.repriced] == [
        (usd("600.00"), usd("800.00"))]
    assert _amounts(session, tenant, invoice_id) == [30000, 50000]

    add_discount(session, tenant, "Enterprise", percent=Decimal("10"),
                 valid_from=date(2024, 11, 1), actor=ACTOR)
    add_discount(session, tenant, "Promotion", amount=usd("50.00"),
                 valid_from=date(2024, 11, 1), actor=ACTOR)
    assert _amounts(session, tenant, invoice_id) == [30000, 50000, -8000, -5000]
    row = invoice_row(session, tenant, invoice_id)
    assert (row["subtotal_minor"], row["discount_minor"], row["total_minor"],
            row["price_version"]) == (80000, 13000, 67000, 4)


def test_a_plan_change_inside_a_finalized_period_is_refused_and_writes_nothing(
        session, new_tenant_id):
    tenant = create_tenant(session, new_tenant_id("ent-closed"), "Closed", "USD",
                           actor=ACTOR).tenant_id
    small, large = _plans(session, tenant)
    change_plan(session, tenant, date(2024, 10, 1), small, actor=ACTOR)
    october = generate_invoice(session, tenant, OCTOBER, actor=ACTOR).invoice_id
    finalize_invoice(session, tenant, october, actor=ACTOR)
    before = _counts(session)

    with pytest.raises(BillingError) as refused:
        change_plan(session, tenant, date(2024, 10, 20), large, actor=ACTOR)
    assert str(refused.value) == (
        f"starts_on: 2024-10 is finalized for {tenant}; correct it with a credit note")
    assert _counts(session) == before


def test_a_change_after_the_finalized_period_waits_for_its_own(session, new_tenant_id):
    tenant = create_tenant(session, new_tenant_id("ent-later"), "Later", "USD",
                           actor=ACTOR).tenant_id
    small, large = _plans(session, tenant)
    change_plan(session, tenant, date(2024, 10, 1), small, actor=ACTOR)
    finalize_invoice(session, tenant, generate_invoice(session, tenant, OCTOBER,
                                                       actor=ACTOR).invoice_id, actor=ACTOR)
    result = change_plan(session, tenant, date(2024, 11, 1), large, actor=ACTOR)
    assert result.repriced == ()
    november = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    assert _amounts(session, tenant, november) == [100000]


def test_cancelling_bills_up_to_the_day_before(session, new_tenant_id):
    tenant = create_tenant(session, new_tenant_id("ent-cancel"), "Cancel", "USD",
                           actor=ACTOR).tenant_id
    _, large = _plans(session, tenant)
    change_plan(session, tenant, date(2024, 11, 1), large, actor=ACTOR)
    change_plan(session, tenant, date(2024, 11, 16), None, actor=ACTOR)
    invoice_id = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    lines = invoice_lines(session, tenant, invoice_id)
    assert [(description, amount) for _, description, amount in lines] == [
        ("Compute 1000", 50000), ("Cancelled", 0)]
    with pytest.raises(BillingError, match="no plan in force in 2024-12"):
        generate_invoice(session, tenant, calendar_month("2024-12"), actor=ACTOR)


def test_a_preview_prices_before_and_after_and_saves_nothing(session, new_tenant_id):
    tenant = create_tenant(session, new_tenant_id("ent-preview"), "Preview", "USD",
                           actor=ACTOR).tenant_id
    small, large = _plans(session, tenant)
    change_plan(session, tenant, date(2024, 11, 1), small, actor=ACTOR)
    generate_invoice(session, tenant, NOVEMBER, actor=ACTOR)
    before = _counts(session)

    preview = preview_change(
        session, tenant, date(2024, 11, 16),
        lambda s: change_plan(s, tenant, date(2024, 11, 16), large, actor=ACTOR), actor=ACTOR)

    assert preview.before is not None and preview.after is not None
    assert [line.amount for line in preview.before.lines] == [usd("600.00")]
    assert [line.amount for line in preview.after.lines] == [usd("300.00"), usd("500.00")]
    assert preview.after.lines[1].explanation.startswith("15 of 30 days from 2024-11-16")
    assert preview.difference == usd("200.00")
    assert _counts(session) == before


def test_moving_everyone_on_a_plan_version_reprices_their_drafts(session, new_tenant_id):
    prefix = new_tenant_id("bulk")
    plan = create_plan(session, f"{prefix}-base", "Base", usd("100.00"), actor=ACTOR)
    risen = new_plan_version(session, plan.plan_id, usd("130.00"), actor=ACTOR)
    assert (risen.plan_id, risen.version, risen.first_plan_id) == (
        f"{prefix}-base-v2", 2, plan.plan_id)
    tenants = [create_tenant(session, f"{prefix}-{n}", f"T{n}", "USD", actor=ACTOR).tenant_id
               for n in range(3)]
    for tenant in tenants:
        change_plan(session, tenant, date(2024, 11, 1), plan.plan_id, actor=ACTOR)
        generate_invoice(session, tenant, NOVEMBER, actor=ACTOR)

    moved = move_plan_version(session, plan.plan_id, risen.plan_id, date(2024, 11, 16),
                              actor=ACTOR)

    assert (moved.tenants, len(moved.repriced)) == (3, 3)
    assert moved.difference == {"USD": usd("45.00")}  # 3 x (50.00 + 65.00 - 100.00)
    with pytest.raises(IntegrityError, match="prices never change"), session.begin_nested():
        session.execute(text("UPDATE plans SET recurring_price_minor = 1 "
                             "WHERE plan_id = :p"), {"p": plan.plan_id})


def test_a_retired_plan_takes_no_new_subscriptions(session, new_tenant_id):
    tenant = create_tenant(session, new_tenant_id("ent-retired"), "R", "USD",
                           actor=ACTOR).tenant_id
    small, _ = _plans(session, tenant)
    retire_plan(session, small, actor=ACTOR)
    with pytest.raises(BillingError, match=f"plan_id: {small} is retired"):
        change_plan(session, tenant, date(2024, 11, 1), small, actor=ACTOR)


def test_tenant_edits_and_the_anchor_day_only_before_the_first_invoice(session, new_tenant_id):
    tenant = create_tenant(session, new_tenant_id("ent-edit"), "Edit", "USD", 15,
                           actor=ACTOR).tenant_id
    assert rename_tenant(session, tenant, "Edited Co", actor=ACTOR).name == "Edited Co"
    assert change_anchor_day(session, tenant, 1, actor=ACTOR).billing_anchor_day == 1
    small, _ = _plans(session, tenant)
    change_plan(session, tenant, date(2024, 11, 1), small, actor=ACTOR)
    generate_invoice(session, tenant, NOVEMBER, actor=ACTOR)
    before = _counts(session)
    with pytest.raises(BillingError, match="^anchor_day: .* already has invoices"):
        change_anchor_day(session, tenant, 5, actor=ACTOR)
    assert _counts(session) == before
    assert not deactivate_tenant(session, tenant, actor=ACTOR).is_active
    assert reactivate_tenant(session, tenant, actor=ACTOR).is_active


def test_ending_and_removing_a_discount_reprices_the_draft(session, new_tenant_id):
    tenant = create_tenant(session, new_tenant_id("ent-disc"), "Disc", "USD",
                           actor=ACTOR).tenant_id
    _, large = _plans(session, tenant)
    change_plan(session, tenant, date(2024, 11, 1), large, actor=ACTOR)
    invoice_id = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    added = add_discount(session, tenant, "Ten", percent="10", actor=ACTOR)
    assert invoice_row(session, tenant, invoice_id)["total_minor"] == 90000
    end_discount(session, tenant, added.discount.position, date(2024, 11, 1), actor=ACTOR)
    assert invoice_row(session, tenant, invoice_id)["total_minor"] == 100000
    end_discount(session, tenant, added.discount.position, None, actor=ACTOR)
    assert invoice_row(session, tenant, invoice_id)["total_minor"] == 90000
    remove_discount(session, tenant, added.discount.position, actor=ACTOR)
    assert invoice_row(session, tenant, invoice_id)["total_minor"] == 100000


def _nothing(session, tenant_id: str) -> None:
    """No setup: the refused call is the first."""


def _existing(session, tenant_id: str) -> None:
    create_tenant(session, tenant_id, "Existing", "USD", actor=ACTOR)


def _finalized_october(session, tenant_id: str) -> None:
    _existing(session, tenant_id)
    create_plan(session, f"{tenant_id}-p", "P", usd("600.00"), actor=ACTOR)
    change_plan(session, tenant_id, date(2024, 10, 1), f"{tenant_id}-p", actor=ACTOR)
    finalize_invoice(session, tenant_id, generate_invoice(session, tenant_id, OCTOBER,
                                                          actor=ACTOR).invoice_id, actor=ACTOR)


# (setup, the refused call, the message it starts with); {t} is the test's tenant id.
BAD_INPUT = [
    pytest.param(_existing, lambda s, t: create_tenant(s, t, "Again", "USD", actor=ACTOR),
                 "tenant_id: {t} already exists", id="duplicate-tenant-id"),
    pytest.param(_nothing, lambda s, t: create_tenant(s, t, "X", "XYZ", actor=ACTOR),
                 "currency: 'XYZ' is not a supported currency", id="unknown-currency"),
    pytest.param(_nothing, lambda s, t: create_tenant(s, t, "X", "USD", 0, actor=ACTOR),
                 "anchor_day: 0 is not a day of the month (1-31)", id="anchor-0"),
    pytest.param(_nothing, lambda s, t: create_tenant(s, t, "X", "USD", 32, actor=ACTOR),
                 "anchor_day: 32 is not a day of the month (1-31)", id="anchor-32"),
    pytest.param(_nothing, lambda s, t: create_tenant(s, "Not A Slug", "X", "USD",
                                                      actor=ACTOR),
                 "tenant_id: 'Not A Slug' is not a tenant id", id="tenant-id-not-a-slug"),
    pytest.param(_nothing, lambda s, t: create_plan(s, f"{t}-p", "P", usd("-1.00"),
                                                    actor=ACTOR),
                 "price: -$1.00 is negative", id="negative-price"),
    pytest.param(_existing, lambda s, t: add_discount(s, t, "Big", percent="100.5",
                                                      actor=ACTOR),
                 "percent: 100.5 is not a percentage above 0 and at most 100",
                 id="percent-above-100"),
    pytest.param(_existing, lambda s, t: add_discount(
        s, t, "Back", percent="10", valid_from=date(2024, 11, 1),
        valid_until=date(2024, 10, 1), actor=ACTOR),
        "valid_until: 2024-10-01 is not after valid_from 2024-11-01", id="until-before-from"),
    pytest.param(_finalized_october, lambda s, t: add_discount(
        s, t, "Late", percent="10", valid_from=date(2024, 10, 1), actor=ACTOR),
        "valid_from: 2024-10 is finalized for {t}; correct it with a credit note",
        id="discount-in-finalized-period"),
    pytest.param(_existing, lambda s, t: change_plan(s, t, date(2024, 11, 1), "no-such-plan",
                                                     actor=ACTOR),
                 "plan_id: 'no-such-plan' is not a known plan", id="unknown-plan"),
    pytest.param(_existing, lambda s, t: add_discount(s, t, " ", percent="5", actor=ACTOR),
                 "label: is empty", id="empty-label"),
]


@pytest.mark.parametrize(("setup", "call", "message"), BAD_INPUT)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(session, new_tenant_id,
                                                                  setup, call, message):
    tenant = new_tenant_id("ent-bad")
    setup(session, tenant)
    before = _counts(session)
    with pytest.raises(BillingError) as refused:
        call(session, tenant)
    assert str(refused.value).startswith(message.format(t=tenant))
    assert _counts(session) == before


NEW_OPERATIONS = [
    pytest.param(lambda s, a: create_tenant(s, "ent-x", "X", "USD", actor=a), id="create"),
    pytest.param(lambda s, a: rename_tenant(s, "ent-x", "X", actor=a), id="rename"),
    pytest.param(lambda s, a: change_anchor_day(s, "ent-x", 2, actor=a), id="anchor-day"),
    pytest.param(lambda s, a: deactivate_tenant(s, "ent-x", actor=a), id="deactivate"),
    pytest.param(lambda s, a: reactivate_tenant(s, "ent-x", actor=a), id="reactivate"),
    pytest.param(lambda s, a: create_plan(s, "p", "P", usd("1.00"), actor=a), id="plan"),
    pytest.param(lambda s, a: new_plan_version(s, "p", usd("1.00"), actor=a), id="version"),
    pytest.param(lambda s, a: retire_plan(s, "p", actor=a), id="retire"),
    pytest.param(lambda s, a: change_plan(s, "ent-x", date(2024, 11, 1), "p", actor=a),
                 id="change-plan"),
    pytest.param(lambda s, a: move_plan_version(s, "p", "q", date(2024, 11, 1), actor=a),
                 id="bulk-move"),
    pytest.param(lambda s, a: add_discount(s, "ent-x", "D", percent="5", actor=a),
                 id="add-discount"),
    pytest.param(lambda s, a: end_discount(s, "ent-x", 1, None, actor=a), id="end-discount"),
    pytest.param(lambda s, a: remove_discount(s, "ent-x", 1, actor=a), id="remove-discount"),
]


@pytest.mark.parametrize("actor", [customer_success(), manager()], ids=["cs", "manager"])
@pytest.mark.parametrize("operation", NEW_OPERATIONS)
def test_only_finance_records_what_makes_a_bill(session, operation, actor):
    before = _counts(session)
    with pytest.raises(PermissionDenied, match=f"^{actor} may not"):
        operation(session, actor)
    assert _counts(session) == before
