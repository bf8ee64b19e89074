"""Issue 13's "Must show", through the screens in Chromium: a new tenant, a plan from
2024-11-01, an upgrade on 2024-11-16, November generated ($300.00 + $500.00 = $800.00),
then 10 % and $50.00 off ($670.00); and a finalize of a draft re-priced meanwhile, refused."""

from __future__ import annotations

from db.discounts import add_discount
from tests.actors import finance
from tests.helpers import committed_session
from tests.ui.finance_data import add_draft_invoice, scalar
from tests.ui.screens import open_in_browser, wait_until_idle

TENANT = "ent-new-co"


def _type(page, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")
    wait_until_idle(page)


def _choose(page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option).click()
    wait_until_idle(page)


def _click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    wait_until_idle(page)


def _change_plan(page, option: str, plan_id: str, starts_on: str) -> None:
    _click(page, "Change plan…")
    _choose(page, "New plan", option)
    _type(page, "From (YYYY-MM-DD)", starts_on)
    _click(page, f"Confirm: {plan_id} from {starts_on}")
    page.get_by_text(f"Saved: {plan_id} from {starts_on}.").wait_for()


def _add_discount(page, label: str, kind: str, value: str) -> None:
    _click(page, "Discounts…")
    _type(page, "Label", label)
    page.get_by_text(kind, exact=True).click()
    wait_until_idle(page)
    _type(page, "Percent" if kind == "Percentage" else "Amount (USD)", value)
    _type(page, "Valid from (YYYY-MM-DD; empty: always)", "2024-11-01")
    _click(page, f"Confirm: discount '{label}'")
    page.get_by_text(f"Saved: discount '{label}'.").wait_for()


def _open_invoice(page, demo_database_url) -> None:
    invoice_id = scalar(demo_database_url, "SELECT invoice_id FROM invoices WHERE tenant_id = :t "
                                           "AND period_label = '2024-11'", t=TENANT)
    open_in_browser(page, f"/Invoice?tenant={TENANT}&invoice={invoice_id}")


def test_new_tenant_upgraded_mid_month_then_discounted(page, demo_database_url):
    open_in_browser(page, "/Tenants_and_plans")
    new_tenant = page.get_by_test_id("stForm").filter(has_text="New tenant")
    new_tenant.get_by_label("Tenant id", exact=True).fill(TENANT)
    new_tenant.get_by_label("Name", exact=True).fill("New Co")
    new_tenant.get_by_role("button", name="Create tenant").click()
    page.get_by_text(f"Tenant {TENANT} created.").wait_for()

    open_in_browser(page, f"/Tenant?tenant={TENANT}")
    _change_plan(page, "Compute tier (legacy) (compute-600) · $600.00 a month", "compute-600",
                 "2024-11-01")
    _change_plan(page, "Compute tier (compute-1000) · $1,000.00 a month", "compute-1000",
                 "2024-11-16")
    _click(page, "Generate invoice…")
    _type(page, "Month", "2024-11")
    _click(page, "Generate draft")
    page.get_by_text("Draft invoice for 2024-11 is ready").wait_for()

    _open_invoice(page, demo_database_url)
    page.get_by_text("The lines add up to the total: $300.00 + $500.00 = $800.00.").wait_for()

    open_in_browser(page, f"/Tenant?tenant={TENANT}")
    _add_discount(page, "Enterprise discount", "Percentage", "10")
    _add_discount(page, "Promotion", "Fixed amount", "50.00")

    _open_invoice(page, demo_database_url)
    page.get_by_text("The lines add up to the total: "
                     "$300.00 + $500.00 - $80.00 - $50.00 = $670.00.").wait_for()


def test_finalizing_a_draft_repriced_since_finalize_was_pressed_is_refused(page,
                                                                          demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-stale-browser")
    open_in_browser(page, f"/Invoice?tenant={tenant_id}&invoice={invoice_id}")
    page.get_by_text("(version 1)").wait_for()
    _click(page, "Finalize…")
    with committed_session(demo_database_url) as session:  # someone adds a discount meanwhile
        add_discount(session, tenant_id, "Goodwill", percent="10", actor=finance("other@test"))
    _click(page, "Confirm: finalize")
    page.get_by_text("Invoice draft 2024-11 changed since you opened it: $100.00 is now "
                     "$90.00; review it again").wait_for()
    assert scalar(demo_database_url, "SELECT status FROM invoices WHERE invoice_id = :i",
                  i=invoice_id) == "draft"
