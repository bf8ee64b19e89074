"""Home: the latest billing month at a glance, the last month end run, a way to every screen."""

from __future__ import annotations

from billing_core.money import Money
from ledgerline_ui.shell.page_links import SCREENS
from ledgerline_ui.tables.formatting import money
from tests.ui.finance_data import rows
from tests.ui.screens import REPO_ROOT

PAGE = "Home.py"


def expected_by_status(url, month: str) -> dict[str, tuple[str, str]]:
    """status -> (count, total) as the page should show them, computed here from the rows."""
    found = rows(url, "SELECT status, count(*), sum(total_minor) FROM invoices "
                      "WHERE period_label = :m GROUP BY status", m=month)
    return {status: (f"{count:,}", money(Money.from_minor_units(int(total), "USD")))
            for status, count, total in found}


def test_opens_on_the_latest_month_with_its_figures_by_status(open_screen, demo_database_url):
    app = open_screen(PAGE)

    assert app.selectbox[0].value == "2024-11"
    assert app.subheader[0].value == "2024-11 at a glance"
    table = app.dataframe[0].value
    shown = {status.split(" ")[0].lower(): (count, total)
             for status, count, total in zip(table["Status"], table["Invoices"], table["Total"],
                                             strict=True)}
    assert shown == expected_by_status(demo_database_url, "2024-11")
    assert shown["draft"][0] != "0"


def test_another_month_shows_its_own_figures(open_screen, demo_database_url):
    app = open_screen(PAGE)
    app.selectbox[0].select("2024-10").run()

    metrics = {metric.label: metric.value for metric in app.metric}
    expected = expected_by_status(demo_database_url, "2024-10")
    assert metrics["Invoices"] == f"{sum(int(c.replace(',', '')) for c, _ in expected.values()):,}"
    assert metrics["Awaiting payment"] == expected["finalized"][1]
    assert app.subheader[0].value == "2024-10 at a glance"


def test_shows_the_last_month_end_run(open_screen, demo_database_url):
    app = open_screen(PAGE)
    [(month, status, created, present, done, scope)] = rows(
        demo_database_url, "SELECT period_label, status, invoices_created, already_present, "
                           "tenants_done, tenants_in_scope FROM month_end_runs "
                           "ORDER BY run_id DESC LIMIT 1")

    notice = (app.success or app.warning)[0].value
    assert notice.startswith(f"**{month}**, {status}: {created:,} invoices created, "
                             f"{present:,} already present")
    assert f"{done:,} of {scope:,} tenants" in notice


def test_links_to_every_screen(open_screen):
    app = open_screen(PAGE)

    linked = {link.value for link in app.get("page_link")}
    coming = {caption.value for caption in app.caption if caption.value.endswith("(coming soon)")}
    for screen in SCREENS:
        if (REPO_ROOT / screen.path).exists():
            assert screen.label in linked, screen.path
        else:
            assert f"{screen.label} (coming soon)" in coming, screen.path
    assert "Draft invoices" in linked, "each status links to the filtered invoice list"


def test_billed_counts_finalized_and_paid_invoices_never_drafts(open_screen, demo_database_url):
    app = open_screen(PAGE)
    metrics = {metric.label: metric.value for metric in app.metric}

    [(billed, drafts)] = rows(demo_database_url, """
        SELECT sum(total_minor) FILTER (WHERE status IN ('finalized', 'paid')),
               sum(total_minor) FILTER (WHERE status = 'draft')
        FROM invoices WHERE period_label = '2024-11'""")
    assert drafts  # the demo month has drafts, which must not count as billed
    assert metrics["Billed (finalized and paid)"] == (
        money(Money.from_minor_units(int(billed), "USD")) if billed else "none")
    assert metrics["Drafts (not billed yet)"] == money(Money.from_minor_units(int(drafts), "USD"))


def test_every_page_file_is_one_of_the_screens_home_lists():
    page_files = {f"pages/{path.name}" for path in (REPO_ROOT / "pages").glob("*.py")}

    assert {screen.path for screen in SCREENS} == page_files


def test_the_months_five_figures_sit_in_rows_of_three(open_screen):
    # Five in a row cut their amounts below 1,400 px (tests/ui/browser/test_whole_figures.py).
    app = open_screen(PAGE)
    rows_of_figures = [block for block in app.main.children.values()
                       if block.type == "flex_container"
                       and any(column.get("metric") for column in block.children.values())]
    assert [[metric.label for column in row.children.values() for metric in column.get("metric")]
            for row in rows_of_figures] == [
        ["Invoices", "Billed (finalized and paid)", "Awaiting payment"],
        ["Drafts (not billed yet)", "Credits waiting on balances"]]
    assert [len(row.children) for row in rows_of_figures] == [3, 3]
