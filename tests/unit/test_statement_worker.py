"""Work handed to the statement worker runs in order, and a failure stops what follows."""

from __future__ import annotations

import threading

import pytest

from db.statement_worker import StatementWorker


def test_work_runs_in_the_order_submitted_on_one_other_thread():
    ran: list[tuple[int, str]] = []
    with StatementWorker() as worker:
        futures = [worker.submit(lambda n=n: ran.append((n, threading.current_thread().name)))
                   for n in range(5)]
        assert worker.run(lambda: "answer") == "answer"
    assert all(future.done() for future in futures)
    assert [n for n, _ in ran] == [0, 1, 2, 3, 4]
    assert len({name for _, name in ran}) == 1
    assert ran[0][1] != threading.current_thread().name


def test_after_a_failure_later_work_is_not_run_and_the_failure_is_raised():
    ran: list[str] = []

    def fail() -> None:
        raise LookupError("refused")

    with pytest.raises(LookupError, match="refused"), StatementWorker() as worker:
        worker.submit(fail)
        later = worker.submit(lambda: ran.append("later"))
    assert ran == []
    with pytest.raises(LookupError, match="refused"):
        later.result()


def test_the_callers_own_error_drops_the_work_not_started():
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def blocking() -> None:
        started.set()
        release.wait()

    with pytest.raises(ValueError, match="caller"), StatementWorker() as worker:
        worker.submit(blocking)
        queued = worker.submit(lambda: ran.append("queued"))
        # Dropping the queued piece is what lets the running one finish.
        queued.add_done_callback(lambda _: release.set())
        started.wait()
        raise ValueError("caller")
    assert queued.cancelled()
    assert ran == []
