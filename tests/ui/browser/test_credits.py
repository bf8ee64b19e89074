"""Credits in the browser: review a service credit, see where it lands, confirm it."""

from __future__ import annotations

from tests.ui.screens import open_in_browser, wait_until_idle
from tests.ui.finance_data import scalar
from tests.ui.synthetic import add_disputed_tenant


def test_issue_a_credit_and_see_it_land_on_the_draft(page, demo_database_url):
    tenant = add_disputed_tenant(demo_database_url, "ui-browser-credit")
    open_in_browser(page, f"/Credits?tenant={tenant.tenant_id}")
    page.get_by_label("Amount (USD)", exact=True).fill("200.00")
    page.get_by_label("Reason", exact=True).fill("Outage 2024-11-12, 4 hours")
    page.get_by_role("button", name="Review credit").click()
    wait_until_idle(page)
    page.get_by_text("$200.00 reduces the draft invoice for 2024-11 (total $1,000.00).").wait_for()

    page.get_by_role("button", name="Confirm credit").dblclick()
    wait_until_idle(page)
    page.get_by_text(f"$200.00 came off draft invoice #{tenant.draft_invoice_id}.").wait_for()
    assert scalar(demo_database_url, "SELECT count(*) FROM credits WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 1
