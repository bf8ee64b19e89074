"""Waiting for a month end run: a worker runs it (db.jobs), not the screen, so tests wait for
its record in `month_end_runs`, on a condition with a generous limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from tests.ui.finance_data import scalar

FINISHED = ("completed", "failed", "interrupted")


def last_run_id(url: URL) -> int:
    return scalar(url, "SELECT coalesce(max(run_id), 0) FROM month_end_runs")


def run_status(url: URL, month: str, after_run_id: int) -> str | None:
    """The status of the month's latest run after `after_run_id`, or None before it starts."""
    return scalar(url, """
        SELECT (SELECT status FROM month_end_runs WHERE period_label = :month AND run_id > :after
                ORDER BY run_id DESC LIMIT 1)
    """, month=month, after=after_run_id)


def wait_until(condition, what: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.1)  # the pause between two looks, not the wait


def wait_for_month_end(url: URL, month: str, after_run_id: int, seconds: float = 180) -> str:
    """The status of the month's run after `after_run_id`, once it and its job are finished."""
    def finished() -> bool:
        queued = scalar(url, """
            SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'month_end'
            AND status IN ('todo', 'doing') AND args ->> 'period_label' = :month
        """, month=month)
        return queued == 0 and run_status(url, month, after_run_id) in FINISHED

    wait_until(finished, f"the month end run for {month} to finish", seconds)
    return run_status(url, month, after_run_id)


@contextmanager
def holding_tenant(url: URL, tenant_id: str, at_most: float = 90) -> Iterator[None]:
    """A real connection holds the tenant's row while the block runs (at most `at_most` s).

    A run reaching the tenant waits there, part-way, so what a screen does meanwhile
    happens while the run goes on. The limit keeps code that waits for the run before
    the block ends (a run inside the page) from hanging forever: it fails instead.
    """
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1 FROM tenants WHERE tenant_id = :t FOR UPDATE"),
                                   {"t": tenant_id})
                taken.set()
                release.wait(at_most)
                connection.rollback()
        finally:
            engine.dispose()

    holder = threading.Thread(target=hold, name=f"holding {tenant_id}")
    holder.start()
    if not taken.wait(30):
        raise AssertionError(f"could not lock tenant {tenant_id}")
    try:
        yield
    finally:
        release.set()
        holder.join()
