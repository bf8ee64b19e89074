"""Month end: a dry run writes nothing, a confirmed run invoices, a second run duplicates nothing.

The runs here are for 2023 months: only the flow tenants these tests create have
a plan in force then (every demo tenant is skipped, with the reason), so the
shared demo data other screens read is left as it was.

A confirmed run is queued and this process's job worker (started with the
screens) runs it, so after confirming a test waits for the run's record, then
shows the screen again.
"""

from __future__ import annotations

from tests.ui.finance_data import add_flow_tenant, scalar
from tests.ui.month_end_runs import (
    holding_tenant,
    last_run_id,
    run_status,
    wait_for_month_end,
    wait_until,
)

PAGE = "pages/6_Month_end.py"


def month_counts(url, month: str) -> tuple[int, int, int]:
    """(invoices of the month, the most any tenant has, month end runs recorded)."""
    invoices = scalar(url, "SELECT count(*) FROM invoices WHERE period_label = :m", m=month)
    most = scalar(url, "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM invoices "
                       "WHERE period_label = :m GROUP BY tenant_id) t", m=month)
    runs = scalar(url, "SELECT count(*) FROM month_end_runs")
    return invoices, most, runs


def metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def press(app, label: str):
    next(b for b in app.button if b.label == label).click().run()


def confirm_run(app, month: str) -> None:
    app.text_input(key="month_end_period").set_value(month).run()
    press(app, "Run month end…")
    press(app, f"Confirm: run month end {month}")
    assert not app.exception and not app.error, [e.value for e in app.error]


def run_confirmed(app, url, month: str) -> None:
    """Confirm a run, wait until the worker has finished it, and show the screen again."""
    before = last_run_id(url)
    confirm_run(app, month)
    assert wait_for_month_end(url, month, before) == "completed"
    app.run()
    assert not app.exception and not app.error, [e.value for e in app.error]


def test_shows_the_latest_month_and_the_recent_runs(open_screen):
    app = open_screen(PAGE)

    assert app.text_input(key="month_end_period").value == "2024-11"
    runs = app.dataframe[-1].value
    november = runs[runs["Month"] == "2024-11"].iloc[-1]
    assert (november["Status"], november["Tenants"], november["Created"],
            november["Already present"]) == ("completed", "300 of 300", 295, 5)


def test_a_dry_run_shows_what_would_be_created_and_writes_nothing(open_screen,
                                                                   demo_database_url):
    tenant_id = add_flow_tenant(demo_database_url, "ui-me-dry")
    before = month_counts(demo_database_url, "2023-02")
    app = open_screen(PAGE)
    app.text_input(key="month_end_period").set_value("2023-02").run()
    press(app, "Dry run")

    assert month_counts(demo_database_url, "2023-02") == before
    shown = metrics(app)
    assert int(shown["Would be created"]) >= 1
    assert app.info[0].value.startswith("Dry run for 2023-02:")
    assert app.info[0].value.endswith("Nothing was written.")
    skipped = app.dataframe[0].value
    reasons = dict(zip(skipped["Tenant"], skipped["Why it was skipped"], strict=True))
    assert reasons["ent-initech"] == "plan: no plan in force in 2023-02"
    assert tenant_id not in reasons


def test_running_twice_creates_each_invoice_once(open_screen, demo_database_url):
    tenant_id = add_flow_tenant(demo_database_url, "ui-me-twice")
    app = open_screen(PAGE)

    run_confirmed(app, demo_database_url, "2023-03")
    first = metrics(app)
    created = int(first["Invoices created"])
    assert created >= 1
    assert app.get("progress")[0].value == 100
    assert scalar(demo_database_url, "SELECT count(*) FROM invoices WHERE tenant_id = :t "
                                     "AND period_label = '2023-03'", t=tenant_id) == 1
    invoices_after_first, most, _ = month_counts(demo_database_url, "2023-03")

    run_confirmed(app, demo_database_url, "2023-03")
    second = metrics(app)
    assert second["Invoices created"] == "0"
    assert int(second["Already present"]) == int(first["Already present"]) + created
    assert app.success[0].value.startswith(
        f"Month end 2023-03: all {second['Already present']} invoices were already present; "
        "0 created, nothing duplicated.")
    assert month_counts(demo_database_url, "2023-03")[:2] == (invoices_after_first, 1)
    runs = app.dataframe[-1].value
    assert list(runs["Month"][:2]) == ["2023-03", "2023-03"]
    assert list(runs["Created"][:2]) == [0, created]


def test_asking_to_run_without_confirming_writes_nothing(open_screen, demo_database_url):
    add_flow_tenant(demo_database_url, "ui-me-ask")
    before = month_counts(demo_database_url, "2023-04")
    app = open_screen(PAGE)
    app.text_input(key="month_end_period").set_value("2023-04").run()
    press(app, "Run month end…")

    assert "**Run month end for 2023-04?**" in [m.value for m in app.markdown]
    press(app, "Cancel")
    assert month_counts(demo_database_url, "2023-04") == before


def test_a_malformed_period_names_the_field_and_writes_nothing(open_screen, demo_database_url):
    before = (scalar(demo_database_url, "SELECT count(*) FROM invoices"),
              scalar(demo_database_url, "SELECT count(*) FROM month_end_runs"))
    app = open_screen(PAGE)
    app.text_input(key="month_end_period").set_value("2024-13").run()

    press(app, "Run month end…")
    assert [e.value for e in app.error] == ["period: '2024-13' is not a month like 2024-01"]
    assert not [b for b in app.button if b.label.startswith("Confirm")]
    press(app, "Dry run")
    assert [e.value for e in app.error] == ["period: '2024-13' is not a month like 2024-01"]

    assert (scalar(demo_database_url, "SELECT count(*) FROM invoices"),
            scalar(demo_database_url, "SELECT count(*) FROM month_end_runs")) == before


def test_a_click_while_the_run_goes_on_does_not_stop_it(open_screen, demo_database_url):
    tenant_id = add_flow_tenant(demo_database_url, "ui-me-click")
    before = last_run_id(demo_database_url)
    # The run waits on the tenant, part-way: the screen's next click comes while it goes on.
    with holding_tenant(demo_database_url, tenant_id):
        app = open_screen(PAGE)
        confirm_run(app, "2023-06")
        wait_until(lambda: run_status(demo_database_url, "2023-06", before) == "running",
                   "the worker to start the run")

        press(app, "Dry run")  # the click that used to stop a run inside the page
        assert not app.exception
        assert app.info[0].value.startswith("Dry run for 2023-06:")
        assert run_status(demo_database_url, "2023-06", before) == "running"

    assert wait_for_month_end(demo_database_url, "2023-06", before) == "completed"
    assert scalar(demo_database_url, "SELECT count(*) FROM invoices WHERE tenant_id = :t "
                                     "AND period_label = '2023-06'", t=tenant_id) == 1
    app.run()
    assert app.success[0].value.startswith("Month end 2023-06: ")
    assert app.get("progress")[0].value == 100
    assert scalar(demo_database_url, "SELECT count(*) FROM month_end_runs WHERE run_id > :r",
                  r=before) == 1
