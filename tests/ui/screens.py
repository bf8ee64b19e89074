"""Small helpers shared by the AppTest and browser tests of the screens."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL

from billing_core.access import Role
from db.demo_data import DEMO_PASSWORD
from tests.helpers import committed_session

REPO_ROOT = Path(__file__).resolve().parents[2]
# The demo account of each role (db.demo_data.DEMO_ACCOUNTS), all with DEMO_PASSWORD.
DEMO_USERS = {Role.FINANCE: "finance@demo", Role.CUSTOMER_SUCCESS: "cs@demo",
              Role.MANAGER: "manager@demo"}
# Every screen, as a direct link opens it: the script and its URL path.
PAGES = [("Home.py", "/"), ("pages/1_Invoices.py", "/Invoices"), ("pages/2_Invoice.py", "/Invoice"),
         ("pages/3_Preview.py", "/Preview"), ("pages/4_Credits.py", "/Credits"),
         ("pages/5_Cost_allocation.py", "/Cost_allocation"),
         ("pages/6_Month_end.py", "/Month_end"), ("pages/7_Tenant.py", "/Tenant"),
         ("pages/8_Audit_log.py", "/Audit_log"),
         ("pages/9_Reconciliation.py", "/Reconciliation"), ("pages/10_Usage.py", "/Usage")]


def url_text(url: URL) -> str:
    """The URL as a string a child process can use (SQLAlchemy masks passwords by default)."""
    return url.render_as_string(hide_password=False)


def let_sign_in_waits_pass(url: URL, seconds: int) -> None:
    """Every sign-in wait ends `seconds` earlier, as if that much time had passed."""
    with committed_session(url) as session:
        session.execute(text("UPDATE sign_in_throttle SET locked_until = locked_until - "
                             "make_interval(secs => :s) WHERE locked_until IS NOT NULL"),
                        {"s": seconds})


def open_in_browser(page, path: str, as_role: Role | str | None = Role.FINANCE,
                    email: str | None = None) -> None:
    """Open a screen by direct link, sign in through the real form (as the demo user of
    `as_role`, or `email`; None stays signed out), and wait until Streamlit has run the screen.

    A direct link starts a new Streamlit session, which the browser's sign-in cookie signs
    in again (ledgerline_ui/shell/session_cookie.py): the form is filled only when the screen asks,
    after signing out whoever the cookie signed in if that is someone else."""
    page.goto(path)
    page.wait_for_selector('[data-testid="stMain"]')
    wait_until_idle(page)
    if as_role is None and email is None:
        return
    wanted = email or DEMO_USERS[Role(as_role)]
    if page.get_by_text(re.compile(rf"Signed in as {re.escape(wanted)}(\s|$)")).count():
        return
    if page.get_by_role("button", name="Sign out").count():
        page.get_by_role("button", name="Sign out").click()
        wait_until_idle(page)
    sign_in(page, wanted, DEMO_PASSWORD)
    page.get_by_role("heading", name="Sign in", exact=True).wait_for(state="detached")
    wait_until_idle(page)


def sign_in(page, email: str, password: str) -> None:
    """Fill the sign-in form and submit it."""
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    wait_until_idle(page)


# Idle: connected, not running, and every run the page asked for is over and drawn (pages
# made by tests.ui.browser.harness.new_page count them; see tests/ui/browser/script_runs.js).
_IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const runs = window.__ledgerlineScriptRuns;
    return app !== null && app.getAttribute("data-test-connection-state") === "CONNECTED"
        && app.getAttribute("data-test-script-state") === "notRunning"
        && (runs === undefined || runs.finished >= runs.requested);
}"""


def wait_until_idle(page) -> None:
    """Wait until Streamlit has run every script run the page asked for, and drawn it (up to
    the page's default timeout: tests.ui.browser.harness.WAIT_MS)."""
    page.wait_for_function(_IDLE)
