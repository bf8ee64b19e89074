"""Tenant in the browser, opened by direct link."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.ui.screens import open_in_browser, wait_until_idle


def test_tenant_page_explains_the_acme_upgrade(page):
    open_in_browser(page, "/Tenant?tenant=ent-acme-corp")
    page.get_by_text("From 2024-11-16 the tenant was on Compute tier ($1,000.00/month): "
                     "15 of 30 days = $500.00.").wait_for()
    expect(page.get_by_role("heading", name="Acme Corp (ent-acme-corp)")).to_be_visible()



def test_opening_an_invoice_from_the_tenant_keeps_the_sign_in(page):
    open_in_browser(page, "/Tenant?tenant=ent-umbrella")
    link = page.get_by_role("link", name="Open invoice")
    link.wait_for()
    link.click()
    page.wait_for_url("**/Invoice?**")
    wait_until_idle(page)
    # Still signed in: the invoice itself, and the sidebar naming the user, not a sign-in form.
    # (The screen opens on the invoice in dispute: umbrella's paid October.)
    page.get_by_role("heading", name="Invoice INV-").first.wait_for()
    page.get_by_text("Signed in as").first.wait_for()
    assert "tenant=ent-umbrella" in page.url
    assert page.get_by_role("heading", name="Sign in", exact=True).count() == 0
