"""Usage screen in headless Chromium: a file uploaded and counted, late usage billed on the next
invoice once, daily usage charted."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.ui.finance_data import rows
from tests.ui.screens import open_in_browser, wait_until_idle
from tests.ui.usage_data import TB, add_late_usage, usage_csv

WAIT_MS = 60_000


def test_a_file_is_imported_and_late_usage_is_billed_once(page, demo_database_url):
    tenant, group_id = add_late_usage(demo_database_url, "browser-usage")
    open_in_browser(page, f"/Usage?tenant={tenant}")
    data = usage_csv(f"{tenant},b1,storage,{TB},2024-02-03T00:00:00Z",
                     f"{tenant},b2,storage,{TB},2024-02-04T00:00:00Z")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": "february.csv", "mimeType": "text/csv", "buffer": data}])
    page.get_by_test_id("stFileUploader").get_by_text("february.csv").wait_for(timeout=WAIT_MS)
    import_button = page.get_by_role("button", name="Import file")
    expect(import_button).to_be_enabled(timeout=WAIT_MS)
    wait_until_idle(page)
    import_button.click()
    page.get_by_text("2 events received, 2 new (0 late), 0 duplicates, 0 conflicts; "
                     "1 draft invoices re-priced", exact=False).wait_for(timeout=WAIT_MS)
    page.get_by_role("heading", name="Imports").scroll_into_view_if_needed()
    _wait_for_cell(page, "february.csv")

    page.get_by_label("Late usage to settle").click()
    page.get_by_role("option", name=re.compile(rf"^#{group_id} ")).click()
    wait_until_idle(page)
    page.get_by_role("button", name="Bill on next invoice").click()
    # The table is the record (the success message is shown once, by the run after the click).
    # Its own row, not any "Billed" cell: the shared database holds other tests' groups.
    # Its own row, not any "Billed" cell: the shared database holds other tests' groups. The
    # row is read in the same call that finds it: the grid may redraw between two calls.
    billed = page.wait_for_function("""group => Array.from(
        document.querySelectorAll('[data-testid="stDataFrame"] table tr'),
        row => Array.from(row.querySelectorAll('td'), cell => cell.innerText.trim()))
        .find(cells => cells[0] === group && cells[4] === 'Billed')""",
                                    arg=f"#{group_id}", timeout=WAIT_MS).json_value()
    assert billed[5].endswith(": $11.50"), billed
    assert rows(demo_database_url, """
        SELECT count(*) FROM invoice_lines WHERE tenant_id = :t
          AND description = 'Late usage from 2024-01 (storage)'""", t=tenant) == [(1,)]

    page.get_by_label("Month (YYYY-MM)").fill("2024-02")
    page.get_by_label("Month (YYYY-MM)").press("Enter")
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=WAIT_MS)
    expect(page.get_by_text("storage in 2024-02: used vs included (TB)")).to_be_visible(
        timeout=WAIT_MS)


def _wait_for_cell(page, text: str) -> None:
    """Wait until a dataframe on the page has a cell reading `text` (the grid draws its
    accessible table as it renders)."""
    page.wait_for_function("""text => Array.from(
        document.querySelectorAll('[data-testid="stDataFrame"] table td'))
        .some(cell => cell.innerText.trim() === text)""", arg=text, timeout=WAIT_MS)
