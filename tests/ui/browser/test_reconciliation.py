"""Reconciliation in the browser: by direct link, the sample's six rules and the chart; the
umbrella outage credit beside its legacy record, which is not proposed again; a file bad in four
ways refused with every line named, its Markdown-like tenant id shown as typed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.ui.apptest.test_reconciliation import FOUR_WAYS_BAD, SIX_RULES
from tests.ui.browser.harness import table_rows
from tests.ui.screens import open_in_browser, wait_until_idle


def test_direct_link_shows_the_six_rules_and_the_chart(page):
    open_in_browser(page, "/Reconciliation")
    expect(page.get_by_role("heading", name="Reconciliation")).to_be_visible()
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(state="visible")
    for rule in SIX_RULES:
        expect(chart.locator("text", has_text=rule).first).to_be_attached()
    expect(chart.locator("text", has_text="$1,000.00").first).to_be_attached()
    expect(page.get_by_text("Export the report (CSV)")).to_be_visible()


def test_the_umbrella_outage_credit_shows_beside_its_record_which_is_not_proposed(page):
    open_in_browser(page, "/Reconciliation")
    expect(page.get_by_role("tab", name=re.compile(
        r"^Service credits \(\d+ proposed, 1 already granted\)$"))).to_be_visible()
    page.get_by_text("1 proposal left out: already granted.", exact=False).wait_for()
    # The grids render one after another: wait for the left-out table's own cell, not any cell.
    page.locator('[data-testid="stDataFrame"] table td',
                 has_text="$200.00 service credit #").first.wait_for(state="attached",
                                                                      timeout=60_000)
    # The tab's table of proposals left out: the record beside the credit that gave it.
    rows = table_rows(page)
    assert any("OLD-2024-11-0005" in row and any(
        cell.startswith("$200.00 service credit #")
        and "'Outage 2024-11-12, 4 hours', on " in cell for cell in row) for row in rows), rows
    # Every proposal is chosen by default: the sentence counts what the tab counts, and the
    # table of chosen proposals (tenant, record, period, rule, amount: five cells a row)
    # lists the others, never the umbrella's.
    tab = page.get_by_role("tab", name=re.compile(r"^Service credits")).inner_text()
    proposed = re.search(r"\((\d+) proposed", tab).group(1)
    page.get_by_text(re.compile(rf"^All {proposed} proposals: ")).wait_for()
    page.wait_for_function("""() => Array.from(
        document.querySelectorAll('[data-testid="stDataFrame"] table tr'),
        row => row.querySelectorAll('td').length === 5
               && row.innerText.includes('OLD-2024-11-0001')).some(Boolean)""", timeout=60_000)
    chosen = [row[1] for row in table_rows(page) if len(row) == 5]
    assert "OLD-2024-11-0001" in chosen and "OLD-2024-11-0005" not in chosen, chosen


def test_a_file_bad_in_four_ways_is_refused_with_every_line_named(page):
    open_in_browser(page, "/Reconciliation")
    page.get_by_text("Import a legacy billing file").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": "four.csv", "mimeType": "text/csv",
                "buffer": FOUR_WAYS_BAD.encode()}])
    page.get_by_test_id("stFileUploader").get_by_text("four.csv").wait_for(timeout=60_000)
    import_button = page.get_by_role("button", name="Import file")
    expect(import_button).to_be_enabled(timeout=60_000)  # once the upload's rerun is done
    wait_until_idle(page)
    import_button.click()
    alert = page.get_by_test_id("stAlertContentError")
    alert.get_by_text("legacy file: 4 bad lines, nothing imported", exact=False).wait_for()
    message = alert.inner_text()
    for named in ("line 2: billed_total: '6OO.00' is not a number",
                  "line 3: status: 'settled' is not one of draft, finalized, paid, void",
                  "line 4: tenant_id: '**nobody**' is not a tenant here; add the tenant first",
                  "line 5: currency: ent-initech bills in USD, the row says EUR"):
        assert named in message.replace("\u2060", ""), message
    assert alert.locator("strong").count() == 0  # "**nobody**" is text, not bold
