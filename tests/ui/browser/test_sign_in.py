"""Sign-in in the browser: every direct link shows only the sign-in form until someone signs in."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import text

from billing_core.access import MAX_EMAIL_SIGN_IN_WAIT_SECONDS, Role
from db.database import make_engine
from db.demo_data import DEMO_PASSWORD
from db.users import client_throttle_key, create_user
from tests.helpers import committed_session
from tests.ui.screens import (
    PAGES,
    let_sign_in_waits_pass,
    open_in_browser,
    sign_in,
    wait_until_idle,
)

TOO_MANY = "Too many wrong passwords for this email or from your network. Try again in"

HEADINGS = {"/": "Ledgerline", "/Invoices": "Invoices", "/Invoice": "Invoice",
            "/Preview": "Price preview", "/Credits": "Credits",
            "/Cost_allocation": "Cost allocation", "/Month_end": "Month end run",
            "/Tenant": "Tenant", "/Audit_log": "Audit log", "/Reconciliation": "Reconciliation"}


@pytest.mark.parametrize("path", [path for _, path in PAGES], ids=[path for _, path in PAGES])
def test_a_signed_out_visitor_sees_only_the_sign_in_form(page, path):
    open_in_browser(page, f"{path}?tenant=ent-umbrella", as_role=None)
    main = page.locator('[data-testid="stMain"]')
    page.get_by_role("heading", name="Sign in", exact=True).wait_for()
    page.get_by_label("Password", exact=True).wait_for()
    page.get_by_role("button", name="Sign in", exact=True).wait_for()
    assert main.get_by_role("heading").all_inner_texts() == ["Sign in"]
    assert main.locator("input").count() == 2  # email and password
    # besides "Sign in", only the password field's show/hide toggle
    assert [b for b in main.get_by_role("button").all_inner_texts() if b != "visibility"] == [
        "Sign in"]
    for testid in ("stDataFrame", "stTable", "stMetric", "stSelectbox", "stTabs",
                   "stException"):
        assert not page.locator(f'[data-testid="{testid}"]').count(), testid
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert "umbrella" not in main.inner_text().lower()


def test_signing_in_shows_the_linked_page_and_signing_out_ends_it(page):
    open_in_browser(page, "/Credits?tenant=ent-umbrella", as_role=None)
    sign_in(page, "cs@demo", DEMO_PASSWORD)
    page.get_by_role("heading", name="Credits", exact=True).wait_for()
    page.get_by_role("tab", name="Request credit").wait_for()
    page.get_by_text("Signed in as cs@demo").wait_for()

    page.get_by_role("button", name="Sign out").click()
    wait_until_idle(page)
    page.get_by_role("heading", name="Sign in", exact=True).wait_for()
    page.get_by_text("You signed out.").wait_for()
    assert not page.locator('[data-testid="stDataFrame"]').count()


@pytest.fixture
def page_from(open_page) -> Callable[[str], object]:
    """`page_from("192.0.2.7")`: a page whose connections say they come from that address
    (the test's browser is on 127.0.0.1, a proxy uvicorn trusts, so it takes X-Forwarded-For
    as a reverse proxy in front of the app would send it: docs/deployment.md)."""
    return lambda address: open_page(extra_http_headers={"X-Forwarded-For": address})


def _wait_until_counted(url, key: str, failures: int) -> None:
    """Until the server has stored `failures` wrong attempts for `key` (a run can finish after
    the page looks idle; the next step moves the clock and must come after it)."""
    engine = make_engine(url)
    deadline = time.monotonic() + 30
    try:
        while True:
            with engine.connect() as connection:
                stored = connection.execute(text(
                    "SELECT failed_attempts FROM sign_in_throttle WHERE email = :k"),
                    {"k": key}).scalar()
            if stored == failures or time.monotonic() > deadline:
                assert stored == failures, (key, stored, failures)
                return
            time.sleep(0.1)
    finally:
        engine.dispose()


def _new_user(url) -> str:
    email = f"owner-{uuid.uuid4().hex[:8]}@demo"
    with committed_session(url) as session:
        create_user(session, email, Role.MANAGER, DEMO_PASSWORD)
    return email


def test_a_wrong_password_shows_an_error_and_repeated_ones_are_slowed(page_from):
    page = page_from("192.0.2.41")
    email = f"guess-{uuid.uuid4().hex[:8]}@demo"
    open_in_browser(page, "/", as_role=None)
    sign_in(page, email, "not the password")
    page.get_by_text("Email or password is wrong.").wait_for()
    sign_in(page, email, "not the password")
    sign_in(page, email, "not the password")
    page.get_by_text(f"{TOO_MANY} 2 seconds.").wait_for()
    assert page.get_by_role("heading", name="Sign in", exact=True).is_visible()


def test_a_strangers_wrong_passwords_do_not_keep_the_owner_out(page_from, demo_database_url):
    owner = _new_user(demo_database_url)
    stranger = page_from("192.0.2.42")
    open_in_browser(stranger, "/", as_role=None)
    for guess in range(1, 9):  # each after the last wait: the stranger's own wait reaches 64 s
        let_sign_in_waits_pass(demo_database_url, 3600)
        sign_in(stranger, owner, "not the password")
        _wait_until_counted(demo_database_url, client_throttle_key("192.0.2.42"), guess)
    stranger.get_by_text(f"{TOO_MANY} 64 seconds.").wait_for()

    # the email's wait is over
    let_sign_in_waits_pass(demo_database_url, MAX_EMAIL_SIGN_IN_WAIT_SECONDS)
    at_the_owners_desk = page_from("198.51.100.42")
    open_in_browser(at_the_owners_desk, "/Invoices", email=owner)
    at_the_owners_desk.get_by_role("heading", name="Invoices", exact=True).wait_for()
    at_the_owners_desk.get_by_text(f"Signed in as {owner}").wait_for()
    # The stranger still waits out the rest of their 64 s, even with the right password.
    sign_in(stranger, owner, DEMO_PASSWORD)
    stranger.get_by_text(re.compile(re.escape(TOO_MANY) + r" ([1-9]|[12]\d|3[0-4]) seconds?\.")
                         ).wait_for()
    assert stranger.get_by_role("heading", name="Sign in", exact=True).is_visible()


def test_a_manager_sees_the_allocation_charts_but_no_month_end_button(page):
    open_in_browser(page, "/Month_end", as_role="manager")
    page.get_by_role("heading", name="Month end run", exact=True).wait_for()
    page.get_by_text("Only finance runs month end").wait_for()
    assert not page.get_by_role("button", name="Dry run").count()
    open_in_browser(page, "/Cost_allocation", as_role="manager")
    page.get_by_role("heading", name="Cost allocation", exact=True).wait_for()
