"""Tenants and plans screen, and the Tenant screen's plan and discount flows (SPEC 11)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from billing_core.periods import calendar_month
from db.invoicing import generate_invoice
from db.plans import create_plan, new_plan_version
from db.subscriptions import change_plan
from db.tenants import create_tenant
from tests.actors import finance
from tests.helpers import committed_session, usd
from tests.ui.finance_data import scalar
from tests.ui.shown_text import shown

PAGE = "pages/11_Tenants_and_plans.py"
TENANT_PAGE = "pages/7_Tenant.py"
ACTOR = finance("finance@test")


def _button(app, label: str):
    return next(b for b in app.button if b.label == label)


def _table_with(app, column: str):
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


def _messages(app) -> list[str]:
    return [shown(m.value) for m in (*app.success, *app.error, *app.info)]


def test_finance_creates_a_tenant_then_gives_it_a_plan_previewed_and_two_discounts(
        open_screen, demo_database_url):
    tenant_id = f"ent-ui-{uuid.uuid4().hex[:8]}"
    app = open_screen(PAGE)
    app.text_input(key="new_tenant_id").set_value(tenant_id)
    app.text_input(key="new_tenant_name").set_value("UI Co")
    app.button(key="FormSubmitter:new_tenant-Create tenant").click().run()
    assert f"Tenant {tenant_id} created." in shown(app.success[0].value)

    tenant = open_screen(TENANT_PAGE, query={"tenant": tenant_id})
    _button(tenant, "Change plan…").click().run()
    tenant.selectbox(key="change_plan_to").set_value("compute-600")
    tenant.text_input(key="change_plan_from").set_value("2024-11-01").run()
    _button(tenant, "Confirm: compute-600 from 2024-11-01").click().run()
    _button(tenant, "Generate invoice…").click().run()
    tenant.text_input(key="generate_month").set_value("2024-11")
    _button(tenant, "Generate draft").click().run()

    _button(tenant, "Change plan…").click().run()
    tenant.selectbox(key="change_plan_to").set_value("compute-1000")
    tenant.text_input(key="change_plan_from").set_value("2024-11-16").run()
    _button(tenant, "Preview").click().run()
    assert "Difference for 2024-11: +$200.00." in _messages(tenant)
    after = [frame.value for frame in tenant.dataframe if "How" in frame.value.columns][1]
    assert list(after["Amount"]) == ["$300.00", "$500.00"]
    assert scalar(demo_database_url, "SELECT total_minor FROM invoices WHERE tenant_id = :t",
                  t=tenant_id) == 60000  # the preview saved nothing
    _button(tenant, "Confirm: compute-1000 from 2024-11-16").click().run()
    assert "re-priced: $600.00 -> $800.00." in shown(tenant.success[0].value)

    for kind, value in (("Percentage", "10"), ("Fixed amount", "50.00")):
        _button(tenant, "Discounts…").click().run()
        tenant.text_input(key="discount_label").set_value(f"{kind} off")
        tenant.radio(key="discount_kind").set_value(kind)
        tenant.text_input(key="discount_value").set_value(value)
        tenant.text_input(key="discount_from").set_value("2024-11-01").run()
        _button(tenant, f"Confirm: discount '{kind} off'").click().run()
        assert not tenant.error, [e.value for e in tenant.error]
    assert scalar(demo_database_url, "SELECT total_minor FROM invoices WHERE tenant_id = :t",
                  t=tenant_id) == 67000


def test_a_plan_change_in_a_finalized_period_is_refused_on_screen(open_screen):
    tenant = open_screen(TENANT_PAGE, query={"tenant": "ent-umbrella"})
    _button(tenant, "Change plan…").click().run()
    tenant.selectbox(key="change_plan_to").set_value("compute-600")
    tenant.text_input(key="change_plan_from").set_value("2024-10-20").run()
    _button(tenant, "Preview").click().run()
    assert [e.value for e in tenant.error] == [
        "starts_on: 2024-10 is paid for ent-umbrella; correct it with a credit note"]


def test_bad_input_on_the_new_tenant_form_names_the_field(open_screen):
    app = open_screen(PAGE)
    app.text_input(key="new_tenant_id").set_value("ent-acme-corp")
    app.text_input(key="new_tenant_name").set_value("Again")
    app.button(key="FormSubmitter:new_tenant-Create tenant").click().run()
    assert [e.value for e in app.error] == [
        "tenant_id: ent-acme-corp already exists; choose another id"]


@pytest.mark.parametrize("role", ["customer_success", "manager"])
def test_other_roles_see_lists_and_history_not_buttons(open_screen, role):
    app = open_screen(PAGE, as_role=role)
    assert "ent-acme-corp" in list(_table_with(app, "Tenant")["Tenant"])
    assert "compute-1000" in list(_table_with(app, "Plan")["Plan"])
    assert not app.get("form")
    tenant = open_screen(TENANT_PAGE, query={"tenant": "ent-acme-corp"}, as_role=role)
    labels = {b.label for b in tenant.button}
    assert not labels & {"Change plan…", "Discounts…", "Generate invoice…"}
    assert "Finance changes plans and discounts; their history is below." in [
        c.value for c in tenant.caption]


def test_moving_everyone_on_a_plan_is_previewed_as_a_count_and_a_difference(
        open_screen, demo_database_url):
    prefix = f"ui-move-{uuid.uuid4().hex[:8]}"
    with committed_session(demo_database_url) as session:
        base = create_plan(session, f"{prefix}-base", "Move base", usd("100.00"), actor=ACTOR)
        risen = new_plan_version(session, base.plan_id, usd("130.00"), actor=ACTOR)
        for number in range(2):
            tenant_id = create_tenant(session, f"{prefix}-{number}", "Mover", "USD",
                                      actor=ACTOR).tenant_id
            change_plan(session, tenant_id, date(2024, 11, 1), base.plan_id, actor=ACTOR)
            generate_invoice(session, tenant_id, calendar_month("2024-11"), actor=ACTOR)
    app = open_screen(PAGE)
    app.selectbox(key="move_from").set_value(base.plan_id)
    app.selectbox(key="move_to").set_value(risen.plan_id)
    app.text_input(key="move_day").set_value("2024-11-16").run()
    _button(app, "Preview the move").click().run()
    assert (f"Preview, nothing saved: 2 tenants on {base.plan_id}; 2 drafts re-priced, "
            "a difference of $30.00.") in _messages(app)
    total = "SELECT sum(total_minor) FROM invoices WHERE tenant_id LIKE :p"
    assert scalar(demo_database_url, total, p=f"{prefix}-%") == 20000
    _button(app, "Confirm the move").click().run()
    assert scalar(demo_database_url, total, p=f"{prefix}-%") == 23000
