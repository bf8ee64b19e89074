"""Issue 16's walk-through in Chromium at 1440x900: each test is one thing that tripped a new
user, and failed before its fix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from tests.ui.finance_data import add_draft_invoice
from tests.ui.screens import open_in_browser, wait_until_idle


@pytest.fixture
def page(open_page):
    return open_page(viewport={"width": 1440, "height": 900})


def test_an_invoice_found_by_the_invoice_screens_search_stays_open_for_its_actions(
        page, demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-trip-search")
    open_in_browser(page, "/Invoice")
    page.get_by_label("Tenant", exact=True).fill(tenant_id)
    page.get_by_label("Tenant", exact=True).press("Enter")
    wait_until_idle(page)
    page.get_by_text(re.compile(rf"#{invoice_id} · 2024-11")).click()
    wait_until_idle(page)
    page.get_by_role("heading", name=f"Draft invoice #{invoice_id}").wait_for()

    page.get_by_role("button", name="Void…").click()
    wait_until_idle(page)
    page.get_by_role("button", name="Confirm: void").wait_for()
    assert f"invoice={invoice_id}" in page.url and f"tenant={tenant_id}" in page.url


def test_a_bad_months_error_replaces_the_previous_dry_runs_result(page):
    open_in_browser(page, "/Month_end")
    period = page.get_by_label("Period (month)")
    period.fill("2023-04")
    period.press("Enter")
    wait_until_idle(page)
    page.get_by_role("button", name="Dry run").click()
    wait_until_idle(page)
    page.get_by_role("heading", name="Dry run: what would happen").wait_for()

    period.fill("2024-13")
    period.press("Enter")
    wait_until_idle(page)
    page.get_by_role("button", name="Dry run").click()
    wait_until_idle(page)
    page.get_by_text("period: '2024-13' is not a month like 2024-01").wait_for()
    assert not page.get_by_role("heading", name="Dry run: what would happen").count()


def test_a_refused_run_leaves_no_confirmation_box_behind(page, demo_database_url):
    open_in_browser(page, "/Month_end")
    period = page.get_by_label("Period (month)")
    period.fill("2023-03")
    period.press("Enter")
    wait_until_idle(page)
    page.get_by_role("button", name="Run month-end…").click()
    wait_until_idle(page)
    with holding_month_end_lock(demo_database_url, "2023-03"):  # as a run under way does
        page.get_by_role("button", name="Confirm: run month-end 2023-03").click()
        wait_until_idle(page)
    page.get_by_text("A month-end run for 2023-03 is already in progress", exact=False).wait_for()
    assert not page.get_by_text("Run month-end for 2023-03?").count()
    assert not page.get_by_role("button", name="Confirm: run month-end 2023-03").count()


@contextmanager
def holding_month_end_lock(url, month: str) -> Iterator[None]:
    """A real connection holds the month's run lock (db.month_end) while the block runs."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(hashtext(:key))"),
                               {"key": f"ledgerline.month_end:{month}"})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"),
                                   {"key": f"ledgerline.month_end:{month}"})
    finally:
        engine.dispose()
