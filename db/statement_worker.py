"""The session's statements run by one background thread while this thread keeps computing.

Re-pricing thousands of drafts in one transaction is half Python (pricing) and
half server (storing the new totals, lines and audit rows), and on one
connection the two would take turns: the server idles while Python prices,
Python idles while the server writes. `StatementWorker` lets them overlap: the
caller hands a chunk's writes to the worker and goes on pricing the next chunk
while the server stores this one (psycopg releases the GIL while it waits for
the server). It helps only where a core is free: on a machine whose cores are
all busy, the two sides still share them.

Rules that keep one session safe between two threads:
- while the worker is open, only the worker uses the session: the caller sends
  every statement through it (`submit`, or `run`, which waits for the answer);
- work runs one piece at a time, in the order submitted, so statements keep the
  order (and the lock order) they would have on one thread;
- once a piece fails, the pieces after it are not run (the transaction is in
  error anyway) and leaving the block raises that failure; leaving the block on
  the caller's own error drops the pieces not started yet; either way it waits
  for the piece running, so the session is idle after it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import ParamSpec, TypeVar

Result = TypeVar("Result")
Params = ParamSpec("Params")


class StatementWorker:
    """One thread running submitted database work in order; see the module's rules."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="statements")
        self._failure: BaseException | None = None

    def submit(self, work: Callable[Params, Result], *args: Params.args,
               **kwargs: Params.kwargs) -> Future[Result]:
        """Run `work(*args, **kwargs)` after everything submitted before it."""

        def guarded() -> Result:
            if self._failure is not None:
                # Not run: the caller waiting on it gets the failure itself (an
                # IntegrityError stays one), not a stand-in.
                raise self._failure
            try:
                return work(*args, **kwargs)
            except BaseException as failure:
                self._failure = failure
                raise

        return self._pool.submit(guarded)

    def run(self, work: Callable[Params, Result], *args: Params.args,
            **kwargs: Params.kwargs) -> Result:
        """`submit`, then wait for the answer (a read the caller needs now)."""
        return self.submit(work, *args, **kwargs).result()

    def __enter__(self) -> StatementWorker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        # After a failure here the pieces not started yet are dropped; the ones running are
        # waited for either way.
        self._pool.shutdown(wait=True, cancel_futures=error is not None)
        if error is None and self._failure is not None:
            raise self._failure
