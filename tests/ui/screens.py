"""Small helpers shared by the AppTest and browser tests of the screens."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL

REPO_ROOT = Path(__file__).resolve().parents[2]


def url_text(url: URL) -> str:
    """The URL as a string a child process can use (SQLAlchemy masks passwords by default)."""
    return url.render_as_string(hide_password=False)


def open_in_browser(page, path: str) -> None:
    """Open a screen by direct link and wait until Streamlit has finished running it."""
    page.goto(path)
    page.wait_for_selector('[data-testid="stMain"]')
    wait_until_idle(page)


def wait_until_idle(page) -> None:
    """Streamlit shows its status widget while a script runs; wait for it to go."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)
    page.wait_for_timeout(200)
