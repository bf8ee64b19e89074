"""fpdf2 is imported when a PDF is asked for, not when a screen imports the PDF modules: at
import time it cost every render of the Invoice screen about 0.4 s (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
import ledgerline_ui.invoices.credit_note_pdf
import ledgerline_ui.invoices.invoice_hub
import ledgerline_ui.invoices.invoice_pdf
assert "fpdf" not in sys.modules, "fpdf imported with the screens' modules"
from tests.unit.test_invoice_pdf_long_text import finalized_with_credit
from ledgerline_ui.invoices.invoice_pdf import invoice_pdf
assert invoice_pdf(finalized_with_credit("Outage")).startswith(b"%PDF")
assert "fpdf" in sys.modules
"""


def test_the_pdf_library_is_imported_only_when_a_pdf_is_built():
    # A process of its own: this test process may have imported fpdf for other tests.
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=120, check=False, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
