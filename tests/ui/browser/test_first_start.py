"""A first start in the browser: on an empty database without `LEDGERLINE_DEMO=1` every link
shows how to create the first finance user, not a sign-in form nobody could use."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.ui.browser.conftest import _free_port, _wait_until_healthy
from tests.ui.screens import REPO_ROOT, url_text, wait_until_idle

FIRST_USER_COMMAND = (".venv/bin/python -m db.users create --email you@example.com "
                      '--name "Your name" --role finance')


@pytest.fixture
def first_start_url(_chromium, fresh_engine, tmp_path) -> Iterator[str]:
    """The app served on an empty database of its own (as a first start, no demo data asked)."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != "LEDGERLINE_DEMO"}
    env["DATABASE_URL"] = url_text(fresh_engine.url)
    with (tmp_path / "server.log").open("w") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, server, seconds=60)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def test_a_first_start_shows_the_command_for_the_first_user(browser, first_start_url,
                                                            fresh_engine):
    context = browser.new_context(base_url=first_start_url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        for path in ("/", "/Credits"):
            page.goto(path)
            page.get_by_role("heading", name="No user yet", exact=True).wait_for()
            wait_until_idle(page)
            assert page.locator('[data-testid="stCode"]').inner_text().strip() == (
                FIRST_USER_COMMAND)
            main = page.locator('[data-testid="stMain"]')
            assert main.locator("input").count() == 0, "a sign-in form nobody can use"
            assert not page.locator('[data-testid="stSidebar"]').is_visible()
    finally:
        context.close()
    with fresh_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
