"""Fixtures for the screens: one demo database that every screen test reads.

The screens are tested on the data a new user sees (SPEC's incident tenants and
the synthetic ones), loaded once per session into a scratch database cloned from
the migrated template. Tests that change data pick rows no other test uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

UI_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if UI_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def demo_database_url(_database_server: URL, _template_database: URL) -> Iterator[URL]:
    """A migrated database holding the demo data, shared by every screen test."""
    import uuid

    from sqlalchemy import create_engine

    from db.database import make_engine
    from db.demo_data import load_demo_data

    name = f"ledgerline_ui_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_database_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f'CREATE DATABASE "{name}" TEMPLATE "{_template_database.database}"')
    url = _database_server.set(database=name)
    engine = make_engine(url)
    load_demo_data(engine)  # it owns its transactions (the month end run commits in batches)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
