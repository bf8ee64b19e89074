"""Security review item 2 in the browser: a manager pastes "1e3000000" as a weight.

Before the fix the server built a 3,000,001-digit integer while holding the
interpreter lock and stopped answering for minutes. Now the page answers with
a message naming the field, and the server keeps serving.
"""

from __future__ import annotations

import urllib.request

from tests.ui.screens import open_in_browser, wait_until_idle


def test_a_manager_pasting_1e3000000_as_a_weight_gets_a_message_naming_the_field(page, app_url):
    open_in_browser(page, "/Cost_allocation", as_role="manager")
    page.get_by_role("tab", name="New split").click()  # managers open on Past runs
    page.get_by_text("By uploaded weights (CSV)").click()
    wait_until_idle(page)
    page.get_by_label("…or paste the CSV").fill(
        "tenant_id,weight\nent-acme-corp,1e3000000\nent-initech,1")
    page.get_by_role("button", name="Calculate split").click()

    alert = page.get_by_role("tabpanel", name="New split").get_by_text(
        "weights CSV: line 2: weight for 'ent-acme-corp': '1e3000000' has too many digits")
    alert.wait_for(timeout=60_000)
    with urllib.request.urlopen(f"{app_url}/_stcore/health", timeout=30) as health:
        assert health.status == 200
