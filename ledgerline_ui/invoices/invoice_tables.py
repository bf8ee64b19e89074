"""Invoice lines as a table a person reads: each line, its arithmetic, exact and rounded.

Works for lines just priced (`billing_core.invoices.InvoiceLine`) and lines read
back from the database (`db.reads.invoices.LineView`): both carry kind, description,
the rounded amount, the exact amount and the explanation.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pandas as pd

from billing_core.money_text import plain_digits
from ledgerline_ui.tables.formatting import money


def exact_text(value: Decimal) -> str:
    """The exact amount in plain digits ("0.000000000023", never "2.3E-11"), nothing rounded."""
    return plain_digits(value)


def lines_table(lines: Iterable[Any]) -> pd.DataFrame:
    """One row per line: kind, description, explanation, exact amount and billed amount."""
    return pd.DataFrame(
        [{"Kind": str(line.kind), "Line": line.description, "How it is computed": line.explanation,
          "Exact": exact_text(line.exact_amount), "Amount": money(line.amount)}
         for line in lines],
        columns=["Kind", "Line", "How it is computed", "Exact", "Amount"])
