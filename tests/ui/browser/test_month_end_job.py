"""Month end in the browser: a click or a reload while the bar moves does not stop the run.

The run is a job in a worker (db.jobs), not the page's script, which Streamlit
stops at the next interaction. Thousands of tenants of the test's own, on a
2022 month no other test runs, make the bar move through several batches; the
last of them is held on a real connection, so the clicks come while the run
is certainly going on, then it is let go. The tenants are deactivated at the
end, so no later run includes them.
"""

from __future__ import annotations

import re
import uuid

from tests.ui.finance_data import PLAN_ID, execute, scalar
from tests.ui.month_end_runs import holding_tenant, last_run_id, run_status, wait_for_month_end
from tests.ui.screens import open_in_browser, wait_until_idle

MONTH = "2022-06"
TENANTS = 3000


def add_bulk_tenants(url, count: int) -> str:
    """`count` active tenants `zz-bulk-<random>-00001`... on the $100.00 plan from June 2022
    (sorted after every other tenant); returns their prefix."""
    prefix = f"zz-bulk-{uuid.uuid4().hex[:8]}"
    execute(url, """
        INSERT INTO plans (plan_id, name, currency, recurring_price_minor)
        VALUES (:plan_id, 'UI flow plan', 'USD', 10000) ON CONFLICT (plan_id) DO NOTHING
    """, plan_id=PLAN_ID)
    execute(url, """
        INSERT INTO tenants (tenant_id, name, currency, billing_anchor_day)
        SELECT :prefix || '-' || lpad(n::text, 5, '0'), 'Bulk ' || n, 'USD', 1
        FROM generate_series(1, :count) AS n
    """, prefix=prefix, count=count)
    execute(url, """
        INSERT INTO subscriptions (tenant_id, starts_on, plan_id)
        SELECT tenant_id, DATE '2022-06-01', :plan_id FROM tenants WHERE tenant_id LIKE :like
    """, plan_id=PLAN_ID, like=f"{prefix}-%")
    return prefix


def test_a_click_and_a_reload_while_the_bar_moves_do_not_stop_the_run(page,
                                                                       demo_database_url):
    url = demo_database_url
    prefix = add_bulk_tenants(url, TENANTS)
    before = last_run_id(url)
    try:
        with holding_tenant(url, f"{prefix}-{TENANTS:05d}", at_most=240):
            open_in_browser(page, "/Month_end")
            period = page.get_by_label("Period (month)")
            period.fill(MONTH)
            period.press("Enter")
            wait_until_idle(page)
            page.get_by_role("button", name="Run month end…").click()
            wait_until_idle(page)
            page.get_by_role("button", name=f"Confirm: run month end {MONTH}").click()
            moving = re.compile(rf"^Month end {MONTH}: [1-9][\d,]* of [\d,]+ tenants$")
            page.get_by_text(moving).wait_for(timeout=120_000)

            page.get_by_role("button", name="Dry run").click()
            page.get_by_text(re.compile(rf"^Dry run for {MONTH}: ")).wait_for(timeout=120_000)
            assert run_status(url, MONTH, before) == "running"
            page.reload()  # the sign-in survives it (the session cookie)
            page.get_by_text(moving).wait_for(timeout=60_000)  # the run went on meanwhile
            assert run_status(url, MONTH, before) == "running"

        page.get_by_text(re.compile(
            rf"^Month end {MONTH}: {TENANTS:,} invoices created, 0 already present\.")
        ).wait_for(timeout=180_000)
        assert wait_for_month_end(url, MONTH, before) == "completed"
        assert scalar(url, "SELECT count(DISTINCT tenant_id) FROM invoices "
                           "WHERE period_label = :m AND tenant_id LIKE :like",
                      m=MONTH, like=f"{prefix}-%") == TENANTS
        assert scalar(url, "SELECT count(*) FROM invoices WHERE period_label = :m",
                      m=MONTH) == TENANTS
        assert scalar(url, "SELECT count(*) FROM month_end_runs WHERE run_id > :r",
                      r=before) == 1
    finally:
        execute(url, "UPDATE tenants SET is_active = false WHERE tenant_id LIKE :like",
                like=f"{prefix}-%")
