"""Audit log in the browser, opened by direct link with a tenant filter."""

from __future__ import annotations

from tests.ui.screens import open_in_browser


def test_audit_log_filters_by_the_linked_tenant(page):
    open_in_browser(page, "/Audit_log?tenant=ent-umbrella")
    assert page.get_by_label("Tenant id").input_value() == "ent-umbrella"
    page.get_by_text("Before and after").wait_for()
    page.get_by_text("Page 1 · entries").wait_for()
