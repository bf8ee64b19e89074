"""Rows for tests: tenants on plans, with usage and discounts, in a given session.

Plans are shared by id across tests (created once, `ON CONFLICT DO NOTHING`);
tenants get unique ids from the `new_tenant_id` fixture, so tests that commit
never see each other's rows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import insert, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from db.models import Plan, Subscription, Tenant, TenantDiscount, UsageRecord

NOVEMBER_2024 = (date(2024, 11, 1), date(2024, 12, 1))
TB = 10**12


def add_plan(session: Session, plan_id: str, price_minor: int, *, currency: str = "USD",
             usage: tuple[str, str, str, int, int, Decimal] | None = None) -> str:
    """`usage` = (metric, unit name, base unit name, base units per unit, included, price per
    unit)."""
    values: dict[str, object] = {"plan_id": plan_id, "name": plan_id, "currency": currency,
                                 "recurring_price_minor": price_minor}
    if usage is not None:
        metric, unit, base_unit, per_unit, included, unit_price = usage
        values.update(usage_metric=metric, usage_unit_name=unit, usage_base_unit_name=base_unit,
                      usage_base_units_per_unit=per_unit, usage_included_base_units=included,
                      usage_price_per_unit=unit_price)
    session.execute(pg_insert(Plan).values(**values).on_conflict_do_nothing())
    return plan_id


def add_tenant(session: Session, tenant_id: str, *, plans: list[tuple[date, str]] = (),
               currency: str = "USD", anchor_day: int = 1, active: bool = True) -> str:
    session.execute(insert(Tenant).values(tenant_id=tenant_id, name=tenant_id.title(),
                                          currency=currency, billing_anchor_day=anchor_day,
                                          is_active=active))
    for starts_on, plan_id in plans:
        session.execute(insert(Subscription).values(tenant_id=tenant_id, starts_on=starts_on,
                                                    plan_id=plan_id))
    return tenant_id


def add_percent_discount(session: Session, tenant_id: str, position: int, percent: str,
                         label: str) -> None:
    session.execute(insert(TenantDiscount).values(tenant_id=tenant_id, position=position,
                                                  label=label, percent=Decimal(percent)))


def add_fixed_discount(session: Session, tenant_id: str, position: int, amount_minor: int,
                       label: str, currency: str = "USD") -> None:
    session.execute(insert(TenantDiscount).values(tenant_id=tenant_id, position=position,
                                                  label=label, amount_minor=amount_minor,
                                                  currency=currency))


def add_usage(session: Session, tenant_id: str, metric: str, used_on: date,
              quantity_base_units: int) -> None:
    session.execute(insert(UsageRecord).values(tenant_id=tenant_id, metric=metric,
                                               used_on=used_on,
                                               quantity_base_units=quantity_base_units))


def invoice_row(session: Session, tenant_id: str, invoice_id: int) -> dict[str, object]:
    """Every column of the invoice, as stored (for byte-for-byte comparisons)."""
    return dict(session.execute(text(
        "SELECT * FROM invoices WHERE tenant_id = :t AND invoice_id = :i"
    ), {"t": tenant_id, "i": invoice_id}).mappings().one())


def invoice_lines(session: Session, tenant_id: str, invoice_id: int) -> list[tuple]:
    """(kind, description, amount_minor) of each line, in order."""
    return [tuple(row) for row in session.execute(text("""
        SELECT kind, description, amount_minor FROM invoice_lines
        WHERE tenant_id = :t AND invoice_id = :i ORDER BY line_no
    """), {"t": tenant_id, "i": invoice_id})]
