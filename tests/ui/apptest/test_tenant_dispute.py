"""Tenant screen for a dispute (issue 16 B): it opens on the invoice in dispute, offers the
explanation in the customer's words to copy, shows waiting credit requests, and links every
invoice to the Invoice screen."""

from __future__ import annotations

import uuid

from tests.actors import customer_success, finance
from tests.helpers import committed_session, usd
from tests.ui.apptest.test_tenant import _invoice_id
from tests.ui.synthetic import add_disputed_tenant

PAGE = "pages/7_Tenant.py"


def _chosen(app) -> int:
    return next(s for s in app.selectbox if s.label == "Invoice").value


def test_it_opens_on_the_latest_finalized_invoice_not_the_newest_draft(open_screen,
                                                                       demo_database_url):
    from billing_core.periods import calendar_month
    from db.invoicing import generate_invoice
    from db.transitions import finalize_invoice

    tenant = add_disputed_tenant(demo_database_url, "ui-dispute")  # Oct paid, Nov draft
    with committed_session(demo_database_url) as session:
        finalize_invoice(session, tenant.tenant_id, tenant.draft_invoice_id,
                         actor=finance("tests"))
        december = generate_invoice(session, tenant.tenant_id, calendar_month("2024-12"),
                                    actor=finance("tests")).invoice_id
    app = open_screen(PAGE, query={"tenant": tenant.tenant_id})

    assert _chosen(app) == tenant.draft_invoice_id  # November, finalized: the one sent
    assert december != tenant.draft_invoice_id
    linked = open_screen(PAGE, query={"tenant": tenant.tenant_id, "invoice": str(december)})
    assert _chosen(linked) == december  # a link still names any invoice


def test_the_explanation_to_copy_speaks_to_the_customer(open_screen, demo_database_url):
    app = open_screen(PAGE, query={"tenant": "ent-acme-corp"})

    [message] = [c.value for c in app.code]
    assert message.startswith("Hello Acme Corp,\n\nHere is how invoice draft 2024-11 for "
                              "2024-11 was calculated, step by step:")
    assert ("- From 2024-11-16 you were on Compute tier ($1,000.00/month): 15 of 30 days = "
            "$500.00.") in message
    assert "- Total: $800.00." in message
    assert "the tenant" not in message
    assert [c.language for c in app.code] == ["plaintext"]  # copied as typed, not highlighted


def test_waiting_credit_requests_are_shown_with_the_way_to_decide_them(open_screen,
                                                                        demo_database_url):
    from db.credit_requests import request_credit

    tenant = add_disputed_tenant(demo_database_url, "ui-dispute-waiting")
    quiet = open_screen(PAGE, query={"tenant": tenant.tenant_id})
    assert "No credit request is waiting for this tenant." in [c.value for c in quiet.caption]
    with committed_session(demo_database_url) as session:
        request = request_credit(session, tenant.tenant_id, usd("75.00"), "Slow reply",
                                 actor=customer_success("cs@demo"),
                                 idempotency_key=f"test-{uuid.uuid4().hex}")
    app = open_screen(PAGE, query={"tenant": tenant.tenant_id})

    waiting = next(f.value for f in app.table if "Requested by" in f.value.columns)
    waiting = waiting.replace(r"\\(.)", r"\1", regex=True)  # a table's cells are escaped
    assert waiting[["Request", "Amount", "Reason"]].to_dict("records") == [
        {"Request": request.label, "Amount": "$75.00", "Reason": "Slow reply"}]
    assert any(f"(/Credits?tenant={tenant.tenant_id})" in m.value for m in app.markdown)


def test_every_invoice_links_to_the_invoice_screen(open_screen, demo_database_url):
    app = open_screen(PAGE, query={"tenant": "ent-umbrella"})

    links = "\n".join(m.value for m in app.markdown)
    for period in ("2024-10", "2024-11"):
        invoice_id = _invoice_id(demo_database_url, "ent-umbrella", period)
        assert f"(/Invoice?tenant=ent-umbrella&invoice={invoice_id})" in links
    assert "[draft 2024-11 · draft](/Invoice?tenant=ent-umbrella&invoice=" in links
