"""A shared-cost split as a manager reads it first: each tenant's share in percent and money.

Managers ask "who pays how much of the database cluster?", so the screen leads
with one row per tenant, largest first (a page at a time:
`ledgerline_ui.allocation.allocation_split`): its share of the total in percent and its
amount. How the cents were rounded (weights, exact quotas, floors, remainders,
the leftover cents) stays one click away
(`ledgerline_ui.allocation.allocation_view.shares_table`), with the tie rule in one
sentence. The percent is the amount's exact share of the total, shown to two
decimals; it is never used to compute money. The CSV holds every column with
money as exact decimal text beside its currency (`ledgerline_ui.tables.spreadsheet_csv`).
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from billing_core.money import Money
from ledgerline_ui.allocation.allocation_view import ShareRow
from ledgerline_ui.tables.csv_export import decimal_text
from ledgerline_ui.tables.formatting import money
from ledgerline_ui.tables.spreadsheet_csv import csv_text

TIE_RULE = ("Leftover cents go one each to the largest remainders; when two remainders are "
            "equal, the larger weight gets the cent first, then the tenant id that sorts first.")
CSV_COLUMNS = ("tenant_id", "tenant_name", "share_percent", "amount", "currency", "weight",
               "exact_quota", "floor", "extra_minor_unit")


def share_percent(amount: Money, total: Money) -> Decimal:
    """`amount` as a percentage of `total`, exact (Money / Money is a ratio); 0 for a zero
    total."""
    if not total.to_minor_units():
        return Decimal(0)
    return amount / total * 100


def percent_text(percent: Decimal) -> str:
    """"33.34 %": two decimals for the eye (the exact figure is in the CSV)."""
    return f"{percent:.2f} %"


def largest_first(rows: list[ShareRow]) -> list[ShareRow]:
    return sorted(rows, key=lambda row: (-row.amount.to_minor_units(), row.tenant_id))


def summary_table(rows: list[ShareRow], total: Money) -> pd.DataFrame:
    """Tenant, share and amount, in the order of `rows` (sorted where they were read)."""
    return pd.DataFrame(
        [{"Tenant": row.label, "Share": percent_text(share_percent(row.amount, total)),
          "Amount": money(row.amount)} for row in rows],
        columns=["Tenant", "Share", "Amount"])


def split_csv(rows: list[ShareRow], total: Money) -> str:
    """Every tenant's share with the rounding columns, largest first; money as exact text."""
    return csv_text(CSV_COLUMNS, (
        [row.tenant_id, row.name or "", _exact(share_percent(row.amount, total)),
         decimal_text(row.amount), row.amount.currency, _exact(row.weight), _exact(row.quota),
         decimal_text(row.floor), str(row.extra_minor)] for row in largest_first(rows)),
        numeric=("share_percent", "amount", "weight", "exact_quota", "floor",
                 "extra_minor_unit"))


def _exact(value: Decimal) -> str:
    """Every digit there is, no trailing zeros or exponent ("33.334", "100")."""
    return format(value.normalize(), "f")
