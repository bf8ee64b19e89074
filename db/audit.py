"""The audit log: who changed what, when, from which state to which (SPEC 10).

Every operation that changes state or moves money writes its audit rows here,
in the caller's transaction, so the log and the change commit or vanish
together. The table is append-only (a trigger refuses UPDATE, DELETE and
TRUNCATE); `occurred_at` is the transaction's timestamp, set by the database.

Every row names its actor twice: `actor` (the user's email, or a job's name such
as "demo-data") and `actor_role` (finance, customer_success, manager), as the
operation was allowed by `billing_core.access.require` for that role.

`before` and `after` hold plain JSON values: money as minor units beside its
currency, dates as ISO text, so the log reads the same in SQL and on screen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from billing_core.access import Actor
from db.bulk import copy_rows
from db.models import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit row to write: `entity` and `entity_id` name what changed."""

    actor: Actor
    action: str
    entity: str
    entity_id: str
    tenant_id: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


def require_actor(actor: Actor) -> Actor:
    """Every change names who made it, with a role: anything but an Actor is a TypeError.

    (An Actor cannot have an empty id; `billing_core.access.Actor` refuses it.)"""
    if not isinstance(actor, Actor):
        raise TypeError(f"actor: expected Actor, got {type(actor).__name__}")
    return actor


def record_audit(session: Session, record: AuditRecord) -> None:
    """Append one audit row in the session's transaction."""
    session.execute(insert(AuditEntry).values(
        actor=require_actor(record.actor).user_id, actor_role=record.actor.role.value,
        action=record.action, entity=record.entity,
        entity_id=record.entity_id, tenant_id=record.tenant_id,
        before=_plain(record.before), after=_plain(record.after),
    ))


def record_audits(session: Session, records: Iterable[AuditRecord]) -> int:
    """Append many audit rows at once (COPY), in the session's transaction; returns the count."""
    rows = [
        (require_actor(r.actor).user_id, r.actor.role.value, r.action, r.entity, r.entity_id,
         r.tenant_id, _json_text(r.before), _json_text(r.after))
        for r in records
    ]
    columns = ("actor", "actor_role", "action", "entity", "entity_id", "tenant_id",
               "before", "after")
    copy_rows(session, AuditEntry.__tablename__, columns, rows)
    return len(rows)


def _plain(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if values is None else dict(values)


def _json_text(values: Mapping[str, Any] | None) -> str | None:
    return None if values is None else json.dumps(values, separators=(",", ":"))
