"""The month-end run: every active tenant once, in batches, safe to repeat or resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from db import month_end
from db.database import REPO_ROOT
from db.month_end import run_month_end
from db.reads.month_end_runs import last_month_end_run
from tests.actors import finance
from tests.integration.factories import add_plan, add_tenant

ACTOR = finance("finance@test")


def _tenants(engine, count: int, *, planless: int = 0, inactive: int = 0) -> None:
    with Session(engine) as session, session.begin():
        add_plan(session, "test-basic-600", 60000)
        for number in range(count):
            add_tenant(session, f"me-{number:04d}", plans=[(date(2024, 1, 1), "test-basic-600")])
        for number in range(planless):
            add_tenant(session, f"me-planless-{number}")
        for number in range(inactive):
            add_tenant(session, f"me-gone-{number}", active=False,
                       plans=[(date(2024, 1, 1), "test-basic-600")])


def _invoice_counts(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return tuple(connection.execute(text("""
            SELECT count(*), count(DISTINCT tenant_id) FROM invoices WHERE period_label = '2024-11'
        """)).one())


def test_run_twice_creates_each_invoice_once_and_reports_why_others_were_skipped(fresh_engine):
    _tenants(fresh_engine, 25, planless=2, inactive=3)
    progress = []
    first = run_month_end(fresh_engine, "2024-11", actor=ACTOR, batch_size=10,
                          on_progress=lambda done, total: progress.append((done, total)))
    assert (first.tenants_in_scope, first.invoices_created, first.already_present) == (27, 25, 0)
    assert first.skipped == {
        **{f"me-planless-{n}": "plan: no plan in force in 2024-11" for n in (0, 1)},
        **{f"me-gone-{n}": "deactivated: month-end does not bill it" for n in (0, 1, 2)}}
    assert progress == [(10, 27), (20, 27), (27, 27)]
    second = run_month_end(fresh_engine, "2024-11", actor=ACTOR, batch_size=10)
    assert (second.invoices_created, second.already_present, len(second.skipped)) == (0, 25, 5)
    assert _invoice_counts(fresh_engine) == (25, 25)
    with Session(fresh_engine) as session:
        last = last_month_end_run(session)
    assert (last.run_id, last.status, last.invoices_created, last.already_present) == (
        second.run_id, "completed", 0, 25)


def test_dry_run_reports_and_writes_nothing(fresh_engine):
    _tenants(fresh_engine, 12, planless=1)
    summary = run_month_end(fresh_engine, "2024-11", actor=ACTOR, batch_size=5, dry_run=True)
    assert (summary.run_id, summary.dry_run, summary.invoices_created, len(summary.skipped)) == (
        None, True, 12, 1)
    with fresh_engine.connect() as connection:
        written = connection.execute(text("""
            SELECT (SELECT count(*) FROM invoices) + (SELECT count(*) FROM month_end_runs)
                 + (SELECT count(*) FROM audit_log)
        """)).scalar_one()
    assert written == 0


_KILLABLE_RUN = """
import sys, time
from db.database import make_engine
from db import month_end
from db.month_end import run_month_end
from tests.actors import finance

def progress(done, total):
    print(done, flush=True)
    if done == 100:
        time.sleep(0.2)  # the parent reads the line and kills us during the next batch

run_month_end(make_engine(sys.argv[1]), "2024-11", actor=finance("cron"), batch_size=100,
              on_progress=progress)
