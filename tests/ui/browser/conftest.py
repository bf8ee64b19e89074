"""Browser fixtures: the real app served by `streamlit run`, driven in headless Chromium.

Chromium is Debian's (`/usr/bin/chromium`); Playwright only drives it and never
downloads a browser. Without it these tests skip, except where
`LEDGERLINE_REQUIRE_BROWSER=1` (CI), where a missing browser is a failure.
Servers and pages come from harness.py; every wait is limited by its WAIT_MS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy.engine import URL

from tests.ui.browser.harness import WAIT_MS, new_page, served
from tests.ui.screens import url_text

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

expect.set_options(timeout=WAIT_MS)  # Playwright's own default is 5 s


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def _chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("LEDGERLINE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def app_url(_chromium: Path, demo_database_url: URL, tmp_path_factory) -> Iterator[str]:
    """Base URL of the app served on 127.0.0.1 against the demo database."""
    env = {**os.environ, "DATABASE_URL": url_text(demo_database_url), "LEDGERLINE_DEMO": "0"}
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with served("app.py", env, log) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser(_chromium: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(_chromium), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, request) -> Iterator[Callable[..., object]]:
    """`open_page()`: a new page on the app, in a browser context of its own (closed after the
    test); `open_page(base_url=..., extra_http_headers=...)` passes context options on."""
    pages = []

    def open_(**context_options):
        if "base_url" not in context_options:
            context_options["base_url"] = request.getfixturevalue("app_url")
        page = new_page(browser, **context_options)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.context.close()


@pytest.fixture
def page(open_page) -> object:
    return open_page()
