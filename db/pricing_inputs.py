"""What an invoice is priced from, loaded for many tenants at once.

Generating invoices is set-based: one query per kind of input for a whole
batch of tenants (plan segments, usage sums, discounts, credit balances),
then pricing in Python by `billing_core`, never in SQL. The rows become the
core's values here, so the rest of the code sees only `PlanChange`,
`UsagePlan`, `PercentOff`/`FixedOff` and `Money`.

Rules decided here (written down in docs/database.md):
- the plan segments passed to the core are the last one starting on or before
  the period's start and every one starting inside the period;
- usage terms are those of the plan in force on the period's last day, and the
  usage is every record of that plan's metric dated inside the period;
- a discount applies when the period starts inside [valid_from, valid_until);
- a segment with no plan is a cancellation (SPEC 11): it reaches the core as a
  $0 "Cancelled" plan, so the last plan bills up to the day before and the
  invoice says when it stopped; a period with nothing but a cancellation in
  force has no plan to bill.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.discounts import FixedOff, PercentOff
from billing_core.money import Money
from billing_core.periods import Period
from billing_core.proration import PlanChange
from billing_core.usage import UsagePlan
from db.credit_ledger import credit_balances_minor
from db.usage_days import usage_days_read_by_pricing


@dataclass(frozen=True, slots=True)
class PricingInputs:
    """Everything `price_invoice` needs for one tenant and period."""

    tenant_id: str
    currency: str
    plan_changes: tuple[PlanChange, ...]
    usage: tuple[tuple[UsagePlan, int], ...]
    discounts: tuple[PercentOff | FixedOff, ...]
    credit_balance: Money


@dataclass(frozen=True, slots=True)
class _PlanTerms:
    name: str
    price: Money
    usage_plan: UsagePlan | None


def load_pricing_inputs(session: Session, currencies: Mapping[str, str],
                        period: Period) -> dict[str, PricingInputs]:
    """Pricing inputs for every tenant in `currencies` (tenant id -> currency) for `period`."""
    tenant_ids = sorted(currencies)
    if not tenant_ids:
        return {}
    segments = _plan_segments(session, tenant_ids, period)
    plans = _plan_terms(session, {plan_id for rows in segments.values() for _, plan_id in rows
                                  if plan_id is not None})
    used = _usage_sums(session, tenant_ids, period)
    discounts = _discounts(session, tenant_ids, period)
    balances = credit_balances_minor(session, tenant_ids)
    inputs = {}
    # Many tenants share a plan change (same day, same plan): build each value once.
    changes_made: dict[tuple[date, str | None, str], PlanChange] = {}
    for tenant_id in tenant_ids:
        currency = currencies[tenant_id]
        tenant_segments = segments.get(tenant_id, [])
        changes = tuple(
            changes_made.get((starts_on, plan_id, currency))
            or changes_made.setdefault((starts_on, plan_id, currency),
                                       _plan_change(starts_on, plan_id, plans, currency))
            for starts_on, plan_id in tenant_segments)
        if all(plan_id is None for _, plan_id in tenant_segments):
            changes = ()
        usage: tuple[tuple[UsagePlan, int], ...] = ()
        billed = [plan_id for _, plan_id in tenant_segments if plan_id is not None]
        if billed:
            usage_plan = plans[billed[-1]].usage_plan
            if usage_plan is not None:
                usage = ((usage_plan, used.get((tenant_id, usage_plan.metric), 0)),)
        balance_minor = balances.get(tenant_id, 0)
        inputs[tenant_id] = PricingInputs(
            tenant_id=tenant_id,
            currency=currency,
            plan_changes=changes,
            usage=usage,
            discounts=tuple(discounts.get(tenant_id, ())),
            # Most tenants have no balance: the shared zero is cheaper than building one.
            credit_balance=(Money.from_minor_units(balance_minor, currency) if balance_minor
                            else Money.zero(currency)),
        )
    return inputs


CANCELLED = "Cancelled"
"""How a cancellation's segment is named on an invoice."""


def _plan_change(starts_on: date, plan_id: str | None, plans: Mapping[str, _PlanTerms],
                 currency: str) -> PlanChange:
    if plan_id is None:
        return PlanChange(starts_on, CANCELLED, Money.zero(currency))
    return PlanChange(starts_on, plans[plan_id].name, plans[plan_id].price)


