"""AppTest harness: run a screen script in-process against the demo database.

Every page is opened directly (as a direct link would), never through `app.py`,
because Streamlit runs a page file on its own (see STYLE.md on `pages/`).

Screens open signed in as the demo finance user unless told otherwise:
`open_screen(..., as_role="manager")` signs in as manager@demo,
`as_actor=Actor("finance2@demo", Role.FINANCE)` as anyone, `as_role=None` signed out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import URL
from streamlit.testing.v1 import AppTest

from billing_core.access import Actor, Role
from tests.ui.screens import DEMO_USERS, REPO_ROOT, url_text


@pytest.fixture(scope="session")
def _screens_database(demo_database_url: URL) -> Iterator[URL]:
    import os

    import db.database

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url_text(demo_database_url)
    os.environ["LEDGERLINE_DEMO"] = "0"
    db.database._engine = None
    db.database._sessionmaker = None
    yield demo_database_url
    from db.jobs import stop_background_workers

    stop_background_workers()  # the screens' job worker, before its database is dropped
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous


@pytest.fixture
def open_screen(_screens_database: URL) -> Callable[..., AppTest]:
    """`open_screen("pages/3_Preview.py", query={"tenant": "ent-initech"})` -> a rendered
    AppTest."""

    def open_(script: str, query: dict[str, str] | None = None, timeout: float = 30, *,
              as_role: Role | str | None = Role.FINANCE, as_actor: Actor | None = None) -> AppTest:
        from ledgerline_ui.shell.setup import ACTOR_KEY

        app = AppTest.from_file(str(REPO_ROOT / script), default_timeout=timeout)
        for key, value in (query or {}).items():
            app.query_params[key] = value
        if as_actor is None and as_role is not None:
            as_actor = Actor(DEMO_USERS[Role(as_role)], Role(as_role))
        if as_actor is not None:
            app.session_state[ACTOR_KEY] = as_actor
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        return app

    return open_
