"""CSV that a spreadsheet opens as data, never as formulas: the one writer of every export.

Excel, LibreOffice and Google Sheets read a cell that begins with `=`, `+`, `-`
or `@` as a formula, and some also one that begins with a tab or a carriage
return. A formula can fetch a URL (`=HYPERLINK(...)`, `=WEBSERVICE(...)`) or,
in older Excel, start a program. Tenant names and legacy ids come from people
and files, so an export that writes them verbatim lets whoever named a tenant
run a formula on the computer of whoever opens the export ("CSV injection").

OWASP's rule, applied here to every text cell: a cell that begins with one of
those six characters gets a leading single quote, which spreadsheets take to
mean "this is text"; and every cell is quoted, so a comma, quote or line break
inside a value can never start a cell of its own (RFC 4180 quoting, doubled
quotes inside). A program that is not a spreadsheet sees the quote: the price
OWASP accepts for a file that is safe to open. Only these six characters count,
as OWASP lists them; " =1+1" with a leading space is text to a spreadsheet.

Money is different: the app itself writes it, as exact decimal text ("-50.00"
is a credit, and must stay a number in the sheet). A column declared numeric
keeps a cell that is plain decimal text as it is; anything else in it is still
made text, so declaring a column numeric can never let a formula through.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def inert_text(cell: str) -> str:
    """`=HYPERLINK("http://evil","x")` -> `'=HYPERLINK("http://evil","x")`; "Initech" as it is."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[str]], *,
             numeric: Collection[str] = ()) -> str:
    """A header row and one line per row, every cell quoted and every text cell inert; in the
    `numeric` columns, plain decimal text ("-50.00", "1000.00", "12") is written as it is."""
    unknown = set(numeric) - set(columns)
    if unknown:
        raise ValueError(f"numeric columns {sorted(unknown)} are not among {list(columns)}")
    exact = [column in numeric for column in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow([inert_text(column) for column in columns])
    for row in rows:
        writer.writerow([cell if number and _PLAIN_DECIMAL.fullmatch(cell) else inert_text(cell)
                         for cell, number in zip(row, exact, strict=True)])
    return buffer.getvalue()
