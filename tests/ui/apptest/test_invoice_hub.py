"""The invoice screen as a hub (issue 16 B): timeline with who and when, links to the tenant
and the explanation, "Issue credit note…" where a note may correct it, each credit note with a
PDF."""

from __future__ import annotations

import uuid

from billing_core.access import Actor, Role
from tests.helpers import committed_session, usd
from tests.ui.apptest.test_credit_note_requests import add_tenant_with_a_paid_2000_invoice
from tests.ui.finance_data import add_draft_invoice

PAGE = "pages/2_Invoice.py"


def _issue_note(url, tenant_id: str, invoice_id: int, amount: str) -> str:
    from db.credits import issue_credit_note

    with committed_session(url) as session:
        return issue_credit_note(session, tenant_id, invoice_id, usd(amount), "Unused seats",
                                 actor=Actor("finance2@demo", Role.FINANCE),
                                 idempotency_key=f"test-{uuid.uuid4().hex}").number


def _markdown(app) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_a_paid_invoice_shows_its_timeline_with_who_and_when(open_screen, demo_database_url):
    billed = add_tenant_with_a_paid_2000_invoice(demo_database_url, "ui-hub-time")
    number = _issue_note(demo_database_url, billed.tenant_id, billed.invoice_id, "100.00")
    app = open_screen(PAGE, query={"tenant": billed.tenant_id, "invoice": str(billed.invoice_id)})

    steps = [m.value for m in app.markdown if m.value.startswith(":material/check_circle:")]
    assert [step.split("**")[1] for step in steps] == [
        "Created", "Finalized", "Paid", f"Credit note {number}"]
    assert all("by tests" in step for step in steps[:3])
    assert "by finance2@demo" in steps[3] and "$100.00 credited" in steps[3]
    assert all(" UTC" in step for step in steps)


def test_a_draft_timeline_waits_for_finalize_and_payment(open_screen, demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-hub-draft")
    app = open_screen(PAGE, query={"tenant": tenant_id, "invoice": str(invoice_id)})

    waiting = [m.value for m in app.markdown
               if m.value.startswith(":material/radio_button_unchecked:")]
    assert [step.split("**")[1] for step in waiting] == ["Finalized", "Paid"]
    assert all("not yet" in step for step in waiting)
    assert "Issue credit note…" not in _markdown(app)  # a draft is changed, not noted


def test_links_lead_to_the_tenant_the_explanation_and_a_credit_note(open_screen,
                                                                    demo_database_url):
    billed = add_tenant_with_a_paid_2000_invoice(demo_database_url, "ui-hub-links")
    app = open_screen(PAGE, query={"tenant": billed.tenant_id, "invoice": str(billed.invoice_id)})

    shown = _markdown(app)
    assert f"(/Tenant?tenant={billed.tenant_id})" in shown
    assert f"[Explain in plain words](/Tenant?tenant={billed.tenant_id}&invoice=" \
           f"{billed.invoice_id})" in shown
    assert f"[Issue credit note…](/Credits?tenant={billed.tenant_id}&invoice=" \
           f"{billed.invoice_id})" in shown


def test_a_manager_gets_no_credit_note_link(open_screen, demo_database_url):
    billed = add_tenant_with_a_paid_2000_invoice(demo_database_url, "ui-hub-manager")
    app = open_screen(PAGE, query={"tenant": billed.tenant_id, "invoice": str(billed.invoice_id)},
                      as_role=Role.MANAGER)
    assert "Explain in plain words" in _markdown(app)
    assert "Issue credit note…" not in _markdown(app)


def test_each_credit_note_is_listed_with_a_pdf_of_its_own(open_screen, demo_database_url):
    billed = add_tenant_with_a_paid_2000_invoice(demo_database_url, "ui-hub-notes")
    first = _issue_note(demo_database_url, billed.tenant_id, billed.invoice_id, "100.00")
    second = _issue_note(demo_database_url, billed.tenant_id, billed.invoice_id, "150.00")
    app = open_screen(PAGE, query={"tenant": billed.tenant_id, "invoice": str(billed.invoice_id)})

    notes = next(f.value for f in app.dataframe if "Number" in f.value.columns)
    assert list(notes["Number"]) == [first, second]
    assert list(notes["Amount"]) == ["$100.00", "$150.00"]
    assert "Still creditable: $1,750.00." in [c.value for c in app.caption]
    buttons = {b.label: b for b in app.get("download_button")}
    assert {f"PDF {first}", f"PDF {second}", "Download PDF"} <= set(buttons)
