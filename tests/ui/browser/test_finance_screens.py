"""Home, Invoices, Invoice and Month end in the browser: opened by direct link, driven by clicks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.ui.finance_data import NEWEST_MONTH, add_draft_invoice, add_flow_tenant, scalar
from tests.ui.screens import open_in_browser, wait_until_idle


@pytest.mark.parametrize("path, heading", [
    ("/", "Ledgerline"),
    ("/Invoices", "Invoices"),
    ("/Invoice", "Invoice"),
    ("/Month_end", "Month end run"),
], ids=["home", "invoices", "invoice picker", "month end"])
def test_each_screen_opens_by_direct_link(page, path, heading):
    open_in_browser(page, path)
    page.get_by_role("heading", name=heading, exact=True).wait_for()
    assert not page.locator('[data-testid="stException"]').count()


def test_home_shows_the_month_and_leads_to_the_filtered_list(page, demo_database_url):
    month = scalar(demo_database_url, NEWEST_MONTH)
    open_in_browser(page, "/")
    page.get_by_role("heading", name=f"{month} at a glance").wait_for()
    page.get_by_role("link", name="Draft invoices").click()
    wait_until_idle(page)
    page.get_by_role("heading", name="Invoices", exact=True).wait_for()
    page.get_by_text(re.compile(r"Invoices 1-\d+ of [\d,]+ \(page 1 of")).wait_for()
    assert f"period={month}" in page.url and "status=draft" in page.url


def test_initech_in_the_list_opens_its_invoice(page, demo_database_url):
    open_in_browser(page, "/Invoices?tenant=ent-initech")
    page.get_by_text("Invoices 1-1 of 1 (page 1 of 1, newest period first)").wait_for()
    page.get_by_text("Select a row to open its invoice").wait_for()
    invoice_id = scalar(demo_database_url, "SELECT invoice_id FROM invoices "
                                           "WHERE tenant_id = 'ent-initech'")

    open_in_browser(page, f"/Invoice?tenant=ent-initech&invoice={invoice_id}")
    page.get_by_text("The lines add up to the total: $1,000.00 - $100.00 - $50.00 = $850.00.",
                     exact=True).wait_for()


def test_finalize_an_invoice_after_confirming(page, demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-browser-finalize")
    open_in_browser(page, f"/Invoice?tenant={tenant_id}&invoice={invoice_id}")
    page.get_by_role("heading", name="Invoice draft 2024-11").wait_for()

    page.get_by_role("button", name="Finalize…").click()
    wait_until_idle(page)
    page.get_by_text("Finalizing assigns the next invoice number").wait_for()
    page.get_by_role("button", name="Confirm: finalize").click()
    wait_until_idle(page)

    page.get_by_text(re.compile(r"^Invoice INV-\d{4}-\d{6} is finalized\.$")).wait_for()
    number = scalar(demo_database_url, "SELECT number FROM invoices WHERE tenant_id = :t",
                    t=tenant_id)
    page.get_by_text(f"Invoice {number} is finalized.").wait_for()
    page.get_by_role("heading", name=f"Invoice {number}").wait_for()
    expect(page.get_by_role("button", name="Finalize…")).to_be_disabled()
    page.get_by_role("button", name="Download PDF").wait_for()


def test_month_end_twice_creates_no_duplicates(page, demo_database_url):
    tenant_id = add_flow_tenant(demo_database_url, "ui-browser-month-end")
    open_in_browser(page, "/Month_end")
    period = page.get_by_label("Period (month)")

    for attempt in (1, 2):
        period.fill("2023-05")
        period.press("Enter")
        wait_until_idle(page)
        page.get_by_role("button", name="Run month end…").click()
        wait_until_idle(page)
        page.get_by_role("button", name="Confirm: run month end 2023-05").click()
        wait_until_idle(page)
        if attempt == 1:
            page.get_by_text(re.compile(r"Month end 2023-05: [1-9][\d,]* invoices created")
                             ).wait_for()
        else:
            page.get_by_text(re.compile(r"Month end 2023-05: all [\d,]+ invoices were already "
                                        r"present; 0 created, nothing duplicated")).wait_for()

    assert scalar(demo_database_url, "SELECT count(*) FROM invoices WHERE tenant_id = :t "
                                     "AND period_label = '2023-05'", t=tenant_id) == 1
    assert scalar(demo_database_url, "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n "
                                     "FROM invoices WHERE period_label = '2023-05' "
                                     "GROUP BY tenant_id) t") == 1
