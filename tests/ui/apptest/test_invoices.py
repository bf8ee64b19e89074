"""The invoice list: filters, pages walked in the database, links to each invoice, CSV export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from db.database import make_engine, make_sessionmaker
from ledgerline_ui.tables.csv_export import COLUMNS, export_invoices_csv
from tests.ui.finance_data import scalar

PAGE = "pages/1_Invoices.py"


def caption_with(app, start: str) -> str:
    return next(c.value for c in app.caption if c.value.startswith(start))


def test_lists_every_invoice_newest_period_first_with_the_exact_count(open_screen,
                                                                       demo_database_url):
    app = open_screen(PAGE)
    total = scalar(demo_database_url, "SELECT count(*) FROM invoices")

    assert caption_with(app, "Invoices 1-50") == (
        f"Invoices 1-50 of {total:,} (page 1 of {-(-total // 50):,}, newest period first)")
    table = app.dataframe[0].value
    assert len(table) == 50
    assert list(table.columns) == ["Invoice", "Tenant", "Period", "Status", "Subtotal",
                                   "Discounts", "Credit", "Total", "Created", "Currency"]
    assert set(table["Period"]) == {"2024-11"}
    assert table["Tenant"][0] == "Acme Corp (ent-acme-corp)"
    assert table["Total"][0] == Decimal("800.00")  # a number; the column draws "$800.00"


def test_filtering_by_tenant_name_finds_initechs_850_invoice(open_screen):
    app = open_screen(PAGE)
    app.text_input[0].set_value("Initech").run()

    table = app.dataframe[0].value
    assert list(table["Tenant"]) == ["Initech (ent-initech)"]
    assert list(table["Total"]) == [Decimal("850.00")]
    assert list(table["Discounts"]) == [Decimal("150.00")]
    assert caption_with(app, "Invoices") == "Invoices 1-1 of 1 (page 1 of 1, newest period first)"


def test_filtering_by_period_and_status_counts_in_the_database(open_screen, demo_database_url):
    app = open_screen(PAGE, query={"period": "2024-10", "status": "paid"})
    paid = scalar(demo_database_url, "SELECT count(*) FROM invoices WHERE status = 'paid' "
                                     "AND period_start = '2024-10-01'")

    assert app.selectbox[0].value == "2024-10" and app.selectbox[1].value == "paid"
    assert caption_with(app, "Invoices 1-").endswith(f"of {paid:,} (page 1 of "
                                                      f"{-(-paid // 50)}, newest period first)")
    table = app.dataframe[0].value
    assert set(table["Status"]) == {"Paid"} and set(table["Period"]) == {"2024-10"}


def _invoices_shown(app) -> list[tuple[str, str]]:
    """(invoice, tenant) per row: a draft's name ("draft 2024-11") is unique per tenant."""
    table = app.dataframe[0].value
    return list(zip(table["Invoice"], table["Tenant"], strict=True))


def test_next_and_previous_walk_the_pages(open_screen):
    app = open_screen(PAGE)
    first_page = _invoices_shown(app)

    next(b for b in app.button if b.label == "Next page").click().run()
    second_page = _invoices_shown(app)
    assert caption_with(app, "Invoices 51-100 of ")
    assert not set(first_page) & set(second_page)

    next(b for b in app.button if b.label == "Previous page").click().run()
    assert _invoices_shown(app) == first_page


def test_an_unknown_tenant_is_named_and_nothing_is_listed(open_screen):
    app = open_screen(PAGE)
    app.text_input[0].set_value("no-such-tenant").run()

    assert app.warning[0].value == "tenant: no tenant id or name contains 'no-such-tenant'."
    assert not app.dataframe


def test_a_selected_row_links_to_its_invoice(open_screen, demo_database_url):
    app = open_screen(PAGE)
    app.text_input[0].set_value("ent-initech").run()
    app.session_state["invoice_table"] = {"selection": {"rows": [0], "columns": []}}
    app.run()

    invoice_id = scalar(demo_database_url, "SELECT invoice_id FROM invoices "
                                           "WHERE tenant_id = 'ent-initech'")
    shown = [m.value for m in app.markdown] + [link.value for link in app.get("page_link")]
    assert any(f"/Invoice?tenant=ent-initech&invoice={invoice_id}" in text
                or text == "Open invoice draft 2024-11 of Initech (ent-initech)"
                for text in shown), shown


def test_csv_export_holds_every_matching_invoice_as_decimal_text(demo_database_url):
    engine = make_engine(demo_database_url)
    with make_sessionmaker(engine)() as session:
        october = export_invoices_csv(session, tenant_id=None, period_label="2024-10",
                                      status=None)
        initech = export_invoices_csv(session, tenant_id="ent-initech", period_label=None,
                                      status=None)
    engine.dispose()

    rows = list(csv.DictReader(io.StringIO(october)))
    assert tuple(rows[0]) == COLUMNS
    count, total_minor = scalar(demo_database_url, "SELECT count(*) FROM invoices "
                                "WHERE period_start = '2024-10-01'"), scalar(
        demo_database_url, "SELECT sum(total_minor) FROM invoices "
                           "WHERE period_start = '2024-10-01'")
    assert len(rows) == count > 50, "every page, not just the first"
    assert sum(Decimal(row["total"]) for row in rows) == Decimal(total_minor) / 100
    [row] = csv.DictReader(io.StringIO(initech))
    assert (row["currency"], row["subtotal"], row["discount"], row["credit"], row["total"]) == (
        "USD", "1000.00", "150.00", "0.00", "850.00")
    assert (row["period"], row["status"], row["number"]) == ("2024-11", "draft", "")


def test_the_page_offers_the_csv_of_the_filtered_list(open_screen):
    app = open_screen(PAGE, query={"period": "2024-11", "status": "draft"})

    download = app.get("download_button")[0]
    assert download.label == "Export these invoices as CSV"
    assert not download.disabled
    assert "money as decimal text beside its currency" in caption_with(app, "Every invoice")


def test_sorting_by_total_happens_in_the_database_across_pages(open_screen):
    app = open_screen(PAGE, query={"sort": "total, highest first"})
    first = list(app.dataframe[0].value["Total"])
    assert first == sorted(first, reverse=True)
    [following] = [b for b in app.button if b.label == "Next page"]
    following.click().run()
    second = list(app.dataframe[0].value["Total"])
    assert second == sorted(second, reverse=True) and min(first) >= max(second)
