"""Tenants of a test's own in the shared demo database, so tests that write never collide.

`add_disputed_tenant` builds an ent-umbrella-like tenant under a fresh id: on the
$1000.00 compute tier, October finalized and paid, November a draft.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import URL

from billing_core.periods import calendar_month
from tests.actors import finance
from tests.helpers import committed_session


@dataclass(frozen=True, slots=True)
class DisputedTenant:
    tenant_id: str
    name: str
    paid_invoice_id: int
    draft_invoice_id: int


def add_disputed_tenant(url: URL, prefix: str) -> DisputedTenant:
    from db.invoicing import generate_invoice
    from db.transitions import finalize_invoice, record_payment

    tenant_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    name = f"Test {prefix.title()} {tenant_id[-8:]}"
    with committed_session(url) as session:
        session.execute(text("""
            INSERT INTO tenants (tenant_id, name, currency, billing_anchor_day)
            VALUES (:tenant_id, :name, 'USD', 1)
        """), {"tenant_id": tenant_id, "name": name})
        session.execute(text("""
            INSERT INTO subscriptions (tenant_id, starts_on, plan_id)
            VALUES (:tenant_id, :starts_on, 'compute-1000')
        """), {"tenant_id": tenant_id, "starts_on": date(2024, 1, 1)})
        october = generate_invoice(session, tenant_id, calendar_month("2024-10"),
                                   actor=finance("tests")).invoice_id
        finalize_invoice(session, tenant_id, october, actor=finance("tests"))
        record_payment(session, tenant_id, october, actor=finance("tests"))
        november = generate_invoice(session, tenant_id, calendar_month("2024-11"),
                                    actor=finance("tests")).invoice_id
    return DisputedTenant(tenant_id, name, october, november)
