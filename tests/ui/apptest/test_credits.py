"""Credits screen: a service credit shows where it lands, lands there once, bad input writes
nothing."""

from __future__ import annotations

import pytest

from tests.ui.finance_data import scalar
from tests.ui.shown_text import shown
from tests.ui.synthetic import add_disputed_tenant


@pytest.fixture
def tenant(demo_database_url):
    return add_disputed_tenant(demo_database_url, "ui-credit")


def _texts(app) -> str:
    parts = [m.value for m in app.markdown] + [i.value for i in app.info]
    parts += [s.value for s in app.success] + [e.value for e in app.error]
    parts += [f"{m.label} {m.value}" for m in app.metric]
    return "\n".join(parts)


def _credit_count(url, tenant_id: str) -> int:
    return scalar(url, "SELECT count(*) FROM credits WHERE tenant_id = :t", t=tenant_id)


def _review(app, amount: str, reason: str):
    inputs = {t.label: t for t in app.text_input}
    inputs["Amount (USD)"].input(amount)
    inputs["Reason"].input(reason)
    next(b for b in app.button if b.label == "Review credit").click()
    return app.run()


def test_umbrella_shows_its_credit_on_the_november_draft(open_screen):
    app = open_screen("pages/4_Credits.py", query={"tenant": "ent-umbrella"})
    assert app.selectbox[0].value == "ent-umbrella"
    history = [f.value for f in app.dataframe]
    credits = next(f for f in history if "Reason" in f.columns and "Applied" in f.columns)
    assert list(credits["Amount"]) == ["$200.00"]
    assert list(credits["Reason"]) == ["Outage 2024-11-12, 4 hours"]


def test_credit_lands_on_the_draft_once_even_when_confirmed_twice(
        open_screen, demo_database_url, tenant):
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    app = _review(app, "200.00", "Outage 2024-11-12, 4 hours")

    assert "$200.00 reduces the draft invoice for 2024-11 (total $1,000.00)." in _texts(app)
    assert "Off the draft invoice for 2024-11 $200.00" in _texts(app)
    assert "To the credit balance $0.00" in _texts(app)
    app.button(key="confirm_credit").click().run()
    assert "$200.00 came off draft 2024-11." in _texts(app)

    # The same form sent again (a double submit) reuses the key: still one credit.
    app = _review(app, "200.00", "Outage 2024-11-12, 4 hours")
    app.button(key="confirm_credit").click().run()
    assert "was already issued; nothing new was written" in _texts(app)

    assert _credit_count(demo_database_url, tenant.tenant_id) == 1
    assert scalar(demo_database_url, """
        SELECT total_minor FROM invoices WHERE tenant_id = :t AND invoice_id = :i
    """, t=tenant.tenant_id, i=tenant.draft_invoice_id) == 80000
    assert scalar(demo_database_url, """
        SELECT total_minor FROM invoices WHERE tenant_id = :t AND invoice_id = :i
    """, t=tenant.tenant_id, i=tenant.paid_invoice_id) == 100000


def test_bad_amount_names_the_field_and_writes_nothing(open_screen, demo_database_url, tenant):
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    app = _review(app, "12,3x", "Outage")

    assert [e.value for e in app.error] == ["amount: '12,3x' is not a number"]
    assert not [b for b in app.button if b.key == "confirm_credit"]
    assert _credit_count(demo_database_url, tenant.tenant_id) == 0


def test_credit_note_on_the_paid_invoice_is_capped_at_its_total(
        open_screen, demo_database_url, tenant, monkeypatch):
    # About the invoice's total, not the approval threshold (test_credit_note_requests.py).
    monkeypatch.setenv("LEDGERLINE_CREDIT_APPROVAL_ABOVE", "1000000.00")
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    assert "At most **$1,000.00** can be credited" in _texts(app)
    inputs = {t.label: t for t in app.text_input}
    inputs["Credit note amount (USD)"].input("1000.01")
    inputs["Credit note reason"].input("Billed twice")
    next(b for b in app.button if b.label == "Review credit note").click()
    app.run()
    # Refused at Review, beside the amount, before any confirmation is offered.
    assert [shown(e.value) for e in app.error] == [
        "amount: $1,000.01 is more than the $1,000.00 left to credit on this invoice"]
    assert not [b for b in app.button if b.key == "confirm_note"]
    assert scalar(demo_database_url, "SELECT count(*) FROM credit_notes WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 0

    inputs = {t.label: t for t in app.text_input}
    inputs["Credit note amount (USD)"].input("250.00")
    next(b for b in app.button if b.label == "Review credit note").click()
    app.run()
    app.button(key="confirm_note").click().run()
    assert "$750.00 can still be credited on it." in _texts(app)
    assert scalar(demo_database_url, "SELECT sum(amount_minor) FROM credit_notes "
                  "WHERE tenant_id = :t", t=tenant.tenant_id) == 25000


def test_a_bad_approval_threshold_is_shown_and_every_credit_needs_a_second_finance_user(
        open_screen, demo_database_url, tenant, monkeypatch):
    monkeypatch.setenv("LEDGERLINE_CREDIT_APPROVAL_ABOVE", "lots")
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    assert any("LEDGERLINE_CREDIT_APPROVAL_ABOVE" in e.value for e in app.error), _texts(app)

    app = _review(app, "100.00", "Small outage")
    assert any("approval threshold is not set correctly" in w.value for w in app.warning)
    assert not [b for b in app.button if b.key == "confirm_credit"]
    assert [b for b in app.button if b.key == "confirm_request"]
    assert _credit_count(demo_database_url, tenant.tenant_id) == 0


def test_an_invoice_that_cannot_be_loaded_is_an_error_in_the_credit_note_tab(
        open_screen, tenant, monkeypatch):
    import db.reads.invoices
    from db.errors import NotFound

    def missing(session, tenant_id, invoice_id):
        raise NotFound("invoice", f"{invoice_id} of tenant {tenant_id}")

    monkeypatch.setattr(db.reads.invoices, "invoice_detail", missing)
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    assert any("was not found" in e.value for e in app.error)
    assert not [b for b in app.button if b.label == "Review credit note"]
    assert any(s.value == "Credit balance ledger" for s in app.subheader)  # the page goes on


@pytest.mark.parametrize("amount", ["-5", "0"])
def test_review_names_every_wrong_field_at_once_with_one_wording_per_rule(open_screen, tenant,
                                                                          amount):
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    _review(app, amount, "  ")
    assert [shown(e.value) for e in app.error] == [
        f"amount: must be more than zero, not '{amount}'",
        "reason: is empty; say why the tenant is credited"]
