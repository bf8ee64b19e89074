"""The plan catalogue counts each tenant once, on the plan in force on the day read (the latest
subscription started by then), whatever came before or is booked after."""

from datetime import date

from sqlalchemy import text

from db.reads.plans import plan_catalogue


def test_each_tenant_counts_on_its_plan_in_force_that_day(session, new_tenant_id):
    first, second, later = (new_tenant_id("plan") for _ in range(3))
    switched, booked_ahead, not_started = (new_tenant_id("t") for _ in range(3))
    for plan_id in (first, second, later):
        session.execute(text("""
            INSERT INTO plans (plan_id, name, currency, recurring_price_minor)
            VALUES (:plan_id, :plan_id, 'USD', 4900)
        """), {"plan_id": plan_id})
    for tenant_id in (switched, booked_ahead, not_started):
        session.execute(text("""
            INSERT INTO tenants (tenant_id, name, currency, billing_anchor_day)
            VALUES (:tenant_id, :tenant_id, 'USD', 1)
        """), {"tenant_id": tenant_id})
    for tenant_id, starts_on, plan_id in [
            (switched, date(2024, 1, 1), first), (switched, date(2024, 6, 1), second),
            (booked_ahead, date(2024, 1, 1), first), (booked_ahead, date(2024, 9, 1), later),
            (not_started, date(2024, 8, 1), later)]:
        session.execute(text("""
            INSERT INTO subscriptions (tenant_id, starts_on, plan_id)
            VALUES (:tenant_id, :starts_on, :plan_id)
        """), {"tenant_id": tenant_id, "starts_on": starts_on, "plan_id": plan_id})

    counted = {plan.plan_id: plan.tenants_now
               for plan in plan_catalogue(session, date(2024, 7, 1))}

    assert (counted[first], counted[second], counted[later]) == (1, 1, 0)
    later_on = {plan.plan_id: plan.tenants_now
                for plan in plan_catalogue(session, date(2024, 9, 1))}
    assert (later_on[first], later_on[second], later_on[later]) == (0, 1, 2)
