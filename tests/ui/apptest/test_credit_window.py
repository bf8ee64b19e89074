"""Credits screen and the four-eyes window: small credits that add up past the approval threshold
in 24 hours go to a second finance user, as a large one does (db/four_eyes.py)."""

from __future__ import annotations

import uuid

from billing_core.money import Money
from tests.actors import finance
from tests.helpers import committed_session
from tests.ui.finance_data import scalar
from tests.ui.synthetic import add_disputed_tenant


def credited_earlier(url, tenant_id: str, amount: str) -> None:
    """A credit another finance user (one of this call's own) gave the tenant alone just now."""
    from db.credits import issue_service_credit

    with committed_session(url) as session:
        issue_service_credit(session, tenant_id, Money(amount, "USD"), "Outage, first half",
                             actor=finance(f"colleague-{uuid.uuid4().hex[:8]}@test"),
                             idempotency_key="earlier")


def test_a_credit_that_takes_the_day_past_the_threshold_is_sent_as_a_request(
        open_screen, demo_database_url, monkeypatch):
    monkeypatch.setenv("LEDGERLINE_CREDIT_APPROVAL_ABOVE", "1000.00")
    tenant = add_disputed_tenant(demo_database_url, "ui-window")
    credited_earlier(demo_database_url, tenant.tenant_id, "900.00")

    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    inputs = {t.label: t for t in app.text_input}
    inputs["Amount (USD)"].input("200.00")
    inputs["Reason"].input("Outage, second half")
    next(b for b in app.button if b.label == "Review credit").click()
    app.run()

    [warning] = [w.value for w in app.warning]
    assert "needs a second approver" in warning and "900.00 already credited" in warning
    assert not [b for b in app.button if b.key == "confirm_credit"]
    app.button(key="confirm_request").click().run()
    assert any("sent: it waits for a finance user's approval" in s.value for s in app.success)
    assert scalar(demo_database_url, "SELECT count(*) FROM credit_requests WHERE tenant_id = :t "
                  "AND status = 'pending'", t=tenant.tenant_id) == 1
    assert scalar(demo_database_url, "SELECT count(*) FROM credits WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 1
