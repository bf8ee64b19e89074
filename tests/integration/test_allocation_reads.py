"""A saved run as the Cost allocation screen reads it (issue 16: 5.6 s at 25,000 tenants):
headers only in the list, the sum check added up in the database, shares sorted and paged
there, and the trend's largest tenants picked there."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event, text

from billing_core.money import Money
from db.allocation_runs import allocate_by_weights
from db.reads.allocations import (
    ShareOrder,
    ShareTotals,
    allocation_run,
    allocation_runs,
    allocation_shares,
    allocation_trend,
    share_totals,
)
from tests.actors import finance
from tests.integration.factories import add_tenant

ACTOR = finance("manager@test")


def usd(text: str) -> Money:
    return Money(text, "USD")


def _run(session, label, total, weights):
    return allocation_run(session, allocate_by_weights(session, label, usd(total), weights,
                                                       actor=ACTOR).run_id)


def test_the_list_reads_run_headers_and_no_share(session, new_tenant_id):
    x = add_tenant(session, new_tenant_id("x"))
    run = _run(session, "Shared database", "10.00", {x: 1})
    statements: list[str] = []
    event.listen(session.connection(), "before_cursor_execute",
                 lambda connection, cursor, statement, *_: statements.append(statement))

    assert allocation_runs(session)[0] == run
    assert not [s for s in statements if "allocation_shares" in s]


def test_shares_are_sorted_and_paged_in_the_database_and_added_up_there(session,
                                                                        new_tenant_id):
    # Names sort the other way round from ids: c < b < a by name.
    a, b, c = (add_tenant(session, new_tenant_id(name)) for name in ("a", "b", "c"))
    session.execute(text("UPDATE tenants SET name = 'Zed' WHERE tenant_id = :a"), {"a": a})
    session.execute(text("UPDATE tenants SET name = 'Alpha' WHERE tenant_id = :c"), {"c": c})
    run = _run(session, "Shared database", "10.00", {a: 1, b: 1, c: 2})  # 2.50 2.50 5.00

    def page(order, offset, limit):
        return [(s.tenant_id, s.amount) for s in allocation_shares(session, run, order,
                                                                   limit=limit, offset=offset)]

    assert page(ShareOrder.LARGEST, 0, 2) == [(c, usd("5.00")), (a, usd("2.50"))]
    assert page(ShareOrder.LARGEST, 2, 2) == [(b, usd("2.50"))]
    assert page(ShareOrder.SMALLEST, 0, None) == [(a, usd("2.50")), (b, usd("2.50")),
                                                  (c, usd("5.00"))]
    assert [t for t, _ in page(ShareOrder.TENANT, 0, None)] == [c, b, a]
    [share] = allocation_shares(session, run, limit=1)
    assert (share.weight, share.quota, share.floor, share.extra_minor) == (
        Decimal(2), Decimal(5), usd("5.00"), 0)
    assert share_totals(session, run) == ShareTotals(3, usd("10.00"), 0)


def test_the_trend_keeps_the_latest_runs_of_one_cost_and_its_largest_tenants(session,
                                                                            new_tenant_id):
    a, b, c = (add_tenant(session, new_tenant_id(name)) for name in ("a", "b", "c"))
    label = f"Cluster {a}"
    first = _run(session, label, "9.00", {a: 1, b: 1, c: 1})  # 3.00 each
    second = _run(session, label, "100.00", {a: 1})
    allocate_by_weights(session, label, Money("50.00", "EUR"), {b: 1}, actor=ACTOR)
    _run(session, "Another cost", "1000.00", {c: 1})
    latest = _run(session, label, "30.00", {a: 1, c: 2})  # a 10.00, c 20.00; b absent

    trend = allocation_trend(session, label, "USD", runs=2, tenants=2)
    assert [p.run_id for p in trend.points] == [second.run_id, latest.run_id]
    # a's largest amount is 100.00, c's 20.00; the EUR run and the other cost do not count.
    assert trend.amounts == {a: {second.run_id: usd("100.00"), latest.run_id: usd("10.00")},
                             c: {latest.run_id: usd("20.00")}}
    assert trend.tenant_count == 2

    every = allocation_trend(session, label, "USD", runs=10, tenants=2)
    assert [p.run_id for p in every.points] == [first.run_id, second.run_id, latest.run_id]
    assert set(every.amounts) == {a, c} and every.tenant_count == 3  # b: 3.00 at most
