"""Races driven step by step on real connections, for tests of what locks do.

Transaction A does its part and stays open; B starts its statement in a thread
(`Race.attempt`); the test waits, on a condition (`pg_blocking_pids`) with a
generous limit, until B is blocked by A (`wait_until_blocked`); then A goes on.
No sleeps decide anything, so a busy machine only makes it slower.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, Engine, text

BLOCKED_WITHIN_S = 30.0
FINISHED_WITHIN_S = 60.0


@dataclass(frozen=True, slots=True)
class Transaction:
    """One real connection in its own open transaction, and its server process id."""

    connection: Connection
    pid: int

    def execute(self, sql: str, params: dict[str, object] | None = None) -> object:
        return self.connection.execute(text(sql), params or {})

    def commit(self) -> None:
        self.connection.commit()


class Race:
    """Transactions on separate connections; a statement expected to wait runs in a thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._threads = ThreadPoolExecutor(max_workers=2)
        self._watcher = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._open: list[Transaction] = []
        self._attempts: list[tuple[Transaction, Future]] = []

    def begin(self, isolation_level: str = "READ COMMITTED") -> Transaction:
        connection = self._engine.connect().execution_options(isolation_level=isolation_level)
        connection.begin()
        transaction = Transaction(connection, connection.execute(
            text("SELECT pg_backend_pid()")).scalar_one())
        self._open.append(transaction)
        return transaction

    def attempt(self, transaction: Transaction, step: Callable[[], object]) -> Future:
        """Start `step`, which uses `transaction` and nothing else meanwhile, in a thread."""
        attempt = self._threads.submit(step)
        self._attempts.append((transaction, attempt))
        return attempt

    def wait_until_blocked(self, attempt: Future, waiter: Transaction,
                           holder: Transaction) -> None:
        """Return once `waiter` waits for a lock `holder` holds; fail if it finished instead."""
        deadline = time.monotonic() + BLOCKED_WITHIN_S
        while not attempt.done():
            if self._watcher.execute(text("SELECT :holder = ANY(pg_blocking_pids(:waiter))"),
                                     {"holder": holder.pid, "waiter": waiter.pid}).scalar_one():
                return
            if time.monotonic() > deadline:
                pytest.fail(f"not blocked by the other transaction within {BLOCKED_WITHIN_S} s")
            time.sleep(0.02)
        error = attempt.exception()
        pytest.fail("expected to wait for the other transaction, but it finished first"
                    + (f" with {error!r}" if error else ", accepted"))

    def close(self) -> None:
        busy = {id(transaction) for transaction, attempt in self._attempts if not attempt.done()}
        for transaction in self._open:  # the idle ones first: that releases any waiter
            if id(transaction) not in busy:
                transaction.connection.rollback()
        for _, attempt in self._attempts:
            attempt.exception(timeout=FINISHED_WITHIN_S)
        for transaction in self._open:
            transaction.connection.rollback()
            transaction.connection.close()
        self._watcher.close()
        self._threads.shutdown()

    def __enter__(self) -> Race:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
