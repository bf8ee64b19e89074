"""Credits screen: a credit note above the approval threshold is sent as a request, and a second
finance user approves it on the same screen; the note then shows on its invoice (hardening
item 9)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text

from billing_core.access import Actor, Role
from tests.helpers import committed_session
from tests.ui.finance_data import scalar

PLAN_ID = "ui-compute-2000"


@dataclass(frozen=True, slots=True)
class BilledTenant:
    tenant_id: str
    invoice_id: int
    invoice_number: str


def add_tenant_with_a_paid_2000_invoice(url, prefix: str) -> BilledTenant:
    """A tenant of its own on a $2,000.00 plan, its October 2024 invoice paid."""
    from billing_core.periods import calendar_month
    from db.invoicing import generate_invoice
    from db.transitions import finalize_invoice, record_payment
    from tests.actors import finance

    tenant_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    setup = finance("tests")
    with committed_session(url) as session:
        session.execute(text("""
            INSERT INTO plans (plan_id, name, currency, recurring_price_minor)
            VALUES (:plan, 'Compute tier (tests)', 'USD', 200000) ON CONFLICT DO NOTHING
        """), {"plan": PLAN_ID})
        session.execute(text("""
            INSERT INTO tenants (tenant_id, name, currency, billing_anchor_day)
            VALUES (:tenant_id, :name, 'USD', 1)
        """), {"tenant_id": tenant_id, "name": f"Test {tenant_id}"})
        session.execute(text("""
            INSERT INTO subscriptions (tenant_id, starts_on, plan_id)
            VALUES (:tenant_id, :starts_on, :plan)
        """), {"tenant_id": tenant_id, "starts_on": date(2024, 1, 1), "plan": PLAN_ID})
        october = generate_invoice(session, tenant_id, calendar_month("2024-10"),
                                   actor=setup).invoice_id
        number = finalize_invoice(session, tenant_id, october, actor=setup).number
        record_payment(session, tenant_id, october, actor=setup)
    return BilledTenant(tenant_id, october, number)


def add_finance_user(url) -> Actor:
    """A finance user of the caller's own: the 24-hour window counts per user, and other tests
    give as finance@demo in the same demo database."""
    from db.demo_data import DEMO_PASSWORD
    from db.users import create_user

    email = f"notes-{uuid.uuid4().hex[:8]}@demo"
    with committed_session(url) as session:
        create_user(session, email, Role.FINANCE, DEMO_PASSWORD)
    return Actor(email, Role.FINANCE)


def _review_note(app, amount: str, reason: str):
    inputs = {t.label: t for t in app.text_input}
    inputs["Credit note amount (USD)"].input(amount)
    inputs["Credit note reason"].input(reason)
    next(b for b in app.button if b.label == "Review credit note").click()
    return app.run()


def test_a_1500_credit_note_is_sent_for_approval_and_a_second_finance_user_approves_it(
        open_screen, demo_database_url, monkeypatch):
    monkeypatch.setenv("LEDGERLINE_CREDIT_APPROVAL_ABOVE", "1000.00")
    tenant = add_tenant_with_a_paid_2000_invoice(demo_database_url, "ui-note-request")
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    app = _review_note(app, "1500.00", "Billed on the wrong tier")

    assert any("$1,500.00 is above $1,000.00: a second finance user must approve it"
               in w.value for w in app.warning), [w.value for w in app.warning]
    assert not [b for b in app.button if b.key == "confirm_note"]
    app.button(key="confirm_note_request").click().run()
    request_id = scalar(demo_database_url, "SELECT request_id FROM credit_requests "
                        "WHERE tenant_id = :t AND kind = 'credit_note' AND status = 'pending'",
                        t=tenant.tenant_id)
    assert any(s.value == (f"Credit note request #{request_id} for $1,500.00 against invoice "
                           f"{tenant.invoice_number} sent: it waits for a second finance user's "
                           "approval.") for s in app.success), [s.value for s in app.success]
    assert scalar(demo_database_url, "SELECT count(*) FROM credit_notes WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 0
    key = f"{tenant.tenant_id}_{request_id}"
    assert not [b for b in app.button if b.key == f"approve_{key}"]  # not for the requester

    second = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id},
                         as_actor=Actor("finance2@demo", Role.FINANCE))
    waiting = next(f.value for f in second.dataframe if "Requested by" in f.value.columns)
    [row] = waiting[waiting["Request"] == f"#{request_id}"].to_dict("records")
    assert (row["Kind"], row["Invoice"], row["Amount"], row["Reason"]) == (
        "Credit note", tenant.invoice_number, "$1,500.00", "Billed on the wrong tier")
    assert any(f"credit note on {tenant.invoice_number}" in m.value for m in second.markdown)
    second.button(key=f"approve_{key}").click().run()
    second.button(key=f"confirm_approve_{key}").click().run()
    number = scalar(demo_database_url, "SELECT number FROM credit_notes WHERE tenant_id = :t",
                    t=tenant.tenant_id)
    assert any(s.value == (f"Request #{request_id} approved. Credit note {number} issued: "
                           f"$1,500.00 against invoice {tenant.invoice_number}. $500.00 can "
                           "still be credited on it.") for s in second.success), [
        s.value for s in second.success]
    assert scalar(demo_database_url, "SELECT count(*) FROM credit_notes WHERE tenant_id = :t "
                  "AND amount_minor = 150000 AND actor = 'finance2@demo'",
                  t=tenant.tenant_id) == 1
    history = next(f.value for f in second.dataframe if "Issued" in f.value.columns)
    assert history[["Request", "Kind", "Invoice", "Status", "Decided by", "Issued"]].to_dict(
        "records") == [{"Request": f"#{request_id}", "Kind": "Credit note",
                        "Invoice": tenant.invoice_number, "Status": "approved",
                        "Decided by": "finance2@demo", "Issued": number}]

    invoice = open_screen("pages/2_Invoice.py", query={"tenant": tenant.tenant_id,
                                                       "invoice": str(tenant.invoice_id)})
    notes = next(f.value for f in invoice.dataframe if "Number" in f.value.columns)
    assert notes[["Number", "Amount", "By"]].to_dict("records") == [
        {"Number": number, "Amount": "$1,500.00", "By": "finance2@demo"}]
    assert "Still creditable: $500.00." in [c.value for c in invoice.caption]


def test_a_small_credit_note_is_still_confirmed_directly(open_screen, demo_database_url,
                                                         monkeypatch):
    monkeypatch.setenv("LEDGERLINE_CREDIT_APPROVAL_ABOVE", "1000.00")
    tenant = add_tenant_with_a_paid_2000_invoice(demo_database_url, "ui-note-small")
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id},
                      as_actor=add_finance_user(demo_database_url))
    app = _review_note(app, "100.00", "Unused seats")
    assert not app.warning
    assert not [b for b in app.button if b.key == "confirm_note_request"]
    app.button(key="confirm_note").click().run()
    assert any("$1,900.00 can still be credited on it." in s.value for s in app.success)
    assert scalar(demo_database_url, "SELECT count(*) FROM credit_requests WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 0
