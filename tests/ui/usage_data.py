"""Usage on the demo database for the Usage screen's tests: a metered tenant of the test's own
(the demo tenants stay as they are for the other screens)."""

from __future__ import annotations

import io
import uuid
from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import URL

from billing_core.periods import calendar_month
from db.invoicing import generate_invoice
from db.transitions import finalize_invoice
from db.usage_events import import_usage_file
from tests.actors import finance
from tests.helpers import committed_session

TB = 10**12
PLAN_ID = "ui-storage-1tb"
HEADER = "tenant_id,event_id,metric,quantity,occurred_at\n"


def usage_csv(*rows: str) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


def add_metered_tenant(url: URL, prefix: str) -> str:
    """A tenant `<prefix>-<random>` on a 1 TB storage plan ($23.00 per TB over) since 2023."""
    tenant_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    with committed_session(url) as session:
        session.execute(text("""
            INSERT INTO plans (plan_id, name, currency, recurring_price_minor, usage_metric,
                               usage_unit_name, usage_base_unit_name, usage_base_units_per_unit,
                               usage_included_base_units, usage_price_per_unit)
            VALUES (:plan_id, 'UI storage 1 TB', 'USD', 0, 'storage', 'TB', 'byte', :tb, :tb,
                    23.00)
            ON CONFLICT (plan_id) DO NOTHING
        """), {"plan_id": PLAN_ID, "tb": TB})
        session.execute(text("INSERT INTO tenants (tenant_id, name, currency) "
                             "VALUES (:t, :t, 'USD')"), {"t": tenant_id})
        session.execute(text("INSERT INTO subscriptions (tenant_id, starts_on, plan_id) "
                             "VALUES (:t, :d, :p)"),
                        {"t": tenant_id, "d": date(2023, 1, 1), "p": PLAN_ID})
    return tenant_id


def add_late_usage(url: URL, prefix: str) -> tuple[str, int]:
    """A metered tenant billed exactly 1 TB for a finalized January, a February draft, and
    half a TB of January usage that came late: (tenant id, late-usage group id)."""
    tenant_id = add_metered_tenant(url, prefix)
    actor = finance("tests")
    with committed_session(url) as session:
        _import(session, usage_csv(f"{tenant_id},jan-1,storage,{TB},2024-01-10T00:00:00Z"))
        january = generate_invoice(session, tenant_id, calendar_month("2024-01"), actor=actor)
        finalize_invoice(session, tenant_id, january.invoice_id, actor=actor)
        generate_invoice(session, tenant_id, calendar_month("2024-02"), actor=actor)
        _import(session, usage_csv(f"{tenant_id},jan-late,storage,{TB // 2},"
                                   "2024-01-31T22:00:00Z"))
        group_id = session.execute(text(
            "SELECT late_usage_id FROM late_usage WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar_one()
    return tenant_id, group_id


def _import(session, data: bytes) -> None:
    import_usage_file(session, io.BytesIO(data), "setup.csv", len(data), actor=finance("tests"))
