"""The invoice as a hub, in the browser (issue 16 B): its timeline, "Issue credit note…" through
the Credits form and back, the note's own PDF, and the link to the plain explanation."""

from __future__ import annotations

from pathlib import Path

from tests.ui.apptest.test_credit_note_requests import (
    add_finance_user,
    add_tenant_with_a_paid_2000_invoice,
)
from tests.ui.finance_data import scalar
from tests.ui.screens import open_in_browser, wait_until_idle


def test_issue_a_credit_note_from_the_invoice_and_download_its_pdf(page, demo_database_url):
    billed = add_tenant_with_a_paid_2000_invoice(demo_database_url, "ui-browser-hub")
    finance = add_finance_user(demo_database_url)  # the 24-hour window counts per user
    invoice_url = f"/Invoice?tenant={billed.tenant_id}&invoice={billed.invoice_id}"
    open_in_browser(page, invoice_url, email=finance.user_id)
    timeline = page.get_by_test_id("stMarkdownContainer").filter(has_text="Finalized")
    timeline.filter(has_text="by tests").first.wait_for()
    page.get_by_test_id("stMarkdownContainer").filter(has_text="Paid").filter(
        has_text="by tests").first.wait_for()

    page.get_by_role("link", name="Issue credit note…").click()
    page.wait_for_url("**/Credits?**")
    wait_until_idle(page)
    # The credit-note form opened on this invoice, signed in still.
    page.get_by_text(f"can be credited on {billed.invoice_number}", exact=False).wait_for()
    page.get_by_label("Credit note amount (USD)", exact=True).fill("120.00")
    page.get_by_label("Credit note reason", exact=True).fill("Two unused seats")
    page.get_by_role("button", name="Review credit note").click()
    wait_until_idle(page)
    page.get_by_role("button", name="Confirm credit note").click()
    wait_until_idle(page)
    page.get_by_text("Credit note CN-", exact=False).first.wait_for()
    number = scalar(demo_database_url, "SELECT number FROM credit_notes WHERE tenant_id = :t",
                    t=billed.tenant_id)

    open_in_browser(page, invoice_url, email=finance.user_id)
    page.get_by_test_id("stMarkdownContainer").filter(
        has_text=f"Credit note {number}").filter(has_text="$120.00 credited").first.wait_for()
    page.get_by_text("Still creditable: $1,880.00.").wait_for()
    with page.expect_download() as download_info:
        page.get_by_role("button", name=f"PDF {number}").click()
    document = Path(download_info.value.path()).read_bytes()
    assert document.startswith(b"%PDF-")
    assert download_info.value.suggested_filename == f"{number}_{billed.tenant_id}.pdf"


def test_the_explanation_link_opens_the_tenant_on_this_invoice(page, demo_database_url):
    billed = add_tenant_with_a_paid_2000_invoice(demo_database_url, "ui-browser-explain")
    open_in_browser(page, f"/Invoice?tenant={billed.tenant_id}&invoice={billed.invoice_id}",
                    as_role="customer_success")
    assert page.get_by_role("link", name="Issue credit note…").count() == 0  # CS cannot
    page.get_by_role("link", name="Explain in plain words").click()
    page.wait_for_url("**/Tenant?**")
    wait_until_idle(page)
    page.get_by_text(f"Invoice {billed.invoice_number} covers 2024-10-01 to 2024-10-31",
                     exact=False).first.wait_for()
    assert page.get_by_role("heading", name="Sign in", exact=True).count() == 0
