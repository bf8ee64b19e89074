"""Two processes importing overlapping usage files at once store every event once (SPEC 12)."""

from __future__ import annotations

import multiprocessing
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from db.usage_events import import_usage_path
from tests.actors import finance
from tests.helpers import committed_session
from tests.integration.factories import TB, add_plan, add_tenant

TENANTS = 20
EVENTS_PER_FILE = 6000
OVERLAP = 3000
STARTED_WITHIN_S = 120


def _write(path: Path, tenants: list[str], numbers: range) -> None:
    with path.open("w") as out:
        out.write("tenant_id,event_id,metric,quantity,occurred_at\n")
        for n in numbers:
            out.write(f"{tenants[n % len(tenants)]},e{n},storage,{n % 1000 + 1},"
                      f"2024-03-{n % 28 + 1:02d}T{n % 24:02d}:00:00Z\n")


def _import_in_a_process(url: str, path: str, barrier, results) -> None:
    barrier.wait(timeout=STARTED_WITHIN_S)
    with committed_session(url) as session:
        counts = import_usage_path(session, Path(path), actor=finance("meter@test")).counts
    results.put((counts.new, counts.duplicate, counts.conflict))


def test_two_processes_importing_overlapping_files_store_every_event_once(
        database_url, new_tenant_id, tmp_path):
    url = database_url.render_as_string(hide_password=False)
    prefix = new_tenant_id("race")
    tenants = [f"{prefix}-{n}" for n in range(TENANTS)]
    with committed_session(url) as session:
        add_plan(session, "test-race-storage", 0,
                 usage=("storage", "TB", "byte", TB, TB, Decimal("23.00")))
        for tenant in tenants:
            add_tenant(session, tenant, plans=[(date(2024, 1, 1), "test-race-storage")])
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    _write(first, tenants, range(0, EVENTS_PER_FILE))
    _write(second, tenants, range(EVENTS_PER_FILE - OVERLAP, 2 * EVENTS_PER_FILE - OVERLAP))
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_import_in_a_process,
                                 args=(url, str(path), barrier, results))
                 for path in (first, second)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=STARTED_WITHIN_S) for _ in processes]
    for process in processes:
        process.join(timeout=STARTED_WITHIN_S)
        assert process.exitcode == 0

    distinct = 2 * EVENTS_PER_FILE - OVERLAP
    assert sum(new for new, _, _ in outcomes) == distinct
    assert sum(duplicate for _, duplicate, _ in outcomes) == OVERLAP
    assert all(conflict == 0 for _, _, conflict in outcomes)
    with committed_session(url) as session:
        stored, events_total, days_total = session.execute(text("""
            SELECT count(*), sum(quantity_base_units),
                   (SELECT sum(quantity_base_units) FROM usage_days
                    WHERE tenant_id = ANY(:tenants))
            FROM usage_events WHERE tenant_id = ANY(:tenants)
        """), {"tenants": tenants}).one()
    assert stored == distinct
    assert events_total == days_total == sum(n % 1000 + 1 for n in range(distinct))
