"""Saved allocation runs are read with their shares once per process (a saved run never
changes), listed in one read of the headers, and a run saved later is read when it appears
(issue 16: Cost allocation's first open took 18-22 s)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event

from billing_core.money import Money
from db.allocation_runs import allocate_by_weights
from db.reads.allocations import allocation_run, allocation_runs
from tests.actors import finance
from tests.integration.factories import add_tenant

ACTOR = finance("manager@test")
SHARES_READ = "FROM allocation_shares"


def test_shares_are_read_once_per_run_and_a_new_run_is_read_when_it_appears(
        session, new_tenant_id):
    x, y = (add_tenant(session, new_tenant_id(name)) for name in ("x", "y"))
    first = allocate_by_weights(session, "Shared database", Money("10.00", "USD"),
                                {x: Decimal(1), y: Decimal(3)}, actor=ACTOR).run_id
    reads: list[str] = []

    def count_share_reads(connection, cursor, statement, *_):
        if SHARES_READ in statement:
            reads.append(statement)

    event.listen(session.connection(), "before_cursor_execute", count_share_reads)
    listed = allocation_runs(session)
    assert listed[0].run_id == first and len(reads) == 1
    assert allocation_runs(session) == listed and allocation_run(session, first) == listed[0]
    assert len(reads) == 1

    second = allocate_by_weights(session, "Shared database", Money("20.00", "USD"),
                                 {x: Decimal(1), y: Decimal(1)}, actor=ACTOR).run_id
    newest = allocation_runs(session)
    assert [run.run_id for run in newest[:2]] == [second, first] and len(reads) == 2
    assert {share.tenant_id: share.amount for share in newest[0].shares} == {
        x: Money("10.00", "USD"), y: Money("10.00", "USD")}
