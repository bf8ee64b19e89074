"""Month-end as a job: queued by the screen or the command, run by a worker, one run per month.

Workers here are real procrastinate workers on the test's own database: in this
process (`run_worker(wait=False)` works the queue until it is empty) or, to be
killed mid-run, in a subprocess.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from procrastinate.schema import SchemaManager
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from billing_core.access import PermissionDenied
from billing_core.errors import InvalidInput
from db.database import REPO_ROOT
from db.errors import RunInProgress
from db.jobs import libpq_conninfo, run_worker
from db.month_end import main
from db.month_end_jobs import enqueue_month_end, queued_month_ends
from tests.actors import customer_success, finance
from tests.integration.factories import add_plan, add_tenant

ACTOR = finance("finance@test")
BIGINT_MAX = 2**63 - 1


def _tenants(engine, count: int, prefix: str = "mj") -> list[str]:
    ids = [f"{prefix}-{number:04d}" for number in range(count)]
    with Session(engine) as session, session.begin():
        add_plan(session, "test-basic-600", 60000)
        for tenant_id in ids:
            add_tenant(session, tenant_id, plans=[(date(2024, 1, 1), "test-basic-600")])
    return ids


def _one(engine, sql: str, **params):
    with engine.connect() as connection:
        return connection.execute(text(sql), params).one()


def _runs(engine, month: str = "2024-11") -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("""
            SELECT run_id, status, tenants_done, invoices_created FROM month_end_runs
            WHERE period_label = :month ORDER BY run_id
        """), {"month": month})]


def _invoices(engine, month: str = "2024-11") -> tuple[int, int]:
    return tuple(_one(engine, """
        SELECT count(*), count(DISTINCT tenant_id) FROM invoices WHERE period_label = :month
    """, month=month))


def _audited(engine, action: str) -> list:
    with engine.connect() as connection:
        return connection.execute(text("""
            SELECT actor, entity_id, before, after FROM audit_log WHERE action = :action
            ORDER BY audit_id
        """), {"action": action}).all()


def _wait_until(condition, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.05)  # the pause between two looks, not the wait


def _holding_tenant(engine, tenant_id: str):
    """A real connection holding the tenant's row: a run reaching that tenant waits there."""
    connection = engine.connect()
    connection.execute(text("SELECT 1 FROM tenants WHERE tenant_id = :t FOR UPDATE"),
                       {"t": tenant_id})
    return connection


def test_a_queued_month_end_is_run_by_a_worker_recorded_and_audited(fresh_engine):
    _tenants(fresh_engine, 40)
    job_id = enqueue_month_end(fresh_engine, "2024-11", actor=ACTOR, batch_size=15)
    with Session(fresh_engine) as session:
        [queued] = queued_month_ends(session)
    assert (queued.job_id, queued.period_label, queued.actor, queued.started) == (
        job_id, "2024-11", ACTOR.user_id, False)
    assert _invoices(fresh_engine) == (0, 0)  # queued, not run

    run_worker(fresh_engine.url, wait=False)

    assert _invoices(fresh_engine) == (40, 40)
    [(run_id, status, done, created)] = _runs(fresh_engine)
    assert (status, done, created) == ("completed", 40, 40)
    [audited] = _audited(fresh_engine, "month_end.completed")
    assert (audited.actor, audited.entity_id, audited.after["invoices_created"]) == (
        ACTOR.user_id, str(run_id), 40)
    with Session(fresh_engine) as session:
        assert queued_month_ends(session) == []


def test_a_run_that_fails_is_recorded_failed_with_an_audit_row(fresh_engine):
    _tenants(fresh_engine, 5)
    with Session(fresh_engine) as session, session.begin():
        # Priced at the largest amount a bigint holds, plus usage: the invoice's total does
        # not fit its column, and the database refuses the batch.
        add_plan(session, "test-too-dear", BIGINT_MAX,
                 usage=("api_requests", "request", "request", 1, 0, Decimal("1.00")))
        add_tenant(session, "mj-too-dear", plans=[(date(2024, 1, 1), "test-too-dear")])
        session.execute(text("""
            INSERT INTO usage_records (tenant_id, metric, used_on, quantity_base_units)
            VALUES ('mj-too-dear', 'api_requests', '2024-11-15', 100)
        """))
    job_id = enqueue_month_end(fresh_engine, "2024-11", actor=ACTOR)

    run_worker(fresh_engine.url, wait=False)

    [(run_id, status, _, _)] = _runs(fresh_engine)
    error = _one(fresh_engine, "SELECT error FROM month_end_runs WHERE run_id = :r",
                 r=run_id).error
    assert status == "failed" and error
    [audited] = _audited(fresh_engine, "month_end.failed")
    assert (audited.actor, audited.entity_id, audited.before, audited.after["status"],
            audited.after["period"], audited.after["error"]) == (
        ACTOR.user_id, str(run_id), {"status": "running"}, "failed", "2024-11", error)
    assert _one(fresh_engine, "SELECT status FROM procrastinate_jobs WHERE id = :j",
                j=job_id).status == "failed"


