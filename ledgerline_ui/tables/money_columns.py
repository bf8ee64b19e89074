"""Money in tables as numbers, not text: right-aligned, sorted as numbers, shown in the
currency's format.

A cell holding "$1,000.00" as text sorts before "$102.00". Here a cell holds the amount's
exact `Decimal` (Arrow carries it as a decimal, never a float) and the column's
`NumberColumn` format draws the currency: "$1,234.56" for dollars, "EUR 1234.56" for the
others. A column mixing currencies would mislead, so a table with more than one currency on
it shows plain numbers and says which currency in a column of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import streamlit as st

from billing_core.money import CURRENCY_EXPONENTS, CURRENCY_SYMBOLS, Money


def money_cell(amount: Money | None) -> Decimal | None:
    """The cell of one amount: its exact decimal value (the column draws the currency)."""
    return None if amount is None else amount.amount


def money_columns(labels: Iterable[str], currencies: Iterable[str]) -> dict[str, object]:
    """`column_config` for the money columns `labels` of a table whose rows are in
    `currencies`."""
    codes = sorted(set(currencies))
    number_format = _format(codes[0]) if len(codes) == 1 else "localized"
    return {label: st.column_config.NumberColumn(label, format=number_format)
            for label in labels}


def _format(currency: str) -> str:
    places = CURRENCY_EXPONENTS[currency]
    if CURRENCY_SYMBOLS.get(currency) == "$" and places == 2:
        return "dollar"  # "$1,234.56"
    return f"{CURRENCY_SYMBOLS.get(currency, currency + ' ')}%.{places}f"
