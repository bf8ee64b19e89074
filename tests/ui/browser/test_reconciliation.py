"""Reconciliation in the browser: by direct link, the sample's six rules and the chart."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.ui.screens import open_in_browser

SIX_RULES = ["Proration", "Duplicate invoice", "Discount order", "Credit on a finalized invoice",
             "Overage at the limit", "Allocation rounding"]


def test_direct_link_shows_the_six_rules_and_the_chart(page):
    open_in_browser(page, "/Reconciliation")
    expect(page.get_by_role("heading", name="Reconciliation")).to_be_visible()
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(state="visible")
    for rule in SIX_RULES:
        assert chart.locator("text", has_text=rule).count() >= 1, rule
    assert chart.locator("text", has_text="$1,000.00").count() >= 1
    expect(page.get_by_text("Export the report (CSV)")).to_be_visible()
    page.screenshot(path="/tmp/recon/reconciliation.png", full_page=True)