def test_asking_for_a_month_again_while_it_is_queued_or_running_yields_one_run(fresh_engine):
    tenant_ids = _tenants(fresh_engine, 30)
    first = enqueue_month_end(fresh_engine, "2024-11", actor=ACTOR, batch_size=10)

    # Four more requests at once, each on its own connection, while the first waits.
    start = threading.Barrier(4, timeout=30)

    def ask() -> object:
        start.wait()
        try:
            return enqueue_month_end(fresh_engine, "2024-11", actor=ACTOR)
        except RunInProgress as refused:
            return refused

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: ask(), range(4)))
    assert all(isinstance(answer, RunInProgress) for answer in answers), answers

    holder = _holding_tenant(fresh_engine, tenant_ids[25])
    try:
        worker = threading.Thread(target=run_worker, args=(fresh_engine.url,),
                                  kwargs={"wait": False})
        worker.start()
        _wait_until(lambda: _runs(fresh_engine) and _runs(fresh_engine)[0][1] == "running"
                    and _runs(fresh_engine)[0][2] >= 10, "the run to be part-way")
        with pytest.raises(RunInProgress, match="already in progress"):
            enqueue_month_end(fresh_engine, "2024-11", actor=ACTOR)
    finally:
        holder.rollback()
        holder.close()
    worker.join(timeout=120)
    assert not worker.is_alive()

    assert [(status, created) for _, status, _, created in _runs(fresh_engine)] == [
        ("completed", 30)]
    assert _invoices(fresh_engine) == (30, 30)
    assert _one(fresh_engine, "SELECT count(*) AS n FROM procrastinate_jobs").n == 0  # done
    assert first is not None


def test_two_first_requests_at_once_queue_one_job(fresh_engine):
    _tenants(fresh_engine, 3)
    start = threading.Barrier(4, timeout=30)

    def ask() -> object:
        start.wait()
        try:
            return enqueue_month_end(fresh_engine, "2024-11", actor=ACTOR)
        except RunInProgress as refused:
            return refused

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: ask(), range(4)))
    assert sum(isinstance(answer, int) for answer in answers) == 1, answers
    with Session(fresh_engine) as session:
        assert len(queued_month_ends(session)) == 1


def test_a_month_can_be_run_again_once_its_run_is_done(fresh_engine):
    _tenants(fresh_engine, 6)
    enqueue_month_end(fresh_engine, "2024-11", actor=ACTOR)
    run_worker(fresh_engine.url, wait=False)
    enqueue_month_end(fresh_engine, "2024-11", actor=ACTOR)
    run_worker(fresh_engine.url, wait=False)
    assert [(status, created) for _, status, _, created in _runs(fresh_engine)] == [
        ("completed", 6), ("completed", 0)]
    assert _invoices(fresh_engine) == (6, 6)


@pytest.mark.parametrize("actor, period, refusal", [
    (finance(), "2024-13", InvalidInput),
    (customer_success(), "2024-11", PermissionDenied),
], ids=["not a month", "not finance"])
def test_a_refused_request_queues_nothing(fresh_engine, actor, period, refusal):
    with pytest.raises(refusal):
        enqueue_month_end(fresh_engine, period, actor=actor)
    assert _one(fresh_engine, "SELECT count(*) AS n FROM procrastinate_jobs").n == 0


_WORKER = """
import sys
from sqlalchemy.engine import make_url
from db.jobs import run_worker
run_worker(make_url(sys.argv[1]))
"""


