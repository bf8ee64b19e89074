"""Sign-in in the browser: every direct link shows only the sign-in form until someone signs in."""

from __future__ import annotations

import uuid

import pytest

from db.demo_data import DEMO_PASSWORD
from tests.ui.screens import PAGES, open_in_browser, sign_in, wait_until_idle

HEADINGS = {"/": "Ledgerline", "/Invoices": "Invoices", "/Invoice": "Invoice",
            "/Preview": "Price preview", "/Credits": "Credits",
            "/Cost_allocation": "Cost allocation", "/Month_end": "Month-end run",
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
    for testid in ("stDataFrame", "stMetric", "stSelectbox", "stTabs", "stException"):
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


def test_a_wrong_password_shows_an_error_and_repeated_ones_are_slowed(page):
    email = f"guess-{uuid.uuid4().hex[:8]}@demo"
    open_in_browser(page, "/", as_role=None)
    sign_in(page, email, "not the password")
    page.get_by_text("Email or password is wrong.").wait_for()
    sign_in(page, email, "not the password")
    sign_in(page, email, "not the password")
    page.get_by_text("Too many wrong passwords for this email. Try again in 2 seconds.").wait_for()
    assert page.get_by_role("heading", name="Sign in", exact=True).is_visible()


def test_a_manager_sees_the_allocation_charts_but_no_month_end_button(page):
    open_in_browser(page, "/Month_end", as_role="manager")
    page.get_by_role("heading", name="Month-end run", exact=True).wait_for()
    page.get_by_text("Only finance runs month-end").wait_for()
    assert not page.get_by_role("button", name="Dry run").count()
    open_in_browser(page, "/Cost_allocation", as_role="manager")
    page.get_by_role("heading", name="Cost allocation", exact=True).wait_for()
