"""Issue 16's walk-through in Chromium at 1440x900: each test is one thing that tripped a new
user, and failed before its fix."""

from __future__ import annotations

import re

import pytest

from tests.ui.finance_data import add_draft_invoice
from tests.ui.screens import open_in_browser, wait_until_idle


@pytest.fixture
def page(open_page):
    return open_page(viewport={"width": 1440, "height": 900})


def test_an_invoice_found_by_the_invoice_screens_search_stays_open_for_its_actions(
        page, demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-trip-search")
    open_in_browser(page, "/Invoice")
    page.get_by_label("Tenant", exact=True).fill(tenant_id)
    page.get_by_label("Tenant", exact=True).press("Enter")
    wait_until_idle(page)
    page.get_by_text(re.compile(rf"#{invoice_id} · 2024-11")).click()
    wait_until_idle(page)
    page.get_by_role("heading", name=f"Draft invoice #{invoice_id}").wait_for()

    page.get_by_role("button", name="Void…").click()
    wait_until_idle(page)
    page.get_by_role("button", name="Confirm: void").wait_for()
    assert f"invoice={invoice_id}" in page.url and f"tenant={tenant_id}" in page.url