def test_a_run_whose_worker_was_killed_is_resumed_by_the_next_worker(fresh_engine):
    tenant_ids = _tenants(fresh_engine, 60)
    enqueue_month_end(fresh_engine, "2024-11", actor=ACTOR, batch_size=10)
    url = fresh_engine.url.render_as_string(hide_password=False)
    holder = _holding_tenant(fresh_engine, tenant_ids[45])
    process = subprocess.Popen([sys.executable, "-c", _WORKER, url], cwd=REPO_ROOT,
                               env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        _wait_until(lambda: _runs(fresh_engine) and _runs(fresh_engine)[0][2] >= 20,
                    "the worker to be part-way")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        holder.rollback()
        holder.close()
        if process.poll() is None:
            process.kill()
    # Its heartbeat stops; once it is older than the limit the worker counts as dead (the
    # clock is moved instead of waited for).
    with fresh_engine.begin() as connection:
        connection.execute(text("""
            UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'
        """))

    run_worker(fresh_engine.url, wait=False)

    statuses = [status for _, status, _, _ in _runs(fresh_engine)]
    assert statuses == ["interrupted", "completed"]
    assert _invoices(fresh_engine) == (60, 60)
    assert len(_audited(fresh_engine, "month_end.interrupted")) == 1


def _run_main(argv, capsys) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def command_database(fresh_engine, monkeypatch):
    """The command's database is DATABASE_URL's: the test's own."""
    monkeypatch.setenv("DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    return fresh_engine


def test_the_command_runs_a_month_and_prints_its_progress(command_database, capsys):
    _tenants(command_database, 25)
    status, out, _ = _run_main(["run", "2024-11", "--batch-size", "10"], capsys)
    lines = out.splitlines()
    assert status == 0
    assert lines[0].startswith("Month-end 2024-11 queued (job ")
    assert "Month-end 2024-11: 25 of 25 tenants" in lines
    assert lines[-1] == ("Month-end 2024-11 completed: 25 invoices created, 0 already present, "
                         "0 tenants skipped.")
    assert _invoices(command_database) == (25, 25)
    [audited] = _audited(command_database, "month_end.completed")
    assert audited.actor == "month-end"


def test_the_command_with_no_wait_only_queues_the_run(command_database, capsys):
    _tenants(command_database, 4)
    status, out, _ = _run_main(["run", "2024-11", "--no-wait", "--actor", "cron@ops"], capsys)
    assert status == 0 and out.startswith("Month-end 2024-11 queued (job ")
    assert _invoices(command_database) == (0, 0)
    run_worker(command_database.url, wait=False)
    assert _invoices(command_database) == (4, 4)
    assert [audited.actor for audited in _audited(command_database, "month_end.completed")] == [
        "cron@ops"]


def test_the_command_refuses_a_malformed_month_or_a_month_under_way(command_database, capsys):
    status, _, err = _run_main(["run", "2024-13"], capsys)
    assert (status, err.strip()) == (2, "period: '2024-13' is not a month like 2024-01")
    _run_main(["run", "2024-11", "--no-wait"], capsys)
    status, _, err = _run_main(["run", "2024-11", "--no-wait"], capsys)
    assert (status, err.strip()) == (2, "A month end run for 2024-11 is already in progress; "
                                        "wait for it to finish")
    assert _one(command_database, "SELECT count(*) AS n FROM procrastinate_jobs").n == 1


def test_the_command_says_when_the_run_fails(command_database, capsys):
    _tenants(command_database, 2)
    with Session(command_database) as session, session.begin():
        add_plan(session, "test-too-dear", BIGINT_MAX,
                 usage=("api_requests", "request", "request", 1, 0, Decimal("1.00")))
        add_tenant(session, "mj-too-dear", plans=[(date(2024, 1, 1), "test-too-dear")])
        session.execute(text("""
            INSERT INTO usage_records (tenant_id, metric, used_on, quantity_base_units)
            VALUES ('mj-too-dear', 'api_requests', '2024-11-15', 100)
        """))
    status, _, err = _run_main(["run", "2024-11"], capsys)
    assert status == 1
    assert err.startswith("Month-end 2024-11 failed: ")


@pytest.mark.parametrize("url, expected", [
    ("postgresql+psycopg://postgres@/ledgerline?host=/tmp/ledgerline-pg/socket",
     {"host": "/tmp/ledgerline-pg/socket", "user": "postgres", "dbname": "ledgerline"}),
    ("postgresql+psycopg://app:s3cr%40t@db.internal:6543/ledgerline?sslmode=require",
     {"host": "db.internal", "port": "6543", "user": "app", "password": "s3cr@t",
      "dbname": "ledgerline", "sslmode": "require"}),
], ids=["embedded server socket", "DATABASE_URL"])
def test_the_queue_connects_where_the_engine_does(url, expected):
    assert conninfo_to_dict(libpq_conninfo(make_url(url))) == expected


def test_revision_0008_is_the_schema_of_the_newest_migration_procrastinate_ships():
    path = REPO_ROOT / "db" / "migrations" / "versions" / "0008_job_queue.py"
    spec = importlib.util.spec_from_file_location("revision_0008", path)
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    shipped = sorted(Path(SchemaManager.get_migrations_path()).glob("*.sql"))
    # A newer procrastinate with a newer schema file needs a revision that applies it.
    assert [p.name for p in revision.procrastinate_migrations()] == [p.name for p in shipped]
    assert shipped[-1].name == revision.LAST_MIGRATION
