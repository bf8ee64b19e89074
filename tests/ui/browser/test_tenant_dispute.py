"""The Tenant screen for a dispute, in the browser (issue 16 B): it opens on the invoice in
dispute, the customer's explanation copies as plain text, waiting requests show, and an invoice
opens by a click, signed in still."""

from __future__ import annotations

import uuid

from tests.actors import customer_success
from tests.helpers import committed_session, usd
from tests.ui.screens import open_in_browser, wait_until_idle
from tests.ui.synthetic import add_disputed_tenant


def test_a_dispute_opens_on_the_paid_invoice_with_a_message_to_copy(page, demo_database_url):
    from db.credit_requests import request_credit

    tenant = add_disputed_tenant(demo_database_url, "ui-browser-dispute")  # Oct paid, Nov draft
    with committed_session(demo_database_url) as session:
        request_credit(session, tenant.tenant_id, usd("60.00"), "Late invoice",
                       actor=customer_success("cs@demo"),
                       idempotency_key=f"test-{uuid.uuid4().hex}")
    open_in_browser(page, f"/Tenant?tenant={tenant.tenant_id}", as_role="customer_success")

    message = page.get_by_test_id("stCode")
    message.get_by_text(f"Hello {tenant.name},", exact=False).wait_for()
    text = message.inner_text()
    assert "for 2024-10 was calculated" in text  # October, paid: the bill the customer has
    assert "For the whole period you were on Compute tier ($1,000.00/month): $1,000.00." in text
    assert "the tenant" not in text
    page.get_by_text("Late invoice", exact=True).wait_for(state="attached")

    page.get_by_role("link", name="draft 2024-11 · draft").click()
    page.wait_for_url(f"**/Invoice?*invoice={tenant.draft_invoice_id}*")
    wait_until_idle(page)
    page.get_by_role("heading", name="Invoice draft 2024-11").wait_for()
    assert page.get_by_role("heading", name="Sign in", exact=True).count() == 0
