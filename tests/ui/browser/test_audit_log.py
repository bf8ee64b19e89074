"""Audit log in the browser, opened by direct link with a tenant filter."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.ui.screens import open_in_browser


def test_audit_log_filters_by_the_linked_tenant(page):
    open_in_browser(page, "/Audit_log?tenant=ent-umbrella")
    page.get_by_text("Page 1 · entries").wait_for()
    expect(page.get_by_label("Tenant id")).to_have_value("ent-umbrella")
    # Newest first: the outage credit, its after-values readable, money formatted.
    expect(page.get_by_role("combobox", name="Entry")).to_have_value(
        re.compile(r"credit\.issued · credit 1 · finance@demo$"))
    expect(page.get_by_text("idempotency key: umbrella-outage-2024-11-12")).to_be_visible()
    expect(page.get_by_text("amount: $200.00")).to_be_visible()
