"""Shared-cost allocation runs stored with their shares (SPEC 7)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from billing_core.errors import AllocationError
from billing_core.money import Money
from billing_core.periods import calendar_month
from db.allocation_runs import allocate_by_usage, allocate_by_weights
from db.errors import NotFound
from db.reads.allocations import allocation_run, allocation_shares
from tests.actors import finance
from tests.integration.factories import add_tenant, add_usage

ACTOR = finance("manager@test")


def test_1000_by_33_33_33_33_33_34_is_stored_to_the_cent(session, new_tenant_id):
    x, y, z = (add_tenant(session, new_tenant_id(name)) for name in ("x", "y", "z"))
    result = allocate_by_weights(session, "Shared database", Money("1000.00", "USD"),
                                 {x: Decimal("33.33"), y: Decimal("33.33"), z: Decimal("33.34")},
                                 actor=ACTOR)
    run = allocation_run(session, result.run_id)
    assert run.total == Money("1000.00", "USD")
    shares = {(s.tenant_id, s.weight, s.quota, s.floor, s.extra_minor, s.amount)
              for s in allocation_shares(session, run)}
    assert shares == {
        (x, Decimal("33.33"), Decimal("333.3"), Money("333.30", "USD"), 0, Money("333.30", "USD")),
        (y, Decimal("33.33"), Decimal("333.3"), Money("333.30", "USD"), 0, Money("333.30", "USD")),
        (z, Decimal("33.34"), Decimal("333.4"), Money("333.40", "USD"), 0, Money("333.40", "USD")),
    }


def test_by_stored_usage_in_a_period(session, new_tenant_id):
    metric = f"cluster-{new_tenant_id('m')}"  # a metric of this test's own
    a, b, c = (add_tenant(session, new_tenant_id(name)) for name in ("a", "b", "c"))
    for tenant in (a, b, c):
        add_usage(session, tenant, metric, date(2024, 11, 3), 1)
    add_usage(session, c, metric, date(2024, 10, 31), 1000)  # outside the period
    result = allocate_by_usage(session, "Cluster", Money("1000.00", "USD"), metric,
                               calendar_month("2024-11"), actor=ACTOR)
    # Equal weights: the leftover cent goes to the smallest tenant id.
    assert sorted(result.shares.values()) == [Money("333.33", "USD")] * 2 + [Money("333.34", "USD")]
    assert result.shares[min(a, b, c)] == Money("333.34", "USD")
    run = session.execute(text("SELECT method, metric FROM allocation_runs WHERE run_id = :r"),
                          {"r": result.run_id}).one()
    assert tuple(run) == ("usage", metric)


def test_all_zero_weights_are_refused(session, new_tenant_id):
    a = add_tenant(session, new_tenant_id("a"))
    with pytest.raises(AllocationError, match="weights: all weights are zero"):
        allocate_by_weights(session, "x", Money("10.00", "USD"), {a: 0}, actor=ACTOR)


def test_unknown_tenants_are_refused(session):
    with pytest.raises(NotFound, match="tenant nobody-here was not found"):
        allocate_by_weights(session, "x", Money("10.00", "USD"), {"nobody-here": 1}, actor=ACTOR)
