"""Plan changes: one tenant from a date (upgrade, downgrade, cancel), or everyone on a plan.

SPEC 11: a change takes effect on its date, which belongs to the new plan; a
cancellation is a change to no plan (the last period bills up to the day
before). A change reaching into a period whose invoice is finalized, paid or
void is refused ("2024-10 is finalized for ent-acme-corp; correct it with a
credit note"); drafts it reaches are re-priced in the same transaction; a
change beyond every invoice waits for its period.

A change is stored as the subscription segment starting on its date (a second
change for the same date replaces the first; later changes already recorded
stay). Lock order: the tenants (`lock_tenants`), then their invoices the
change reaches (`db.touched_periods`), then the re-priced drafts' lines. Every
operation requires `Permission.CHANGE_SUBSCRIPTIONS` and writes a
`subscription.changed` audit row per tenant, in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.errors import InvalidInput
from billing_core.money import Money
from billing_core.periods import _require_date
from billing_core.subscriptions import plan_change_touches
from db.audit import AuditRecord, record_audit
from db.credit_ledger import lock_tenant, lock_tenants
from db.plans import PlanRecord, find_plan
from db.repricing import RepricedDraft
from db.touched_periods import lock_invoiced_periods, refuse_closed, reprice_touched


@dataclass(frozen=True, slots=True)
class PlanChangeResult:
    """What a change did: how many tenants moved, and the drafts it re-priced."""

    tenants: int
    repriced: tuple[RepricedDraft, ...]

    @property
    def difference(self) -> dict[str, Money]:
        """The re-priced drafts' totals after minus before, per currency."""
        totals: dict[str, Money] = {}
        for draft in self.repriced:
            change = draft.total_after - draft.total_before
            totals[change.currency] = totals.get(change.currency, Money.zero(change.currency)) \
                + change
        return totals


def change_plan(session: Session, tenant_id: str, starts_on: date, plan_id: str | None, *,
                actor: Actor) -> PlanChangeResult:
    """Put `tenant_id` on `plan_id` from `starts_on` (None: cancel from that day).

    SPEC 3 + 11: on $600.00 from 2024-11-01, `change_plan(..., date(2024, 11, 16),
    "compute-1000")` re-prices the November draft to $300.00 + $500.00 = $800.00.
    """
    require(actor, Permission.CHANGE_SUBSCRIPTIONS)
    _require_date(starts_on, "starts_on")
    plan = _plan_for_new_subscriptions(session, plan_id)
    currency = lock_tenant(session, tenant_id)
    _check_currency(plan, currency)
    invoiced = lock_invoiced_periods(session, [tenant_id], starts_on)
    touched = {tenant_id: refuse_closed(tenant_id, "starts_on", invoiced.get(tenant_id, []),
                                        partial(plan_change_touches, starts_on))}
    before = session.execute(text("""
        SELECT plan_id FROM subscriptions WHERE tenant_id = :t AND starts_on = :d
    """), {"t": tenant_id, "d": starts_on}).first()
    _store(session, [tenant_id], starts_on, plan)
    record_audit(session, AuditRecord(
        actor, "subscription.changed", "subscription", f"{tenant_id}:{starts_on.isoformat()}",
        tenant_id, before=None if before is None else {"plan_id": before[0]},
        after={"starts_on": starts_on.isoformat(),
               "plan_id": plan.plan_id if plan else None}))
    repriced = reprice_touched(session, touched, actor=actor,
                               cause=_cause(plan, starts_on),
                               allowed_by=Permission.CHANGE_SUBSCRIPTIONS)
    return PlanChangeResult(1, tuple(repriced))


def move_plan_version(session: Session, from_plan_id: str, to_plan_id: str, starts_on: date, *,
                      actor: Actor) -> PlanChangeResult:
    """Move every tenant on `from_plan_id` on `starts_on` to `to_plan_id` from that day (a
    price rise: a new version of the same plan). One refusal refuses the whole move, naming
    the first tenant and period that is closed."""
    require(actor, Permission.CHANGE_SUBSCRIPTIONS)
    _require_date(starts_on, "starts_on")
    source = find_plan(session, from_plan_id)
    target = _plan_for_new_subscriptions(session, to_plan_id)
    if target is None:
        raise InvalidInput("to_plan_id", "is empty; choose the plan to move to")
    if source.plan_id == target.plan_id:
        raise InvalidInput("to_plan_id", f"is {target.plan_id} already; choose another plan")
    if source.price.currency != target.price.currency:
        raise InvalidInput("to_plan_id", f"bills in {target.price.currency}, but "
                                         f"{source.plan_id} bills in {source.price.currency}")
    tenant_ids = _tenants_on(session, source.plan_id, starts_on)
    if not tenant_ids:
        return PlanChangeResult(0, ())
    lock_tenants(session, tenant_ids)
    # Re-read under the locks: a tenant moved off the plan meanwhile is not moved again.
    tenant_ids = _tenants_on(session, source.plan_id, starts_on, among=tenant_ids)
    invoiced = lock_invoiced_periods(session, tenant_ids, starts_on)
    touches = partial(plan_change_touches, starts_on)
    touched = {tenant_id: refuse_closed(tenant_id, "starts_on", periods, touches)
               for tenant_id, periods in invoiced.items()}
    _store_moves(session, tenant_ids, starts_on, source, target, actor)
    repriced = reprice_touched(session, touched, actor=actor, cause=_cause(target, starts_on),
                               allowed_by=Permission.CHANGE_SUBSCRIPTIONS)
    record_audit(session, AuditRecord(
        actor, "plan.tenants_moved", "plan", source.plan_id, None,
        before={"plan_id": source.plan_id},
        after={"plan_id": target.plan_id, "starts_on": starts_on.isoformat(),
               "tenants": len(tenant_ids), "drafts_repriced": len(repriced)}))
    return PlanChangeResult(len(tenant_ids), tuple(repriced))