def _plan_segments(session: Session, tenant_ids: Sequence[str],
                   period: Period) -> dict[str, list[tuple[date, str | None]]]:
    # One pass over each tenant's segments before the period's end (a window, not a lookup
    # of the last earlier segment per row): a tenant's history is a handful of rows.
    rows = session.execute(text("""
        SELECT tenant_id, starts_on, plan_id FROM (
            SELECT tenant_id, starts_on, plan_id,
                   starts_on >= coalesce(max(starts_on) FILTER (WHERE starts_on <= :period_start)
                                         OVER (PARTITION BY tenant_id), '-infinity'::date)
                       AS in_period
            FROM subscriptions
            WHERE tenant_id = ANY(:tenant_ids) AND starts_on < :period_end
        ) AS segment
        WHERE in_period
        ORDER BY tenant_id, starts_on
    """), {"tenant_ids": list(tenant_ids), "period_start": period.start,
           "period_end": period.end})
    segments: dict[str, list[tuple[date, str | None]]] = defaultdict(list)
    for tenant_id, starts_on, plan_id in rows.all():
        segments[tenant_id].append((starts_on, plan_id))
    return segments


def _plan_terms(session: Session, plan_ids: set[str]) -> dict[str, _PlanTerms]:
    if not plan_ids:
        return {}
    rows = session.execute(text("""
        SELECT plan_id, name, currency, recurring_price_minor, usage_metric, usage_unit_name,
               usage_base_unit_name, usage_base_units_per_unit, usage_included_base_units,
               usage_price_per_unit
        FROM plans WHERE plan_id = ANY(:plan_ids)
    """), {"plan_ids": sorted(plan_ids)})
    terms = {}
    for (plan_id, name, currency, price_minor, metric, unit_name, base_unit_name, per_unit,
         included, unit_price) in rows:
        usage_plan = None
        if metric is not None:
            usage_plan = UsagePlan(metric, unit_name, per_unit, included,
                                   Money(unit_price, currency), base_unit_name)
        # Lines are read by people: they carry the plan's name, not its key.
        terms[plan_id] = _PlanTerms(name, Money.from_minor_units(price_minor, currency),
                                    usage_plan)
    return terms


def _usage_sums(session: Session, tenant_ids: Sequence[str],
                period: Period) -> dict[tuple[str, str], int]:
    # A sum of integer base units (a count, not money); bigint keeps it an int.
    rows = session.execute(text(f"""
        SELECT tenant_id, metric, sum(quantity_base_units)::bigint
        FROM {usage_days_read_by_pricing(session)}
        WHERE tenant_id = ANY(:tenant_ids) AND used_on >= :period_start AND used_on < :period_end
        GROUP BY tenant_id, metric
    """), {"tenant_ids": list(tenant_ids), "period_start": period.start,
           "period_end": period.end})
    return {(tenant_id, metric): used for tenant_id, metric, used in rows.all()}


def _discounts(session: Session, tenant_ids: Sequence[str],
               period: Period) -> dict[str, list[PercentOff | FixedOff]]:
    rows = session.execute(text("""
        SELECT tenant_id, label, percent, amount_minor, currency
        FROM tenant_discounts
        WHERE tenant_id = ANY(:tenant_ids)
          AND (valid_from IS NULL OR valid_from <= :period_start)
          AND (valid_until IS NULL OR valid_until > :period_start)
        ORDER BY tenant_id, position
    """), {"tenant_ids": list(tenant_ids), "period_start": period.start})
    discounts: dict[str, list[PercentOff | FixedOff]] = defaultdict(list)
    # Standard discounts repeat across tenants: one immutable value per distinct row.
    made: dict[tuple[object, ...], PercentOff | FixedOff] = {}
    for tenant_id, label, percent, amount_minor, currency in rows.all():
        key = (label, percent, amount_minor, currency)
        discount = made.get(key)
        if discount is None:
            discount = made[key] = (
                PercentOff(percent, label) if percent is not None
                else FixedOff(Money.from_minor_units(amount_minor, currency), label))
        discounts[tenant_id].append(discount)
    return discounts
