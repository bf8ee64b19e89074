"""Rows of their own for the finance-flow screen tests (Invoices, Invoice, Month end, Home).

The screen tests share one demo database, so a test that changes data makes
its own tenant (a unique id per call) instead of touching demo rows other tests
read. Tenants here are on plan `ui-flow-100` ($100.00 a month) from 2023-01-01,
earlier than any demo tenant's plan: a month end run for a 2023 month invoices
only these tenants and skips every demo tenant ("no plan in force").
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from billing_core.periods import calendar_month
from db.database import make_engine, make_sessionmaker
from db.invoicing import generate_invoice
from tests.actors import finance

PLAN_ID = "ui-flow-100"
PLAN_STARTS = date(2023, 1, 1)
NEWEST_MONTH = "SELECT to_char(max(period_start), 'YYYY-MM') FROM invoices"
"""The month Home leads with: other tests may add invoices after the demo's 2024-11."""


def add_flow_tenant(url: URL, prefix: str) -> str:
    """A new active tenant `<prefix>-<random>` on the $100.00 plan from 2023-01-01."""
    tenant_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("""
                INSERT INTO plans (plan_id, name, currency, recurring_price_minor)
                VALUES (:plan_id, 'UI flow plan', 'USD', 10000) ON CONFLICT (plan_id) DO NOTHING
            """), {"plan_id": PLAN_ID})
            connection.execute(text("""
                INSERT INTO tenants (tenant_id, name, currency, billing_anchor_day)
                VALUES (:tenant_id, :name, 'USD', 1)
            """), {"tenant_id": tenant_id, "name": f"Flow {tenant_id[-8:]}"})
            connection.execute(text("""
                INSERT INTO subscriptions (tenant_id, starts_on, plan_id)
                VALUES (:tenant_id, :starts_on, :plan_id)
            """), {"tenant_id": tenant_id, "starts_on": PLAN_STARTS, "plan_id": PLAN_ID})
    finally:
        engine.dispose()
    return tenant_id


def add_draft_invoice(url: URL, prefix: str, month: str = "2024-11") -> tuple[str, int]:
    """A new flow tenant with a draft invoice for `month`: (tenant id, invoice id)."""
    tenant_id = add_flow_tenant(url, prefix)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as session:
            generated = generate_invoice(session, tenant_id, calendar_month(month),
                                         actor=finance("test"))
    finally:
        engine.dispose()
    return tenant_id, generated.invoice_id


def scalar(url: URL, sql: str, **params: object) -> object:
    """One value read from the database (a fresh connection, so it sees every commit)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


def rows(url: URL, sql: str, **params: object) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def execute(url: URL, sql: str, **params: object) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        engine.dispose()
