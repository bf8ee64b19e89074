"""A shared-cost split as a manager reads it: one row per tenant, and the check that it adds up.

The split itself is `billing_core.allocation.split_by_weights` (largest
remainder, SPEC 7). Whether it was just calculated (`Allocation.rows()`) or
read back from a stored run (`db.reads.allocations.AllocationShareView`), each tenant's
row shows its weight, the exact quota, the floor in minor units, the fraction
of a minor unit the floor left behind, and whether it received one of the
leftover minor units: so anyone can see why a tenant pays one cent more than
its neighbour. `SumCheck` holds the parts added back up (never as float).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from billing_core.allocation import AllocationRow
from billing_core.money import Money
from ledgerline_ui.tables.formatting import money, tenant_label

_DIGITS_SHOWN = 8


@dataclass(frozen=True, slots=True)
class ShareRow(AllocationRow):
    """A split's row with the tenant's name, for the screens."""

    name: str | None = None

    @property
    def label(self) -> str:
        return tenant_label(self.tenant_id, self.name)


@dataclass(frozen=True, slots=True)
class SumCheck:
    parts: Money
    total: Money
    extra_minor: int
    """How many leftover minor units went to the largest remainders."""

    @property
    def adds_up(self) -> bool:
        return self.parts == self.total

    def sentence(self) -> str:
        if self.adds_up:
            return (f"The parts add up to {self.parts}, exactly the total {self.total} "
                    f"(floors plus {self.extra_minor} leftover minor unit"
                    f"{'' if self.extra_minor == 1 else 's'}).")
        return f"The parts add up to {self.parts}, NOT the total {self.total}."


def share_rows(shares: Iterable[Any], names: Mapping[str, str]) -> list[ShareRow]:
    """Rows from `Allocation.rows()` or stored `AllocationShareView`s, tenants named."""
    rows = []
    for share in shares:
        currency = share.amount.currency
        remainder = getattr(share, "remainder", None)
        if remainder is None:  # a stored share keeps the quota; the remainder follows from it
            remainder = (Money(share.quota, currency) - share.floor) / Money.from_minor_units(
                1, currency)
        rows.append(ShareRow(share.tenant_id, share.weight, share.quota, share.floor,
                             remainder, share.extra_minor, share.amount,
                             names.get(share.tenant_id)))
    return rows


def shares_table(rows: list[ShareRow]) -> pd.DataFrame:
    """Tenant, weight, exact quota, floor, remainder, extra minor unit, amount: all as text."""
    return pd.DataFrame(
        [{"Tenant": row.label, "Weight": _weight(row.weight), "Exact quota": _plain(row.quota),
          "Floor": money(row.floor), "Remainder (of a minor unit)": _plain(row.remainder),
          "Extra minor unit": "+1" if row.extra_minor else "",
          "Amount": money(row.amount)} for row in rows],
        columns=["Tenant", "Weight", "Exact quota", "Floor", "Remainder (of a minor unit)",
                 "Extra minor unit", "Amount"])


def _weight(value: Decimal) -> str:
    """Usage weights are counts: 91000000 reads as "91,000,000"; 33.33 stays "33.33"."""
    return f"{int(value):,}" if value == value.to_integral_value() else _plain(value)


def _plain(value: Decimal) -> str:
    """Exact digits, cut at 8 decimals with "…" when a quota repeats (1/3 of a cent)."""
    text = format(value, "f")
    if "." not in text:
        return text
    head, tail = text.split(".")
    tail = tail.rstrip("0")
    if len(tail) > _DIGITS_SHOWN:
        return f"{head}.{tail[:_DIGITS_SHOWN]}…"
    return f"{head}.{tail}" if tail else head
