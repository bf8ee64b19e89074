"""`python -m api [--host 127.0.0.1] [--port 8000] [--workers N]`: serve the API on the app's
database (`DATABASE_URL`, else the embedded server in `.pgdata/`), migrated to head first.

One process runs Python on one core at a time; `--workers N` starts N processes on the same
port (each with its own Engine and reading pool), `--workers 1` serves from this process alone.

The default is half the cores this process may run on, at least one: PostgreSQL runs beside
the API (a read spends about 0.15 ms of CPU in its backend for 0.25 ms in the API), and so may
the clients. On this 2-core machine, with the load generator on it too, one worker answered
2,700-3,300 invoice reads a second with p99 17-29 ms; two answered hardly more (2,900-3,700)
with p99 25-94 ms: three busy processes take turns on two cores, and the worker that accepted
more of the connections answers them later. Where PostgreSQL and the clients have cores of
their own, give the API one worker per core."""

from __future__ import annotations

import argparse
import gc
import os
from typing import Any

import uvicorn

from api.app import serving_app
from api.usage_lane import UsageLane
from db.database import ensure_ready, make_engine

SERVER_OPTIONS: dict[str, Any] = {
    # The C parser and libuv loop (requirements.txt): a read spends about a third less CPU
    # than on uvicorn's pure-Python h11 and asyncio's loop.
    "http": "httptools", "loop": "uvloop",
    "log_level": "warning", "access_log": False,
}


CHANGING_CONNECTIONS = 15
"""Connections each API process keeps for its changes: as many as SQLAlchemy's default most
(5 kept, 10 more opened when needed), but all kept. A request beyond the five kept opened a
backend of its own and closed it after: with 8 usage senders, about 3 ms more CPU a batch
(docs/api.md). A request beyond fifteen waits in the pool, not in PostgreSQL."""


GARBAGE_THRESHOLDS = (10_000, 50, 100)
"""Python's cycle collector, run less often than its default (700, 10, 10). A usage batch of
1,000 events makes some ten thousand short-lived containers (the decoded events, their
results), which set off a dozen young collections and, now and then, one of everything: in
one thread, 400 batches, the API's Python spent 6.3-6.5 ms a batch by default, 5.1 with
these thresholds, 5.0 with the collector off. The requests' objects are freed by their
reference counts; what cycles they leave waits a little longer."""


def serve_app() -> UsageLane:
    """The app on the process's own Engine (uvicorn calls this in every worker)."""
    migrated = ensure_ready()
    migrated.dispose()  # the migration's connection: this process changes through its own pool
    app = serving_app(make_engine(migrated.url, pool_size=CHANGING_CONNECTIONS,
                                  max_overflow=0))
    # What is loaded by now (modules, the app, its routes) lives as long as the process: the
    # collector leaves it out of every collection from here on.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GARBAGE_THRESHOLDS)
    return app


def default_workers() -> int:
    """Half the cores this process may run on, at least one (see above)."""
    return max(1, len(os.sched_getaffinity(0)) // 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="server processes (default: half the cores, here %(default)s)")
    args = parser.parse_args(argv)
    if args.workers == 1:
        uvicorn.run(serve_app(), host=args.host, port=args.port, **SERVER_OPTIONS)
        return
    ensure_ready()  # migrate once, before the workers start
    uvicorn.run("api.__main__:serve_app", factory=True, workers=args.workers, host=args.host,
                port=args.port, **SERVER_OPTIONS)


if __name__ == "__main__":
    main()
