"""The job worker a Streamlit process starts (db.jobs.start_background_worker) outlives a
database outage: once the server is back, it takes queued month-ends again by itself, so the
app needs no restart for month-end either."""

from __future__ import annotations

import time

from billing_core.access import Actor, Role
from db.database import make_engine
from db.jobs import start_background_worker, stop_background_workers
from db.month_end_jobs import enqueue_month_end
from tests.stoppable_database import FINANCE_EMAIL, StoppableDatabase, stoppable_database
from tests.ui.finance_data import scalar

FINANCE = Actor(FINANCE_EMAIL, Role.FINANCE)


def test_the_job_worker_runs_month_end_again_once_the_database_is_back():
    with stoppable_database() as database:
        worker = start_background_worker(database.url)
        try:
            _run_month_end(database, "2024-01", runs_done=1)  # the worker is at work
            database.stop()  # closes the worker's connections, its listener's among them
            database.start()
            _run_month_end(database, "2024-02", runs_done=2)
            assert worker.is_alive()
        finally:
            stop_background_workers()


def _run_month_end(database: StoppableDatabase, month: str, runs_done: int) -> None:
    """Queue month-end for `month` and wait until `runs_done` runs have completed."""
    engine = make_engine(database.url)
    try:
        enqueue_month_end(engine, month, actor=FINANCE)
    finally:
        engine.dispose()
    deadline = time.monotonic() + 120
    while scalar(database.url, "SELECT count(*) FROM month_end_runs WHERE status = 'completed'"
                 ) < runs_done:
        assert time.monotonic() < deadline, f"no worker ran month-end {month} in 120 s"
        time.sleep(0.2)  # the pause between two looks, not the wait
