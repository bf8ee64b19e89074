"""Audit entries as people read them: what changed, from what to what, money formatted.

`before` and `after` are stored as plain JSON (money as minor units beside its
currency, see `db.audit`). On screen each entry becomes a one-line summary of
the fields that changed ("status: draft → finalized; total: $1,000.00 →
$800.00"), with the raw JSON one click away for anyone who needs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd

from billing_core.money import CURRENCY_EXPONENTS, Money
from db.reads.audit import AuditView
from ledgerline_ui.tables.formatting import iso_date, money

LISTED_ITEMS = 20
"""Structures up to this many items are shown as JSON in the table; larger ones are counted
(an allocation run's shares over 25,000 tenants is 570 kB of JSON: the page would write it out
in full for every such row). The entry's own JSON, below the table, still holds everything."""


def describe_value(key: str, value: Any, currency: str | None) -> str:
    """One stored value for people: minor units as money, None as "—", structures as JSON (a
    count of their items when they are long)."""
    if value is None:
        return "—"
    if (key.endswith("_minor") and type(value) is int and currency in CURRENCY_EXPONENTS):
        return money(Money.from_minor_units(value, currency))
    if isinstance(value, dict | list):
        if len(value) > LISTED_ITEMS:
            return f"{len(value):,} entries"
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def field_name(key: str) -> str:
    return key.removesuffix("_minor").replace("_", " ")


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """"field: old → new" for every field that differs; a creation lists the new values."""
    before, after = before or {}, after or {}
    currency = after.get("currency") or before.get("currency")
    lines = []
    for key in list(dict.fromkeys([*before, *after])):
        if key == "currency":
            continue
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        if key not in before:
            lines.append(f"{field_name(key)}: {describe_value(key, new, currency)}")
        elif key not in after:
            lines.append(f"{field_name(key)}: {describe_value(key, old, currency)} → (removed)")
        else:
            lines.append(f"{field_name(key)}: {describe_value(key, old, currency)} → "
                         f"{describe_value(key, new, currency)}")
    return lines


def audit_table(entries: Iterable[AuditView]) -> pd.DataFrame:
    """When, who, what, which row, and the changes in one readable cell."""
    return pd.DataFrame(
        [{"When": iso_date(entry.occurred_at), "Actor": entry.actor, "Action": entry.action,
          "Tenant": entry.tenant_id or "", "Entity": f"{entry.entity} {entry.entity_id}",
          "Changes": "; ".join(changes(entry.before, entry.after))} for entry in entries],
        columns=["When", "Actor", "Action", "Tenant", "Entity", "Changes"])


def day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days [first 00:00, the day after last 00:00), for `db.reads.audit.audit_log`."""
    since = datetime.combine(first, time.min, tzinfo=UTC) if first else None
    until = (datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
             if last else None)
    return since, until
