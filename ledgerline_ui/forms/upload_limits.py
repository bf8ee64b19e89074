"""How big an uploaded file may be, checked by its size before anything reads it.

Streamlit itself refuses uploads above `server.maxUploadSize` (.streamlit/config.toml,
in MB, the same number as `MAX_UPLOAD_MB`; a test keeps the two equal). The screens
check the size again before parsing, so a bigger limit given on the command line never
makes a screen parse a file for minutes: bench/bench_reconciliation.py's file of
100,000 legacy invoices is 11.7 MB, and 25 MB leaves it room twice over.
"""

from __future__ import annotations

from typing import Protocol

from billing_core.errors import InvalidInput

MAX_UPLOAD_MB = 25
_BYTES_PER_MB = 1024 * 1024  # Streamlit's megabyte


class _Upload(Protocol):
    size: int


def refuse_oversized_upload(upload: _Upload, field: str) -> None:
    """InvalidInput naming `field` when `upload` is larger than `MAX_UPLOAD_MB`."""
    if upload.size > MAX_UPLOAD_MB * _BYTES_PER_MB:
        raise InvalidInput(field, f"the file is {upload.size / _BYTES_PER_MB:.1f} MB; files "
                                  f"up to {MAX_UPLOAD_MB} MB are accepted")
