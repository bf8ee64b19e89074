"""How values read on screen: money with its currency, ISO dates, tenants by name and id."""

from __future__ import annotations

from datetime import date, datetime

from billing_core.money import Money, format_money


def money(amount: Money | None) -> str:
    return "" if amount is None else format_money(amount)


def iso_date(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        return day.strftime("%Y-%m-%d %H:%M UTC")
    return day.isoformat()


def tenant_label(tenant_id: str, name: str | None) -> str:
    return f"{name} ({tenant_id})" if name else tenant_id
