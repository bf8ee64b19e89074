"""Tables offer no export of their own (security review, item 4): Streamlit's built-in
"Download as CSV" and copy on `st.dataframe` write cells verbatim, so a tenant named
`=HYPERLINK(...)` would leave as a formula. The screens' own export buttons neutralise such
cells (ledgerline_ui/tables/spreadsheet_csv.py); `client.disableDataExport` removes the raw ones."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.ui.screens import open_in_browser


def test_the_invoice_table_offers_no_raw_csv_download_only_the_neutralised_export(page):
    open_in_browser(page, "/Invoices")
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    table.hover()
    toolbar = page.get_by_test_id("stElementToolbar").first
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()
    expect(toolbar.get_by_role("button", name="Download as CSV")).to_have_count(0)
    expect(page.get_by_role("button", name="Export these invoices as CSV")).to_be_visible()
