"""Preview in the browser: the Initech case by default, and a recalculation after typing."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.ui.screens import open_in_browser, wait_until_idle


def test_preview_shows_850_beside_855_and_recalculates(page):
    open_in_browser(page, "/Preview")
    page.get_by_text("Correct price: $850.00").wait_for()
    expect(page.get_by_text("Old order: $855.00")).to_be_visible()

    price = page.get_by_label("New price per month")
    price.fill("2000.00")
    page.get_by_role("button", name="Calculate").click()
    wait_until_idle(page)
    page.get_by_text("Correct price: $1,750.00").wait_for()
    expect(page.get_by_text("Old order: $1,755.00")).to_be_visible()
