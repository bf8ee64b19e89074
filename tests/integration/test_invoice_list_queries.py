"""The invoice list's queries at scale: pages read in index order, counts that never scan a million.

`list_invoices` orders newest period first, then by tenant (`period_start DESC,
tenant_id, invoice_id`). Its indexes must have that mixed order; an all-ascending
index makes PostgreSQL sort the whole newest period on every page (150 ms at
100,000 invoices a month). The plan is checked on the real statement the
function runs, with sequential scans and sorts priced out, so that the few rows
of a test table still show which order the indexes can give: on a handful of
analysed rows the planner rightly prefers sorting them, and whether autovacuum
has analysed the table yet depends on what ran before and when.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import event, text

from billing_core.periods import calendar_month
from db.invoicing import generate_invoices
from db.reads.invoices import count_invoices, list_invoices
from db.reads.periods import invoice_months
from db.transitions import finalize_invoice, record_payment
from tests.actors import finance
from tests.integration.factories import add_plan, add_tenant


def plan_nodes(plan: dict) -> list[str]:
    nodes = [plan["Node Type"]]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


def captured_page_query(session, **filters) -> tuple[str, dict]:
    """The SELECT of the rows that `list_invoices(count=False, **filters)` sends."""
    seen: list[tuple[str, dict]] = []
    connection = session.connection()

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        list_invoices(session, count=False, **filters)
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    [(statement, parameters)] = seen
    return statement, parameters


@pytest.fixture
def analysed_invoices(session, new_tenant_id) -> None:
    """Invoices of every status in two months, analysed: the statistics a long run leaves."""
    add_plan(session, "plan-list-queries", 10000)
    tenants = [add_tenant(session, new_tenant_id("list"), plans=[(date(2024, 1, 1),
                                                                   "plan-list-queries")])
               for _ in range(12)]
    actor = finance()
    for month in ("2024-10", "2024-11"):
        invoice_ids = generate_invoices(session, tenants, calendar_month(month),
                                        actor=actor).invoice_ids
        for tenant in tenants[:8]:
            finalize_invoice(session, tenant, invoice_ids[tenant], actor=actor)
        for tenant in tenants[:4]:
            record_payment(session, tenant, invoice_ids[tenant], actor=actor)
    session.execute(text("ANALYZE invoices, tenants"))


@pytest.mark.parametrize("filters", [{}, {"status": "draft"}, {"period_label": "2024-11"},
                                     {"status": "paid", "period_label": "2024-11"}],
                         ids=["all", "status", "period", "status and period"])
def test_a_page_is_read_in_index_order_without_sorting(session, analysed_invoices, filters):
    statement, parameters = captured_page_query(session, **filters)
    for method in ("seqscan", "sort", "incremental_sort"):  # still used when nothing else can
        session.execute(text(f"SET LOCAL enable_{method} = off"))
    cursor = session.connection().connection.driver_connection.cursor()
    cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
    plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)

    nodes = plan_nodes(plan[0]["Plan"])
    assert not {"Sort", "Incremental Sort"} & set(nodes), nodes


def test_count_is_exact_for_small_results(session):
    counted = count_invoices(session, period_label="2024-11")
    assert counted.exact
    assert counted.count == session.execute(text(
        "SELECT count(*) FROM invoices WHERE period_start >= '2024-11-01' "
        "AND period_start < '2024-12-01'")).scalar_one()


def test_large_results_are_estimated_not_counted(session):
    counted = count_invoices(session, exact_below=0)
    assert not counted.exact and counted.count >= 0


def test_invoice_months_are_the_months_of_the_period_starts(session):
    expected = session.execute(text(
        "SELECT DISTINCT to_char(period_start, 'YYYY-MM') FROM invoices ORDER BY 1 DESC"
    )).scalars().all()
    assert invoice_months(session) == expected
