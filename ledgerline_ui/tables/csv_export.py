"""The invoice list as CSV, for spreadsheets and the accounting system.

Money goes out as decimal text at the currency's minor unit ("1000.00",
"-50.00"), beside a currency column, never as a float: a spreadsheet that
reads "1000.00" reads it exactly, and a column of mixed currencies stays
honest. Dates are ISO, instants UTC. Tenant names are the tenants' own, so the
file is written by `spreadsheet_csv`: a name that looks like a formula arrives
as text, and only the money columns keep their "-50.00" as a number.

The export walks the filtered list in keyset pages of 1,000 (the same query the
screen pages with), so it never loads the whole table at once, and stops at
`MAX_EXPORT_ROWS`: a larger export is refused with a message to narrow the
filter rather than quietly cut short.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from billing_core.errors import InvalidInput
from billing_core.money import Money
from db.reads.invoices import InvoiceSummary, count_invoices, list_invoices
from ledgerline_ui.tables.spreadsheet_csv import csv_text

MAX_EXPORT_ROWS = 200_000
COLUMNS = ("tenant_id", "tenant_name", "invoice_id", "number", "period", "period_start",
           "period_end", "status", "currency", "subtotal", "discount", "credit", "total",
           "created_at", "finalized_at", "paid_at", "voided_at")
MONEY_COLUMNS = ("subtotal", "discount", "credit", "total")


def decimal_text(amount: Money) -> str:
    """`Money("1000", "USD")` -> "1000.00": exact decimal text at the minor unit, no symbol."""
    return f"{amount.rounded().amount:f}"


def invoice_csv_rows(invoices: Iterable[InvoiceSummary]) -> Iterable[list[str]]:
    for invoice in invoices:
        yield [
            invoice.tenant_id, invoice.tenant_name, str(invoice.invoice_id), invoice.number or "",
            invoice.period_label, invoice.period_start.isoformat(),
            invoice.period_end.isoformat(), invoice.status, invoice.total.currency,
            decimal_text(invoice.subtotal), decimal_text(invoice.discount),
            decimal_text(invoice.credit), decimal_text(invoice.total),
            *(_instant(value) for value in (invoice.created_at, invoice.finalized_at,
                                            invoice.paid_at, invoice.voided_at)),
        ]


def invoices_csv(invoices: Iterable[InvoiceSummary]) -> str:
    """A header row and one row per invoice."""
    return csv_text(COLUMNS, invoice_csv_rows(invoices), numeric=MONEY_COLUMNS)


def export_invoices_csv(session: Session, *, tenant_id: str | None, period_label: str | None,
                        status: str | None, max_rows: int = MAX_EXPORT_ROWS) -> str:
    """Every invoice matching the filters as CSV (what the list shows, all pages)."""
    return invoices_csv(_all_matching(session, tenant_id, period_label, status, max_rows))


def _all_matching(session: Session, tenant_id: str | None, period_label: str | None,
                  status: str | None, max_rows: int) -> Iterable[InvoiceSummary]:
    matching = count_invoices(session, tenant_id=tenant_id, period_label=period_label,
                              status=status, exact_below=max_rows + 1)
    if matching.count > max_rows:
        raise InvalidInput("filter", f"matches {matching.count:,} invoices; an export holds "
                                     f"at most {max_rows:,}. Narrow it by period, status or "
                                     "tenant.")
    cursor = None
    while True:
        page = list_invoices(session, tenant_id=tenant_id, period_label=period_label,
                             status=status, after=cursor, limit=1000, count=False)
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _instant(value: object) -> str:
    return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]
