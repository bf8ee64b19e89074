"""The database goes away under the real app: screens and buttons say so in one message (never
Streamlit's "This app has encountered an error"), and Retry works once it is back, without
restarting Streamlit.

Each test serves the app on a PostgreSQL server of its own that it stops and starts again
(tests/stoppable_database.py); the demo server the other browser tests use stays up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from ledgerline_ui.shell.outage import OUTAGE_MESSAGE, RETRY_KEY
from tests.stoppable_database import (
    FINANCE_EMAIL,
    FINANCE_PASSWORD,
    StoppableDatabase,
    stoppable_database,
)
from tests.ui.browser.harness import served
from tests.ui.finance_data import scalar
from tests.ui.screens import sign_in, url_text, wait_until_idle

STREAMLIT_ERROR_BOX = "This app has encountered an error"
WAIT_MS = 60_000


@pytest.fixture
def database() -> Iterator[StoppableDatabase]:
    with stoppable_database() as database:
        yield database


@pytest.fixture
def app_url(_chromium, database: StoppableDatabase, tmp_path) -> Iterator[str]:
    """The app served on the test's own database (nothing read from it until a page opens)."""
    env = {**os.environ, "DATABASE_URL": url_text(database.url), "LEDGERLINE_DEMO": "0"}
    with served("app.py", env, tmp_path / "server.log") as base_url:
        yield base_url


@pytest.fixture
def page(open_page):
    page = open_page()
    page.set_default_timeout(WAIT_MS)
    return page


def _assert_the_outage_message(page) -> None:
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text(OUTAGE_MESSAGE, exact=True).wait_for()
    wait_until_idle(page)
    errors = main.locator('[data-testid="stAlertContentError"] [data-testid="stMarkdownContainer"]')
    assert errors.all_inner_texts() == [OUTAGE_MESSAGE]
    expect(page.locator(f".st-key-{RETRY_KEY} button")).to_be_visible()
    assert not page.locator('[data-testid="stException"]').count()
    assert STREAMLIT_ERROR_BOX not in main.inner_text()


def _retry(page) -> None:
    page.locator(f".st-key-{RETRY_KEY} button").click()
    page.get_by_text(OUTAGE_MESSAGE, exact=True).wait_for(state="detached")
    wait_until_idle(page)


def _heading(page, name: str):
    return page.get_by_role("heading", name=name, exact=True)


def test_a_stopped_database_is_named_on_a_click_and_retry_works_once_it_is_back(page,
                                                                                database):
    page.goto("/Reconciliation")
    sign_in(page, FINANCE_EMAIL, FINANCE_PASSWORD)
    _heading(page, "Reconciliation").wait_for()
    wait_until_idle(page)
    page.get_by_text("Import a legacy billing file").click()
    load_sample = page.get_by_role("button", name="Load the sample file (the six incident "
                                                  "symptoms)")
    load_sample.wait_for()

    database.stop()
    load_sample.click()  # a button that writes
    _assert_the_outage_message(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Invoices").click()
    _assert_the_outage_message(page)  # a screen that reads

    database.start()
    _retry(page)
    _heading(page, "Invoices").wait_for()
    page.locator(".st-key-sign_out button").wait_for()  # still signed in
    assert not page.get_by_text(STREAMLIT_ERROR_BOX).count()
    assert scalar(database.url, "SELECT count(*) FROM legacy_imports") == 0


def test_a_first_start_while_the_database_is_down_says_so_and_starts_once_it_is_back(
        page, database):
    database.stop()
    page.goto("/")
    _assert_the_outage_message(page)
    assert not page.locator('[data-testid="stMain"] input').count()

    database.start()
    _retry(page)
    _heading(page, "Sign in").wait_for()
    sign_in(page, FINANCE_EMAIL, FINANCE_PASSWORD)
    _heading(page, "Ledgerline").wait_for()
