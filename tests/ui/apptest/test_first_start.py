"""A first start without `LEDGERLINE_DEMO=1` creates no account (no public demo password) and,
instead of a sign-in form nobody could use, says how to create the first finance user."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

import db.database
from billing_core.access import Role
from db.users import create_user
from ledgerline_ui.shell import setup
from tests.ui.screens import REPO_ROOT

FIRST_USER_COMMAND = (".venv/bin/python -m db.users create --email you@example.com "
                      '--name "Your name" --role finance')


@pytest.fixture
def first_start(fresh_engine, monkeypatch):
    """The app as it first starts on the embedded server (no DATABASE_URL, no LEDGERLINE_DEMO),
    on this test's own empty database instead of `.pgdata/`."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("LEDGERLINE_DEMO", raising=False)
    monkeypatch.setattr(db.database, "database_url", lambda: fresh_engine.url)
    monkeypatch.setattr(db.database, "_engine", None)
    setup._sessions.clear()  # the app's cached sessionmaker belongs to another database
    yield fresh_engine
    if db.database._engine is not None:
        db.database._engine.dispose()
    setup._sessions.clear()


def _open(script: str) -> AppTest:
    app = AppTest.from_file(str(REPO_ROOT / script), default_timeout=120)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.mark.parametrize("script", ["Home.py", "pages/1_Invoices.py"])
def test_a_first_start_creates_no_user_and_says_how_to_create_the_first_one(first_start, script):
    app = _open(script)
    assert [t.value for t in app.title] == ["No user yet"]
    assert [c.value for c in app.code] == [FIRST_USER_COMMAND]
    assert not list(app.text_input), "a sign-in form nobody can use"
    assert not list(app.dataframe)
    with Session(first_start) as session:
        assert session.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
        assert session.execute(text("SELECT count(*) FROM tenants")).scalar_one() == 0


def test_once_the_first_user_exists_the_sign_in_form_is_shown(first_start):
    app = _open("Home.py")
    with Session(first_start) as session, session.begin():
        create_user(session, "ana@example.com", Role.FINANCE, "a long enough password")
    app.run()
    assert [t.value for t in app.title] == ["Sign in"]
    assert [t.label for t in app.text_input] == ["Email", "Password"]
