"""An audit entry's before/after as one line a person reads.

The log stores plain JSON: money as minor units beside a currency, instants as
ISO text. On screen a change reads "status: draft -> finalized; number: - ->
INV-2024-000001", and amounts read as money ("total: $1,000.00 -> $800.00"),
not as cents.
"""

from __future__ import annotations

from typing import Any

from billing_core.money import Money
from ledgerline_ui.tables.formatting import money

_MINOR_SUFFIX = "_minor"


def change_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """The fields that changed (or were set), "field: old -> new", in a stable order."""
    before, after = before or {}, after or {}
    currency = after.get("currency") or before.get("currency")
    parts = []
    for key in sorted(set(before) | set(after)):
        if key == "currency":
            continue
        old, new = before.get(key), after.get(key)
        if old == new and before:
            continue
        name = key.removesuffix(_MINOR_SUFFIX)
        old_text, new_text = _value(key, old, currency), _value(key, new, currency)
        parts.append(f"{name}: {old_text} -> {new_text}" if before else f"{name}: {new_text}")
    return "; ".join(parts)


def _value(key: str, value: Any, currency: str | None) -> str:
    if value is None:
        return "-"
    if key.endswith(_MINOR_SUFFIX) and currency and isinstance(value, int):
        return money(Money.from_minor_units(value, currency))
    if isinstance(value, str) and len(value) > 19 and value[10:11] == "T":
        return value[:16].replace("T", " ") + " UTC"  # ISO instant, to the minute
    return str(value)
