"""Credits screen (issue 16 B): no tenant chosen for you, a request reviewed before it is
approved, invoices named by number or "draft 2024-11", never by their database id."""

from __future__ import annotations

import uuid

from billing_core.access import Actor, Role
from tests.actors import customer_success
from tests.helpers import committed_session, usd
from tests.ui.apptest.test_credit_note_requests import add_tenant_with_a_paid_2000_invoice
from tests.ui.finance_data import scalar
from tests.ui.synthetic import add_disputed_tenant

PAGE = "pages/4_Credits.py"


def _request_credit(url, tenant_id: str, amount: str):
    from db.credit_requests import request_credit

    with committed_session(url) as session:
        return request_credit(session, tenant_id, usd(amount), "Outage, 2 days",
                              actor=customer_success("cs@demo"),
                              idempotency_key=f"test-{uuid.uuid4().hex}")


def test_no_tenant_is_chosen_until_the_user_chooses_one(open_screen):
    app = open_screen(PAGE)

    assert app.selectbox(key="tenant_choice_").value is None
    assert not [t for t in app.text_input if t.label.startswith("Amount")]
    assert any("Choose a tenant" in c.value for c in app.caption)
    assert not app.tabs


def test_approving_shows_tenant_amount_and_landing_and_writes_nothing_before_confirm(
        open_screen, demo_database_url):
    tenant = add_disputed_tenant(demo_database_url, "ui-review")
    request = _request_credit(demo_database_url, tenant.tenant_id, "300.00")
    key = f"{tenant.tenant_id}_{request.request_id}"
    app = open_screen(PAGE)

    app.button(key=f"approve_{key}").click().run()
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Tenant"] == f"{tenant.name} ({tenant.tenant_id})"
    assert metrics["Amount"] == "$300.00"
    assert "$300.00 off draft 2024-11 (total $1,000.00)." in [i.value for i in app.info]
    assert "Outage, 2 days" in [t.value for t in app.text]
    assert scalar(demo_database_url, "SELECT count(*) FROM credits WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 0

    app.button(key=f"cancel_approve_{key}").click().run()
    assert not [b for b in app.button if b.key == f"confirm_approve_{key}"]
    assert scalar(demo_database_url, "SELECT status FROM credit_requests WHERE tenant_id = :t",
                  t=tenant.tenant_id) == "pending"

    app.button(key=f"approve_{key}").click().run()
    app.button(key=f"confirm_approve_{key}").click().run()
    assert any(f"Request {request.label} approved. Credit #" in s.value
               and "$300.00 came off draft 2024-11." in s.value for s in app.success)
    assert scalar(demo_database_url, "SELECT applied_minor FROM credits WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 30000


def test_a_credit_note_request_review_names_the_invoice_and_what_is_left(open_screen,
                                                                         demo_database_url):
    from db.credit_requests import request_credit_note

    billed = add_tenant_with_a_paid_2000_invoice(demo_database_url, "ui-review-note")
    with committed_session(demo_database_url) as session:
        request = request_credit_note(session, billed.tenant_id, billed.invoice_id,
                                      usd("1500.00"), "Wrong tier",
                                      actor=Actor("finance@demo", Role.FINANCE),
                                      idempotency_key=f"test-{uuid.uuid4().hex}")
    app = open_screen(PAGE, as_actor=Actor("finance2@demo", Role.FINANCE))

    app.button(key=f"approve_{billed.tenant_id}_{request.request_id}").click().run()
    assert (f"A credit note against invoice {billed.invoice_number} (paid, total $2,000.00); "
            "$2,000.00 can still be credited on it. The invoice itself stays as it is."
            in [i.value for i in app.info])


def test_history_names_invoices_by_number_or_draft_month_never_by_id(open_screen,
                                                                     demo_database_url):
    tenant = add_disputed_tenant(demo_database_url, "ui-names")
    app = open_screen(PAGE, query={"tenant": tenant.tenant_id})
    inputs = {t.label: t for t in app.text_input}
    inputs["Amount (USD)"].input("50.00")
    inputs["Reason"].input("Late report")
    next(b for b in app.button if b.label == "Review credit").click()
    app.run()
    app.button(key="confirm_credit").click().run()

    assert any("$50.00 came off draft 2024-11." in s.value for s in app.success)
    credits = next(f.value for f in app.dataframe if "On invoice" in f.value.columns)
    assert list(credits["On invoice"]) == ["draft 2024-11"]
    shown = "\n".join(str(f.value.to_dict()) for f in app.dataframe)
    shown += "\n".join(s.value for s in app.success)
    by_id = f"#{tenant.draft_invoice_id}"
    assert f"{by_id}'" not in shown and f"{by_id}." not in shown


def test_a_link_from_an_invoice_opens_the_credit_note_form_on_that_invoice(
        open_screen, demo_database_url):
    billed = add_tenant_with_a_paid_2000_invoice(demo_database_url, "ui-note-link")
    app = open_screen(PAGE, query={"tenant": billed.tenant_id,
                                   "invoice": str(billed.invoice_id)})

    assert app.selectbox(key="tenant_choice_").value == billed.tenant_id
    picker = next(s for s in app.selectbox if s.label == "Invoice to correct")
    assert picker.value == billed.invoice_id
    assert any(f"can be credited on {billed.invoice_number}" in m.value for m in app.markdown)
