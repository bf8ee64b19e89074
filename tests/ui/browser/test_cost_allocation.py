"""Cost allocation in the browser: paste weights, calculate, see the split and its charts."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.ui.screens import open_in_browser, wait_until_idle


def test_split_by_pasted_weights_shows_parts_and_a_chart(page):
    open_in_browser(page, "/Cost_allocation")
    page.get_by_text("By uploaded weights (CSV)").click()
    wait_until_idle(page)
    page.get_by_label("…or paste the CSV").fill(
        "tenant_id,weight\nent-acme-corp,33.33\nent-globex-industries,33.33\nent-initech,33.34")
    page.get_by_role("button", name="Calculate split").click()
    wait_until_idle(page)

    new_split = page.get_by_role("tabpanel", name="New split")
    new_split.get_by_text("How the cents were rounded").click()  # the check is folded away
    new_split.get_by_text("The parts add up to $1,000.00, exactly the total $1,000.00").wait_for()
    chart = new_split.locator(".js-plotly-plot").first
    chart.wait_for(state="visible")
    expect(chart.locator("text", has_text="$333.40").first).to_be_attached()
