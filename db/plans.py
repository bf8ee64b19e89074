"""Plans and their versions: a price never changes, a new price is a new version (SPEC 11).

An invoice that used a plan must keep meaning what it said, so no plan row's
prices are ever edited (the database refuses it: trigger `plans_prices_frozen`).
`new_plan_version` writes a new row, `<first plan id>-v<n>`, with the same name
and usage terms unless new ones are given; tenants move to it with a plan change
(`db.subscriptions.change_plan`, or `move_plan_version` for everyone at once).
A retired plan takes no new subscriptions; tenants already on it stay.

Each operation requires `Permission.MANAGE_PLANS`, checks its input in
`billing_core.subscriptions`, and writes a `plan.*` audit row in the caller's
transaction. Plans belong to no tenant, so no tenant is locked; a new version
locks the plan's first version row, so two new versions at once take turns
for the next number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.errors import InvalidInput
from billing_core.money import Money
from billing_core.subscriptions import check_name, check_plan_id, check_price
from billing_core.usage import UsagePlan
from db.audit import AuditRecord, record_audit


@dataclass(frozen=True, slots=True)
class PlanRecord:
    plan_id: str
    name: str
    price: Money
    version: int
    first_plan_id: str
    retired_at: datetime | None
    usage: UsagePlan | None


_COLUMNS = """plan_id, name, currency, recurring_price_minor, version,
              coalesce(first_plan_id, plan_id), retired_at, usage_metric, usage_unit_name,
              usage_base_unit_name, usage_base_units_per_unit, usage_included_base_units,
              usage_price_per_unit"""


def create_plan(session: Session, plan_id: str, name: str, price: Money, *,
                usage: UsagePlan | None = None, actor: Actor) -> PlanRecord:
    """A plan's first version. A plan id already taken is refused on `plan_id`."""
    require(actor, Permission.MANAGE_PLANS)
    plan_id, name = check_plan_id(plan_id), check_name(name)
    _check_usage(check_price(price), usage)
    plan = _insert(session, plan_id, name, price, usage, version=1, first_plan_id=None)
    if plan is None:
        raise InvalidInput("plan_id", f"{plan_id} already exists; choose another id, or make "
                                      "a new version of it")
    record_audit(session, AuditRecord(actor, "plan.created", "plan", plan_id,
                                      after=_view(plan)))
    return plan


def new_plan_version(session: Session, plan_id: str, price: Money, *,
                     usage: UsagePlan | None = None, actor: Actor) -> PlanRecord:
    """The next version of `plan_id`'s plan at `price` (usage terms kept unless given):
    `compute-1000` -> `compute-1000-v2` -> `compute-1000-v3`. Invoices that used the
    earlier versions keep their lines."""
    require(actor, Permission.MANAGE_PLANS)
    base = find_plan(session, plan_id)
    first = session.execute(text(f"""
        SELECT {_COLUMNS} FROM plans WHERE plan_id = :first FOR UPDATE
    """), {"first": base.first_plan_id}).one()
    latest = session.execute(text("""
        SELECT max(version) FROM plans
        WHERE coalesce(first_plan_id, plan_id) = :first
    """), {"first": first[0]}).scalar_one()
    _check_usage(check_price(price, base.price.currency), usage)
    version = latest + 1
    plan = _insert(session, f"{base.first_plan_id}-v{version}", base.name, price,
                   usage if usage is not None else base.usage, version=version,
                   first_plan_id=base.first_plan_id)
    if plan is None:
        raise InvalidInput("plan_id", f"{base.first_plan_id}-v{version} already exists")
    record_audit(session, AuditRecord(actor, "plan.version_created", "plan", plan.plan_id,
                                      before=_view(base), after=_view(plan)))
    return plan


def retire_plan(session: Session, plan_id: str, *, actor: Actor) -> PlanRecord:
    """No new subscriptions to `plan_id` from now on; tenants already on it stay."""
    require(actor, Permission.MANAGE_PLANS)
    before = find_plan(session, plan_id, lock=True)
    row = session.execute(text(f"""
        UPDATE plans SET retired_at = coalesce(retired_at, now()) WHERE plan_id = :plan_id
        RETURNING {_COLUMNS}
    """), {"plan_id": plan_id}).one()
    plan = _record(row)
    record_audit(session, AuditRecord(actor, "plan.retired", "plan", plan_id,
                                      before=_view(before), after=_view(plan)))
    return plan


def find_plan(session: Session, plan_id: object, *, lock: bool = False) -> PlanRecord:
    """The plan `plan_id`; an unknown one is refused on `plan_id`."""
    if type(plan_id) is not str or not plan_id.strip():
        raise InvalidInput("plan_id", "is empty; choose a plan")
    row = session.execute(text(f"""
        SELECT {_COLUMNS} FROM plans WHERE plan_id = :plan_id {'FOR UPDATE' if lock else ''}
    """), {"plan_id": plan_id.strip()}).first()
    if row is None:
        raise InvalidInput("plan_id", f"{plan_id!r} is not a known plan")
    return _record(row)


def _check_usage(price: Money, usage: UsagePlan | None) -> None:
    if usage is not None and usage.price_per_unit.currency != price.currency:
        raise InvalidInput("usage", f"is priced in {usage.price_per_unit.currency}, "
                                    f"but the plan bills in {price.currency}")


def _insert(session: Session, plan_id: str, name: str, price: Money, usage: UsagePlan | None,
            *, version: int, first_plan_id: str | None) -> PlanRecord | None:
    row = session.execute(text(f"""
        INSERT INTO plans (plan_id, name, currency, recurring_price_minor, version,
                           first_plan_id, usage_metric, usage_unit_name, usage_base_unit_name,
                           usage_base_units_per_unit, usage_included_base_units,
                           usage_price_per_unit)
        VALUES (:plan_id, :name, :currency, :price_minor, :version, :first_plan_id, :metric,
                :unit_name, :base_unit_name, :per_unit, :included, :unit_price)
        ON CONFLICT (plan_id) DO NOTHING
        RETURNING {_COLUMNS}
    """), {"plan_id": plan_id, "name": name, "currency": price.currency,
           "price_minor": price.to_minor_units(), "version": version,
           "first_plan_id": first_plan_id,
           "metric": usage.metric if usage else None,
           "unit_name": usage.unit_name if usage else None,
           "base_unit_name": usage.base_unit_name if usage else None,
           "per_unit": usage.base_units_per_unit if usage else None,
           "included": usage.included_base_units if usage else None,
           "unit_price": usage.price_per_unit.amount if usage else None}).first()
    return None if row is None else _record(row)


def _record(row: tuple) -> PlanRecord:
    (plan_id, name, currency, price_minor, version, first_plan_id, retired_at, metric,
     unit_name, base_unit_name, per_unit, included, unit_price) = row
    usage = None
    if metric is not None:
        usage = UsagePlan(metric, unit_name, per_unit, included, Money(unit_price, currency),
                          base_unit_name)
    return PlanRecord(plan_id, name, Money.from_minor_units(price_minor, currency), version,
                      first_plan_id, retired_at, usage)


def _view(plan: PlanRecord) -> dict[str, object]:
    return {"plan_id": plan.plan_id, "name": plan.name, "currency": plan.price.currency,
            "recurring_price_minor": plan.price.to_minor_units(), "version": plan.version,
            "first_plan_id": plan.first_plan_id,
            "retired": plan.retired_at is not None}
