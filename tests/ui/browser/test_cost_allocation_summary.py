"""Cost allocation for managers in the browser (issue 16 B): share % and amount first, the
rounding folded away, a bar per tenant, the CSV, and a trend across saved runs."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

from playwright.sync_api import expect

from tests.actors import finance
from tests.helpers import committed_session, usd
from tests.ui.browser.harness import table_rows
from tests.ui.screens import open_in_browser, wait_until_idle

WEIGHTS = "tenant_id,weight\nent-acme-corp,33.33\nent-globex-industries,33.33\nent-initech,33.34"


def test_a_split_leads_with_share_and_amount_and_downloads_as_csv(page):
    open_in_browser(page, "/Cost_allocation")
    page.get_by_text("By uploaded weights (CSV)").click()
    wait_until_idle(page)
    page.get_by_label("…or paste the CSV").fill(WEIGHTS)
    page.get_by_role("button", name="Calculate split").click()
    wait_until_idle(page)

    new_split = page.get_by_role("tabpanel", name="New split")
    new_split.locator('[data-testid="stDataFrame"] table td').first.wait_for(state="attached")
    assert table_rows(page)[1][:3] == ["Initech (ent-initech)", "33.34 %", "$333.40"]
    # One bar per tenant, and no waterfall of the one total.
    new_split.locator(".js-plotly-plot").first.wait_for(state="visible")
    expect(new_split.locator(".js-plotly-plot")).to_have_count(1)
    assert new_split.locator(".waterfall").count() == 0
    rounding = new_split.get_by_test_id("stExpander")
    assert not rounding.get_by_text("when two remainders are equal", exact=False).is_visible()
    rounding.get_by_text("How the cents were rounded").click()
    rounding.get_by_text("when two remainders are equal", exact=False).wait_for()

    with page.expect_download() as download_info:
        new_split.get_by_role("button", name="Download CSV").click()
    records = list(csv.DictReader(io.StringIO(
        Path(download_info.value.path()).read_text())))
    assert [(r["tenant_id"], r["share_percent"], r["amount"]) for r in records] == [
        ("ent-initech", "33.34", "333.40"), ("ent-acme-corp", "33.33", "333.30"),
        ("ent-globex-industries", "33.33", "333.30")]


def test_a_manager_opens_on_saved_runs_with_their_trend(page, demo_database_url):
    from db.allocation_runs import allocate_by_weights

    label = f"Browser trend {uuid.uuid4().hex[:6]}"
    with committed_session(demo_database_url) as session:
        for total in ("900.00", "1500.00"):
            allocate_by_weights(session, label, usd(total), {"ent-acme-corp": 1,
                                                             "ent-initech": 2},
                                actor=finance("tests"))
    open_in_browser(page, "/Cost_allocation", as_role="manager")
    runs = page.get_by_role("tabpanel", name="Past runs")
    runs.get_by_text("Across saved runs and months").wait_for()
    trend = runs.locator(".js-plotly-plot").filter(has_text="across saved runs")
    trend.wait_for(state="visible")
    expect(trend.locator(".scatterlayer .trace")).to_have_count(2)  # one line per tenant
    expect(trend.locator("text", has_text="Saved run").first).to_be_attached()
