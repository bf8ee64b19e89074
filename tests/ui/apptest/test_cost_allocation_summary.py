"""Cost allocation for managers (issue 16 B): share % and amount first, the rounding folded
away with the tie rule in one sentence, a bar per tenant, a trend across saved runs, CSV."""

from __future__ import annotations

import csv
import io
import uuid

from billing_core.allocation import split_by_weights
from ledgerline_ui.allocation.allocation_summary import TIE_RULE, split_csv
from ledgerline_ui.allocation.allocation_view import share_rows
from tests.actors import finance
from tests.helpers import committed_session, usd
from tests.ui.apptest.test_cost_allocation import (
    SPEC_WEIGHTS,
    _calculate,
    _open_weights,
    tenants_in,
)

PAGE = "pages/5_Cost_allocation.py"


def _summary(app):
    return next(f.value for f in app.dataframe if list(f.value.columns) == [
        "Tenant", "Share", "Amount"])


def test_the_split_leads_with_share_and_amount_largest_first(open_screen):
    app = _calculate(_open_weights(open_screen), SPEC_WEIGHTS)

    summary = _summary(app)
    assert summary.to_dict("records") == [
        {"Tenant": "Initech (ent-initech)", "Share": "33.34 %", "Amount": "$333.40"},
        {"Tenant": "Acme Corp (ent-acme-corp)", "Share": "33.33 %", "Amount": "$333.30"},
        {"Tenant": "Globex Industries (ent-globex-industries)", "Share": "33.33 %",
         "Amount": "$333.30"}]
    assert app.dataframe[0].value.equals(summary), "the summary comes before the rounding"
    [rounding] = [e for e in app.tabs[0].expander if e.label == "How the cents were rounded"]
    assert TIE_RULE in [m.value for m in rounding.markdown]
    assert "Exact quota" in rounding.dataframe[0].value.columns
    assert "Leftover cents go one each to the largest remainders; when two remainders are equal" \
           in TIE_RULE
    assert [b.label for b in app.tabs[0].get("download_button")] == ["Download CSV"]


def test_the_csv_holds_share_amount_and_rounding_exactly():
    allocation = split_by_weights(usd("1000.00"), {"a": 1, "b": 1, "c": 1})
    rows = share_rows(allocation.rows(), {"a": "Alpha", "b": "=Bravo"})
    records = list(csv.DictReader(io.StringIO(split_csv(rows, usd("1000.00")))))

    assert [(r["tenant_id"], r["tenant_name"], r["amount"], r["currency"], r["floor"],
             r["extra_minor_unit"]) for r in records] == [
        ("a", "Alpha", "333.34", "USD", "333.33", "1"),
        ("b", "'=Bravo", "333.33", "USD", "333.33", "0"),
        ("c", "", "333.33", "USD", "333.33", "0")]
    assert records[0]["share_percent"] == "33.334"
    assert records[1]["exact_quota"].startswith("333.3333333333")


def test_saved_runs_of_one_cost_show_a_trend_and_managers_open_on_them(open_screen,
                                                                       demo_database_url):
    from db.allocation_runs import allocate_by_weights

    label = f"Trend test cluster {uuid.uuid4().hex[:6]}"
    with committed_session(demo_database_url) as session:
        allocate_by_weights(session, label, usd("900.00"),
                            {"ent-acme-corp": 1, "ent-initech": 2}, actor=finance("tests"))
        latest = allocate_by_weights(session, label, usd("1200.00"),
                                     {"ent-acme-corp": 1, "ent-initech": 1},
                                     actor=finance("tests"))
    app = open_screen(PAGE, as_role="manager")
    assert app.tabs[1].selectbox[0].value == latest.run_id  # the newest run, on Past runs

    runs = app.tabs[1]
    assert _summary(app).to_dict("records") == [
        {"Tenant": "Acme Corp (ent-acme-corp)", "Share": "50.00 %", "Amount": "$600.00"},
        {"Tenant": "Initech (ent-initech)", "Share": "50.00 %", "Amount": "$600.00"}]
    [trend] = [c for c in runs.get("plotly_chart") if "across saved runs" in c.proto.spec]
    assert '"$300.00","$600.00"' in trend.proto.spec  # Acme: 1/3 of 900, then half of 1200
    assert '"$600.00","$600.00"' in trend.proto.spec  # Initech: 2/3 of 900, then half


def test_a_large_split_is_read_a_page_at_a_time_in_the_chosen_order(open_screen):
    app = open_screen(PAGE)
    next(b for b in app.button if b.label == "Calculate split").click()
    app.run()  # by usage: every tenant with usage, a few hundred
    [first_page] = [c.value for c in app.caption if c.value.startswith("Tenants 1-50 of ")]
    count = tenants_in(first_page)
    largest = _summary(app)

    app.number_input(key="pending_page").set_value(2).run()
    assert f"Tenants 51-100 of {count:,}, largest amount first." in [c.value for c in app.caption]
    assert not set(_summary(app)["Tenant"]) & set(largest["Tenant"])

    app.selectbox(key="pending_order").set_value("smallest amount first").run()
    assert app.number_input(key="pending_page").value == 1  # a new order starts at page 1
    smallest = _summary(app)
    assert smallest["Tenant"][0] not in set(largest["Tenant"])
    chart = app.tabs[0].get("plotly_chart")[0].proto.spec
    assert f"the largest 20 of {count:,}" in chart  # the chart keeps the largest
