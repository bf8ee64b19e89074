"""Credits in the browser: a credit that takes the tenant's day past the approval threshold is
shown, amounts as typed, and sent to a second finance user (db/four_eyes.py)."""

from __future__ import annotations

from tests.ui.apptest.test_credit_window import credited_earlier
from tests.ui.finance_data import scalar
from tests.ui.screens import open_in_browser, wait_until_idle
from tests.ui.synthetic import add_disputed_tenant


def test_small_credits_that_add_up_go_to_a_second_finance_user(page, demo_database_url):
    tenant = add_disputed_tenant(demo_database_url, "ui-browser-window")
    credited_earlier(demo_database_url, tenant.tenant_id, "900.00")
    open_in_browser(page, f"/Credits?tenant={tenant.tenant_id}")
    page.get_by_label("Amount (USD)", exact=True).fill("200.00")
    page.get_by_label("Reason", exact=True).fill("Outage, second half")
    page.get_by_role("button", name="Review credit").click()
    wait_until_idle(page)
    page.get_by_text(
        f"This credit ($200.00) needs a second approver: $900.00 already credited to "
        f"{tenant.tenant_id} in the last 24 hours, this would make $1,100.00, above the "
        "$1,000.00 limit.", exact=False).wait_for()
    assert page.get_by_role("button", name="Confirm credit").count() == 0

    page.get_by_role("button", name="Send credit request").click()
    wait_until_idle(page)
    page.get_by_text("sent: it waits for a finance user's approval", exact=False).wait_for()
    assert scalar(demo_database_url, "SELECT count(*) FROM credit_requests WHERE tenant_id = :t "
                  "AND status = 'pending'", t=tenant.tenant_id) == 1
    assert scalar(demo_database_url, "SELECT count(*) FROM credits WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 1
