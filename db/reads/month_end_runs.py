"""Month-end runs as the screens read them (Home, Month end): the latest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class MonthEndRunView:
    run_id: int
    period_label: str
    status: str
    actor: str
    tenants_in_scope: int
    tenants_done: int
    invoices_created: int
    already_present: int
    skipped: dict[str, str]
    error: str | None
    started_at: datetime
    finished_at: datetime | None


def last_month_end_run(session: Session) -> MonthEndRunView | None:
    """The most recent month-end run (dry runs are not stored), or None."""
    runs = month_end_runs(session, limit=1)
    return runs[0] if runs else None


def month_end_runs(session: Session, limit: int = 20) -> list[MonthEndRunView]:
    rows = session.execute(text("""
        SELECT run_id, period_label, status, actor, tenants_in_scope, tenants_done,
               invoices_created, already_present, skipped, error, started_at, finished_at
        FROM month_end_runs ORDER BY run_id DESC LIMIT :limit
    """), {"limit": limit})
    return [MonthEndRunView(*row) for row in rows]