def _plan_for_new_subscriptions(session: Session, plan_id: str | None) -> PlanRecord | None:
    if plan_id is None:
        return None
    plan = find_plan(session, plan_id)
    if plan.retired_at is not None:
        raise InvalidInput("plan_id", f"{plan.plan_id} is retired; it takes no new "
                                      "subscriptions")
    return plan


def _check_currency(plan: PlanRecord | None, currency: str) -> None:
    if plan is not None and plan.price.currency != currency:
        raise InvalidInput("plan_id", f"{plan.plan_id} bills in {plan.price.currency}, but the "
                                      f"tenant is billed in {currency}")


def _tenants_on(session: Session, plan_id: str, on: date,
                among: list[str] | None = None) -> list[str]:
    """Tenants whose plan in force on `on` is `plan_id` (the last segment starting on or
    before that day)."""
    rows = session.execute(text("""
        SELECT tenant_id FROM (
            SELECT DISTINCT ON (tenant_id) tenant_id, plan_id FROM subscriptions
            WHERE starts_on <= :on
              AND (CAST(:among AS text[]) IS NULL OR tenant_id = ANY(:among))
            ORDER BY tenant_id, starts_on DESC
        ) AS in_force
        WHERE plan_id = :plan_id
        ORDER BY tenant_id
    """), {"on": on, "plan_id": plan_id, "among": among})
    return list(rows.scalars())


def _store(session: Session, tenant_ids: list[str], starts_on: date,
           plan: PlanRecord | None) -> None:
    session.execute(text("""
        INSERT INTO subscriptions (tenant_id, starts_on, plan_id)
        SELECT tenant_id, :starts_on, :plan_id FROM unnest(CAST(:tenant_ids AS text[]))
            AS t(tenant_id)
        ON CONFLICT (tenant_id, starts_on) DO UPDATE SET plan_id = excluded.plan_id
    """), {"tenant_ids": tenant_ids, "starts_on": starts_on,
           "plan_id": plan.plan_id if plan else None})


def _store_moves(session: Session, tenant_ids: list[str], starts_on: date, source: PlanRecord,
                 target: PlanRecord, actor: Actor) -> None:
    """`_store` for many tenants, with each one's `subscription.changed` audit row built by
    the database from the rows it stored (one statement, as generation's)."""
    session.execute(text("""
        WITH stored AS (
            INSERT INTO subscriptions (tenant_id, starts_on, plan_id)
            SELECT tenant_id, :starts_on, :plan_id FROM unnest(CAST(:tenant_ids AS text[]))
                AS t(tenant_id)
            ON CONFLICT (tenant_id, starts_on) DO UPDATE SET plan_id = excluded.plan_id
            RETURNING tenant_id
        )
        INSERT INTO audit_log (actor, actor_role, action, entity, entity_id, tenant_id, before,
                               after)
        SELECT :actor, :actor_role, 'subscription.changed', 'subscription',
               tenant_id || ':' || :starts_text, tenant_id,
               jsonb_build_object('plan_id', CAST(:from_plan_id AS text)),
               jsonb_build_object('starts_on', CAST(:starts_text AS text),
                                  'plan_id', CAST(:plan_id AS text))
        FROM stored ORDER BY tenant_id
    """), {"tenant_ids": tenant_ids, "starts_on": starts_on, "starts_text": starts_on.isoformat(),
           "plan_id": target.plan_id, "from_plan_id": source.plan_id,
           "actor": actor.user_id, "actor_role": actor.role.value})


def _cause(plan: PlanRecord | None, starts_on: date) -> str:
    if plan is None:
        return f"cancelled from {starts_on.isoformat()}"
    return f"plan {plan.plan_id} from {starts_on.isoformat()}"
