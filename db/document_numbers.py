"""Gap-free yearly document numbers: INV-2024-000001 for invoices, CN-2024-000001 for credit notes.

SPEC 8: finalizing assigns a gap-free number per year. The counter row of a
series and year is drawn with one upsert and stays locked until the
transaction ends, so a rolled-back finalization gives its number back.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.document_numbers import DocumentSeries, document_number


def next_document_number(session: Session, series: DocumentSeries) -> str:
    """The next gap-free number of `series` (INV, CN) for the current UTC year."""
    year, number = session.execute(text("""
        INSERT INTO document_number_counters (series, year, last_number)
        VALUES (:series, extract(year FROM now() AT TIME ZONE 'UTC'), 1)
        ON CONFLICT (series, year)
        DO UPDATE SET last_number = document_number_counters.last_number + 1
        RETURNING year, last_number
    """), {"series": series}).one()
    return document_number(series, year, number)