"""


def test_a_run_killed_part_way_resumes_without_duplicates(fresh_engine):
    _tenants(fresh_engine, 1000)
    url = fresh_engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen([sys.executable, "-c", _KILLABLE_RUN, url], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert process.stdout.readline().strip() == "100"  # the first batch is committed
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    invoices, _ = _invoice_counts(fresh_engine)
    assert 100 <= invoices < 1000  # part-way, in whole batches
    assert invoices % 100 == 0

    resumed = run_month_end(fresh_engine, "2024-11", actor=ACTOR, batch_size=300)
    assert (resumed.invoices_created, resumed.already_present) == (1000 - invoices, invoices)
    assert _invoice_counts(fresh_engine) == (1000, 1000)
    with fresh_engine.connect() as connection:
        statuses = connection.execute(text(
            "SELECT status FROM month_end_runs ORDER BY run_id")).scalars().all()
        lines = connection.execute(text("SELECT count(*) FROM invoice_lines")).scalar_one()
    assert statuses == ["interrupted", "completed"]
    assert lines == 1000


def test_a_running_row_left_by_a_dead_run_is_marked_interrupted_and_audited(fresh_engine):
    _tenants(fresh_engine, 3)
    with Session(fresh_engine) as session, session.begin():
        dead = session.execute(text("""
            INSERT INTO month_end_runs (period_label, dry_run, status, actor, tenants_in_scope,
                                        tenants_done, invoices_created, already_present, skipped)
            VALUES ('2024-11', false, 'running', 'cron', 3, 1, 1, 0, '{}') RETURNING run_id
        """)).scalar_one()
    run_month_end(fresh_engine, "2024-11", actor=ACTOR)
    with fresh_engine.connect() as connection:
        status = connection.execute(text(
            "SELECT status FROM month_end_runs WHERE run_id = :r"), {"r": dead}).scalar_one()
        audited = connection.execute(text("""
            SELECT actor, before, after FROM audit_log
            WHERE action = 'month_end.interrupted' AND entity_id = :r
        """), {"r": str(dead)}).one()
    assert status == "interrupted"
    assert (audited.actor, audited.before["status"], audited.before["actor"],
            audited.after["status"], audited.after["tenants_done"]) == (
        ACTOR.user_id, "running", "cron", "interrupted", 1)


def test_a_failed_run_is_recorded_failed_and_its_error_propagates(fresh_engine):
    _tenants(fresh_engine, 3)

    def stop(done, total):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        run_month_end(fresh_engine, "2024-11", actor=ACTOR, on_progress=stop)
    with Session(fresh_engine) as session:
        last = last_month_end_run(session)
    assert (last.status, last.error) == ("failed", "disk full")
    with fresh_engine.connect() as connection:
        audited = connection.execute(text("""
            SELECT actor, before, after FROM audit_log
            WHERE action = 'month_end.failed' AND entity_id = :r
        """), {"r": str(last.run_id)}).one()
    assert (audited.actor, audited.before, audited.after["status"], audited.after["error"],
            audited.after["tenants_in_scope"]) == (ACTOR.user_id, {"status": "running"},
                                                   "failed", "disk full", 3)


def test_a_failure_to_record_the_failure_does_not_hide_the_original_error(fresh_engine,
                                                                         monkeypatch, caplog):
    _tenants(fresh_engine, 3)

    def stop(done, total):
        raise RuntimeError("disk full")

    def broken_bookkeeping(*args, **kwargs):
        raise ConnectionError("server closed the connection")

    monkeypatch.setattr(month_end, "_finish_run", broken_bookkeeping)
    with pytest.raises(RuntimeError, match="disk full"):
        run_month_end(fresh_engine, "2024-11", actor=ACTOR, on_progress=stop)
    [logged] = [r for r in caplog.records if r.name == "ledgerline.month_end"]
    assert "could not be recorded as failed" in logged.getMessage()
    assert isinstance(logged.exc_info[1], ConnectionError)


def test_batches_are_written_at_once_each_on_a_connection_of_its_own(fresh_engine, monkeypatch):
    _tenants(fresh_engine, 10)
    both_in_flight = threading.Barrier(2, timeout=20)
    backends = set()
    generate_batch = month_end._generate_batch

    def generate_when_the_other_batch_is_running_too(session, *args):
        backends.add(session.connection().connection.driver_connection.info.backend_pid)
        both_in_flight.wait()  # run one after the other, this times out and the run fails
        return generate_batch(session, *args)

    monkeypatch.setattr(month_end, "_generate_batch", generate_when_the_other_batch_is_running_too)
    summary = run_month_end(fresh_engine, "2024-11", actor=ACTOR, batch_size=5, workers=2)
    assert (summary.invoices_created, len(backends)) == (10, 2)
    assert _invoice_counts(fresh_engine) == (10, 10)


def test_a_failing_batch_fails_the_run_and_the_record_counts_what_was_committed(fresh_engine,
                                                                                monkeypatch):
    _tenants(fresh_engine, 60)
    generate_batch = month_end._generate_batch

    def fail_on_the_second_batch(session, batch, *args):
        if batch[0].tenant_id == "me-0010":
            raise RuntimeError("connection reset")
        return generate_batch(session, batch, *args)

    monkeypatch.setattr(month_end, "_generate_batch", fail_on_the_second_batch)
    with pytest.raises(RuntimeError, match="connection reset"):
        run_month_end(fresh_engine, "2024-11", actor=ACTOR, batch_size=10, workers=2)
    with Session(fresh_engine) as session:
        last = last_month_end_run(session)
    invoices, _ = _invoice_counts(fresh_engine)
    assert (last.status, last.error) == ("failed", "connection reset")
    assert 10 <= invoices < 60  # the first batch committed; the run stopped early
    assert last.tenants_done == last.invoices_created == invoices

    resumed = run_month_end(fresh_engine, "2024-11", actor=ACTOR, batch_size=25)
    assert (resumed.invoices_created, resumed.already_present) == (60 - invoices, invoices)


@pytest.mark.parametrize("option", ["batch_size", "workers"])
@pytest.mark.parametrize("value", [0, -1, 1.5, "2"])
def test_batch_size_and_workers_are_positive_ints(fresh_engine, option, value):
    with pytest.raises(ValueError, match=f"{option} must be a positive int"):
        run_month_end(fresh_engine, "2024-11", actor=ACTOR, **{option: value})


def test_a_run_needs_a_month_label(fresh_engine):
    from billing_core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="period: '2024-13' is not a month"):
        run_month_end(fresh_engine, "2024-13", actor=ACTOR)
