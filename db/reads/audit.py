"""The audit log as the screens read it: entries filtered and paged, and the pickers' choices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class AuditView:
    audit_id: int
    occurred_at: datetime
    actor: str
    action: str
    tenant_id: str | None
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def audit_log(session: Session, *, tenant_id: str | None = None, actor: str | None = None,
              action: str | None = None, entity: str | None = None,
              entity_id: str | None = None, since: datetime | None = None,
              until: datetime | None = None, before_audit_id: int | None = None,
              limit: int = 200) -> list[AuditView]:
    """Audit entries, newest first, filtered by any of tenant, actor, action, entity and the
    time range [since, until); page with `before_audit_id` (the last id of the previous page)."""
    conditions: list[str] = ["true"]
    params: dict[str, object] = {"limit": limit}
    for column, value in (("tenant_id", tenant_id), ("actor", actor), ("action", action),
                          ("entity", entity), ("entity_id", entity_id)):
        if value is not None:
            conditions.append(f"{column} = :{column}")
            params[column] = value
    if since is not None:
        conditions.append("occurred_at >= :since")
        params["since"] = since
    if until is not None:
        conditions.append("occurred_at < :until")
        params["until"] = until
    if before_audit_id is not None:
        conditions.append("audit_id < :before_audit_id")
        params["before_audit_id"] = before_audit_id
    rows = session.execute(text(f"""
        SELECT audit_id, occurred_at, actor, action, tenant_id, entity, entity_id, before, after
        FROM audit_log WHERE {' AND '.join(conditions)}
        ORDER BY audit_id DESC LIMIT :limit
    """), params)
    return [AuditView(*row) for row in rows]


def audit_actions(session: Session) -> list[str]:
    """The distinct actions in the log (for a filter picker), from `audit_filter_choices`,
    which the log's insert trigger keeps: a few rows, however long the log grows."""
    return _filter_choices(session, "action")


def audit_actors(session: Session) -> list[str]:
    """The distinct actors in the audit log (for a filter picker); see `audit_actions`."""
    return _filter_choices(session, "actor")


def _filter_choices(session: Session, kind: str) -> list[str]:
    return list(session.execute(text(
        "SELECT DISTINCT value FROM audit_filter_choices WHERE kind = :kind ORDER BY value"),
        {"kind": kind}).scalars())
