"""Tenant in the browser, opened by direct link."""

from __future__ import annotations

from tests.ui.screens import open_in_browser


def test_tenant_page_explains_the_acme_upgrade(page):
    open_in_browser(page, "/Tenant?tenant=ent-acme-corp")
    page.get_by_text("From 2024-11-16 the tenant was on Compute tier ($1,000.00/month): "
                     "15 of 30 days = $500.00.").wait_for()
    assert page.get_by_role("heading", name="Acme Corp (ent-acme-corp)").is_visible()

