"""Usage screen in AppTest: a file imported with its counts in the history, a bad file naming
each bad line and storing nothing, late usage billed once or waived with a reason, daily usage
against the included quantity, and a manager kept out."""

from __future__ import annotations

import io
from unittest.mock import patch

from tests.ui.finance_data import rows, scalar
from tests.ui.usage_data import TB, add_late_usage, add_metered_tenant, usage_csv

SCREEN = "pages/10_Usage.py"


class _Uploaded(io.BytesIO):
    """What `st.file_uploader` returns: bytes with a name and a size."""

    def __init__(self, content: bytes, name: str) -> None:
        super().__init__(content)
        self.name = name
        self.size = len(content)


def _upload(app, content: bytes, name: str):
    """AppTest cannot fill a file_uploader: the screen runs with `st.file_uploader` answering
    an uploaded file, and the Import button is pressed as a user would."""
    with patch("streamlit.file_uploader", return_value=_Uploaded(content, name)):
        app.run()
        next(b for b in app.button if b.label == "Import file").click()
        app.run()
    return app


def _table(app, column: str):
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


def test_an_imported_file_shows_its_counts_and_is_first_in_the_history(
        open_screen, demo_database_url):
    tenant = add_metered_tenant(demo_database_url, "ui-usage")
    data = usage_csv(*(f"{tenant},e{n},storage,{n + 1},2024-03-0{n + 1}T00:00:00Z"
                       for n in range(3)))
    app = _upload(open_screen(SCREEN), data, "march.csv")
    app = _upload(app, data, "march.csv")  # sent twice: stored once

    assert [s.value for s in app.success][-1].endswith(
        "3 events received, 0 new (0 late), 3 duplicates, 0 conflicts; "
        "0 draft invoices re-priced")
    history = _table(app, "Duplicates")
    assert list(history.iloc[0][["File", "Received", "New", "Duplicates", "Conflicts"]]) == [
        "march.csv", "3", "0", "3", "0"]
    assert list(history.iloc[1][["File", "New", "Duplicates"]]) == ["march.csv", "3", "0"]
    assert history.iloc[0]["Same file as"] == history.iloc[1]["Import"]
    assert history.iloc[1]["Same file as"] == ""
    assert scalar(demo_database_url, "SELECT count(*) FROM usage_events WHERE tenant_id = :t",
                  t=tenant) == 3


def test_a_bad_file_names_each_bad_line_and_stores_nothing(open_screen, demo_database_url):
    tenant = add_metered_tenant(demo_database_url, "ui-usage")
    imports = scalar(demo_database_url, "SELECT count(*) FROM usage_imports")
    data = usage_csv(f"{tenant},ok,storage,1,2024-03-01T00:00:00Z",
                     f"{tenant},bad-1,storage,-5,2024-03-01T00:00:00Z",
                     f"{tenant},bad-2,storage,5,2024-03-01 10:00")

    app = _upload(open_screen(SCREEN), data, "bad.csv")

    [message] = [e.value for e in app.error]
    assert "The file was not imported (2 problems, nothing was stored)" in message
    problems = _table(app, "Problem")
    assert list(problems["Line"]) == ["3", "4"]
    assert list(problems["Field"]) == ["quantity", "occurred_at"]
    assert scalar(demo_database_url, "SELECT count(*) FROM usage_imports") == imports
    assert scalar(demo_database_url, "SELECT count(*) FROM usage_events WHERE tenant_id = :t",
                  t=tenant) == 0


def test_late_usage_is_billed_on_the_next_invoice_once(open_screen, demo_database_url):
    tenant, group_id = add_late_usage(demo_database_url, "ui-late")
    app = open_screen(SCREEN)
    late = _table(app, "Why late")
    row = late[late["Group"] == f"#{group_id}"].iloc[0]
    assert (row["Tenant"], row["Period"], row["Status"]) == (tenant, "2024-01", "Open")
    assert row["Why late"].startswith("arrived after its invoice: 2024-01 is finalized")

    choice = next(s for s in app.selectbox if s.label == "Late usage to settle")
    choice.select(next(o for o in choice.options if o.startswith(f"#{group_id} ")))
    app.run()
    next(b for b in app.button if b.label == "Bill on next invoice").click()
    app.run()

    # Named as people know the draft (its month), never by its database id.
    assert any(f"Late usage #{group_id} billed on invoice draft 2024-02." in s.value
               for s in app.success)
    row = _table(app, "Why late").set_index("Group").loc[f"#{group_id}"]
    assert row["Status"] == "Billed"
    assert row["Settlement"] == "billed on invoice draft 2024-02: $11.50"
    assert rows(demo_database_url, """
        SELECT i.period_label, l.description, l.amount_minor FROM invoice_lines l
        JOIN invoices i USING (tenant_id, invoice_id)
        WHERE l.tenant_id = :t AND l.description LIKE 'Late usage%'""", t=tenant) == [
        ("2024-02", "Late usage from 2024-01 (storage)", 1150)]


def test_waiving_late_usage_needs_a_reason(open_screen, demo_database_url):
    _, group_id = add_late_usage(demo_database_url, "ui-waive")
    app = open_screen(SCREEN)
    choice = next(s for s in app.selectbox if s.label == "Late usage to settle")
    choice.select(next(o for o in choice.options if o.startswith(f"#{group_id} ")))
    app.run()
    next(b for b in app.button if b.label == "Waive").click()
    app.run()
    assert any("reason: is empty" in e.value for e in app.error)

    app.text_input(key="late_reason").input("meter sent it twice")
    next(b for b in app.button if b.label == "Waive").click()
    app.run()

    row = _table(app, "Why late").set_index("Group").loc[f"#{group_id}"]
    assert (row["Status"], row["Settlement"]) == ("Waived", "waived: meter sent it twice")


def test_daily_usage_is_charted_against_the_included_quantity(open_screen, demo_database_url):
    tenant = add_metered_tenant(demo_database_url, "ui-daily")
    app = _upload(open_screen(SCREEN, query={"tenant": tenant}), usage_csv(
        f"{tenant},d1,storage,{TB // 2},2024-03-01T00:00:00Z",
        f"{tenant},d2,storage,{TB},2024-03-02T00:00:00Z"), "daily.csv")
    app.text_input(key="usage_month").input("2024-03")
    app.run()

    [chart] = app.get("plotly_chart")
    figure = chart.proto.spec
    assert "storage in 2024-03: used vs included (TB)" in figure
    assert '"1.5"' in figure and "Included" in figure


def test_a_manager_may_not_open_the_usage_screen(open_screen):
    app = open_screen(SCREEN, as_role="manager")
    assert any("may not send usage events" in w.value for w in app.warning)
    assert [b.label for b in app.button] == ["Sign out"]
