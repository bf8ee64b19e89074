"""Document numbers: the series a finalized document is numbered in, and how a number reads.

SPEC 8: finalizing an invoice assigns the next number of the year, gap-free;
credit notes are numbered the same way in a series of their own. A number is
its series, the year and a six-digit count: INV-2024-000001, CN-2024-000001.
Drawing the count is the database's job (``db.document_numbers``), since only
a locked counter row inside the finalizing transaction keeps the numbers
gap-free.
"""

from __future__ import annotations

from enum import StrEnum


class DocumentSeries(StrEnum):
    INVOICE = "INV"
    CREDIT_NOTE = "CN"


def document_number(series: DocumentSeries, year: int, count: int) -> str:
    """``document_number(DocumentSeries.INVOICE, 2024, 1)`` is "INV-2024-000001"."""
    return f"{DocumentSeries(series)}-{year:04d}-{count:06d}"
