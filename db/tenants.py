"""Tenants: created, renamed, re-anchored before their first invoice, deactivated, reactivated.

Each operation requires `Permission.MANAGE_TENANTS`, checks its input with
`billing_core.subscriptions` (a refusal names the field and writes nothing),
locks the tenant row (`db.credit_ledger.lock_tenant`) before it reads what it
changes, and writes its `tenant.*` audit row in the caller's transaction.

The billing anchor day decides every billing period, so it changes only while
the tenant has no invoice at all: afterwards the periods already billed would
no longer be billing periods of the tenant. A deactivated tenant keeps its
history; month-end skips it and says why (`db.month_end`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.errors import InvalidInput
from billing_core.subscriptions import (
    check_anchor_day,
    check_name,
    check_tenant_currency,
    check_tenant_id,
)
from db.audit import AuditRecord, record_audit
from db.credit_ledger import lock_tenant


@dataclass(frozen=True, slots=True)
class TenantRecord:
    tenant_id: str
    name: str
    currency: str
    billing_anchor_day: int
    is_active: bool


def create_tenant(session: Session, tenant_id: str, name: str, currency: str,
                  anchor_day: int = 1, *, actor: Actor) -> TenantRecord:
    """A new tenant (no plan yet: give it one with `db.subscriptions.change_plan`).
    A tenant id already taken is refused on `tenant_id`."""
    require(actor, Permission.MANAGE_TENANTS)
    tenant = TenantRecord(check_tenant_id(tenant_id), check_name(name),
                          check_tenant_currency(currency), check_anchor_day(anchor_day), True)
    created = session.execute(text("""
        INSERT INTO tenants (tenant_id, name, currency, billing_anchor_day)
        VALUES (:tenant_id, :name, :currency, :anchor_day)
        ON CONFLICT (tenant_id) DO NOTHING
        RETURNING tenant_id
    """), {"tenant_id": tenant.tenant_id, "name": tenant.name, "currency": tenant.currency,
           "anchor_day": tenant.billing_anchor_day}).scalar()
    if created is None:
        raise InvalidInput("tenant_id", f"{tenant.tenant_id} already exists; choose another id")
    _audit(session, actor, "tenant.created", tenant.tenant_id, None, _view(tenant))
    return tenant


def rename_tenant(session: Session, tenant_id: str, name: str, *, actor: Actor) -> TenantRecord:
    require(actor, Permission.MANAGE_TENANTS)
    new_name = check_name(name)
    before = _lock(session, tenant_id)
    return _update(session, actor, "tenant.renamed", before, name=new_name)


def change_anchor_day(session: Session, tenant_id: str, anchor_day: int, *,
                      actor: Actor) -> TenantRecord:
    """Refused on `anchor_day` once the tenant has an invoice (even a void one)."""
    require(actor, Permission.MANAGE_TENANTS)
    day = check_anchor_day(anchor_day)
    before = _lock(session, tenant_id)
    invoiced = session.execute(text("SELECT count(*) FROM invoices WHERE tenant_id = :t"),
                               {"t": tenant_id}).scalar_one()
    if invoiced:
        raise InvalidInput("anchor_day", f"{tenant_id} already has invoices; the billing anchor "
                                         "day changes only before the first invoice")
    return _update(session, actor, "tenant.anchor_day_changed", before, billing_anchor_day=day)


def deactivate_tenant(session: Session, tenant_id: str, *, actor: Actor) -> TenantRecord:
    """Month-end stops billing the tenant (and says so); its history stays."""
    require(actor, Permission.MANAGE_TENANTS)
    return _update(session, actor, "tenant.deactivated", _lock(session, tenant_id),
                   is_active=False)


def reactivate_tenant(session: Session, tenant_id: str, *, actor: Actor) -> TenantRecord:
    require(actor, Permission.MANAGE_TENANTS)
    return _update(session, actor, "tenant.reactivated", _lock(session, tenant_id),
                   is_active=True)


def _lock(session: Session, tenant_id: str) -> TenantRecord:
    lock_tenant(session, tenant_id)
    row = session.execute(text("""
        SELECT tenant_id, name, currency, billing_anchor_day, is_active FROM tenants
        WHERE tenant_id = :tenant_id
    """), {"tenant_id": tenant_id}).one()
    return TenantRecord(*row)


def _update(session: Session, actor: Actor, action: str, before: TenantRecord,
            **changes: object) -> TenantRecord:
    # Column names come from this module's own keyword arguments, never from input.
    assignments = ", ".join(f"{column} = :{column}" for column in changes)
    row = session.execute(text(f"""
        UPDATE tenants SET {assignments} WHERE tenant_id = :tenant_id
        RETURNING tenant_id, name, currency, billing_anchor_day, is_active
    """), {"tenant_id": before.tenant_id, **changes}).one()
    after = TenantRecord(*row)
    _audit(session, actor, action, before.tenant_id, _view(before), _view(after))
    return after


def _view(tenant: TenantRecord) -> dict[str, object]:
    return {"name": tenant.name, "currency": tenant.currency,
            "billing_anchor_day": tenant.billing_anchor_day, "is_active": tenant.is_active}


def _audit(session: Session, actor: Actor, action: str, tenant_id: str,
           before: dict[str, object] | None, after: dict[str, object]) -> None:
    record_audit(session, AuditRecord(actor, action, "tenant", tenant_id, tenant_id,
                                      before=before, after=after))
