"""A first start in the browser: on an empty database without `LEDGERLINE_DEMO=1` every link
shows how to create the first finance user, not a sign-in form nobody could use."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.ui.browser.harness import served
from tests.ui.screens import url_text, wait_until_idle

FIRST_USER_COMMAND = (".venv/bin/python -m db.users create --email you@example.com "
                      '--name "Your name" --role finance')


@pytest.fixture
def first_start_url(_chromium, fresh_engine, tmp_path) -> Iterator[str]:
    """The app served on an empty database of its own (as a first start, no demo data asked)."""
    env = {key: value for key, value in os.environ.items() if key != "LEDGERLINE_DEMO"}
    env["DATABASE_URL"] = url_text(fresh_engine.url)
    with served("app.py", env, tmp_path / "server.log") as base_url:
        yield base_url


def test_a_first_start_shows_the_command_for_the_first_user(open_page, first_start_url,
                                                            fresh_engine):
    page = open_page(base_url=first_start_url)
    for path in ("/", "/Credits"):
        page.goto(path)
        page.get_by_role("heading", name="No user yet", exact=True).wait_for()
        wait_until_idle(page)
        assert page.locator('[data-testid="stCode"]').inner_text().strip() == FIRST_USER_COMMAND
        main = page.locator('[data-testid="stMain"]')
        assert main.locator("input").count() == 0, "a sign-in form nobody can use"
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
    with fresh_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
