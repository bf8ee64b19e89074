"""A sign-in survives a reload and a typed link (issue 16, item 8): a server-side session whose
token the browser keeps in an HttpOnly, SameSite=Strict cookie that lasts the idle limit;
signing out, deactivation and a role change end it."""

from __future__ import annotations

import time
import uuid

from billing_core.access import Role
from db.demo_data import DEMO_PASSWORD
from db.users import create_user
from ledgerline_ui.shell.idle_limit import DEFAULT_IDLE_MINUTES
from ledgerline_ui.shell.session_cookie import COOKIE_NAME
from tests.helpers import committed_session
from tests.ui.finance_data import execute, rows
from tests.ui.screens import open_in_browser, wait_until_idle


def _session_cookie(page) -> dict:
    """The sign-in cookie, once the browser has it (the page fetches it after signing in)."""
    page.wait_for_function("() => true")
    deadline = time.monotonic() + 30
    while True:
        cookies = [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]
        if cookies or time.monotonic() > deadline:
            assert cookies, "no sign-in cookie within 30 s"
            return cookies[0]
        page.wait_for_timeout(100)  # the pause between two looks, not the wait


def _new_user(url, role: Role) -> str:
    email = f"reload-{uuid.uuid4().hex[:8]}@demo"
    with committed_session(url) as session:
        create_user(session, email, role, DEMO_PASSWORD)
    return email


def _expect_signed_in(page, heading: str, email: str) -> None:
    page.get_by_role("heading", name=heading, exact=True).wait_for()
    page.get_by_text(f"Signed in as {email}").wait_for()


def _expect_sign_in_form(page) -> None:
    page.get_by_role("heading", name="Sign in", exact=True).wait_for()
    assert not page.locator('[data-testid="stDataFrame"]').count()


def test_a_reload_and_a_typed_link_keep_the_sign_in(page, demo_database_url):
    email = _new_user(demo_database_url, Role.MANAGER)
    open_in_browser(page, "/Invoices", email=email)
    cookie = _session_cookie(page)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/")
    assert abs(cookie["expires"] - time.time() - DEFAULT_IDLE_MINUTES * 60) < 120
    stored = _stored_sessions(demo_database_url, email)
    assert cookie["value"].encode() not in stored  # the server keeps only a hash

    page.reload()
    wait_until_idle(page)
    _expect_signed_in(page, "Invoices", email)
    page.goto("/Audit_log")  # as typed into the address bar
    wait_until_idle(page)
    _expect_signed_in(page, "Audit log", email)

    page.get_by_role("button", name="Sign out").click()
    wait_until_idle(page)
    _expect_sign_in_form(page)
    page.reload()
    wait_until_idle(page)
    _expect_sign_in_form(page)


def test_deactivation_and_a_role_change_end_the_sign_in_at_the_next_reload(
        open_page, demo_database_url):
    for change in ("UPDATE users SET is_active = false WHERE email = :email",
                   "UPDATE users SET role = 'customer_success' WHERE email = :email"):
        page = open_page()
        email = _new_user(demo_database_url, Role.MANAGER)
        open_in_browser(page, "/Invoices", email=email)
        _session_cookie(page)
        execute(demo_database_url, change, email=email)
        page.reload()
        wait_until_idle(page)
        _expect_sign_in_form(page)


def _stored_sessions(url, email: str) -> bytes:
    """Everything the server stores about the email's sessions, as bytes."""
    return repr(rows(url, "SELECT * FROM web_sessions WHERE email = :e", e=email)).encode()
