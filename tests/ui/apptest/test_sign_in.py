"""Sign-in and roles on the screens (issue #5): signed-out visitors see only the sign-in form,
whatever page they open; each role sees only what it may do."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from billing_core.access import MAX_EMAIL_SIGN_IN_WAIT_SECONDS, Actor, Role
from db.demo_data import DEMO_PASSWORD
from ledgerline_ui.shell import setup
from ledgerline_ui.shell.setup import LAST_ACTIVITY_KEY
from tests.helpers import committed_session
from tests.ui.finance_data import add_draft_invoice, scalar
from tests.ui.screens import PAGES, let_sign_in_waits_pass
from tests.ui.synthetic import add_disputed_tenant


@pytest.fixture(autouse=True)
def _forget_wrong_passwords(demo_database_url):
    """AppTest has no client address, so every test signs in as one client ("client:unknown");
    a test's deliberate wrong passwords must not make the next test's sign-in wait."""
    yield
    _change_user(demo_database_url, "DELETE FROM sign_in_throttle WHERE email LIKE :email",
                 "client:%")


def _labels(elements) -> list[str]:
    return [element.label for element in elements]


def _assert_only_the_sign_in_form(app) -> None:
    assert [t.value for t in app.title] == ["Sign in"]
    assert _labels(app.text_input) == ["Email", "Password"]
    assert _labels(app.button) == ["Sign in"]
    for kind in ("dataframe", "metric", "selectbox", "tabs", "subheader", "header", "warning",
                 "success", "error", "table", "json", "radio", "date_input", "text_area"):
        assert not list(getattr(app, kind)), f"a signed-out visitor sees a {kind}"
    assert not app.sidebar.children, "a signed-out visitor sees the sidebar"


def _sign_in(app, email: str, password: str):
    inputs = {t.label: t for t in app.text_input}
    inputs["Email"].input(email)
    inputs["Password"].input(password)
    next(b for b in app.button if b.label == "Sign in").click()
    return app.run()


@pytest.mark.parametrize("script", [script for script, _ in PAGES],
                         ids=[path for _, path in PAGES])
def test_a_signed_out_visitor_sees_only_the_sign_in_form(open_screen, script):
    app = open_screen(script, query={"tenant": "ent-umbrella"}, as_role=None)
    _assert_only_the_sign_in_form(app)


def test_signing_in_shows_the_page_and_signing_out_ends_it(open_screen):
    app = open_screen("pages/1_Invoices.py", as_role=None)
    app = _sign_in(app, "finance@demo", DEMO_PASSWORD)
    assert [t.value for t in app.title] == ["Invoices"]
    assert any("finance@demo" in m.value for m in app.sidebar.markdown)

    app.button(key="sign_out").click().run()
    _assert_only_the_sign_in_form_after(app, "You signed out.")


def _assert_only_the_sign_in_form_after(app, reason: str) -> None:
    assert [t.value for t in app.title] == ["Sign in"]
    assert [i.value for i in app.info] == [reason]
    assert not list(app.dataframe)


def test_a_wrong_password_is_refused_and_repeated_ones_are_slowed(open_screen):
    email = f"guess-{uuid.uuid4().hex[:8]}@demo"
    app = open_screen("Home.py", as_role=None)
    app = _sign_in(app, email, "not the password")
    assert [e.value for e in app.error] == ["Email or password is wrong."]
    app = _sign_in(app, email, "not the password")
    app = _sign_in(app, email, "not the password")
    assert [e.value for e in app.error] == [
        "Too many wrong passwords for this email or from your network. Try again in 2 seconds."]
    assert [t.value for t in app.title] == ["Sign in"]


def test_a_strangers_wrong_passwords_keep_the_owner_out_only_briefly(
        open_screen, demo_database_url, monkeypatch):
    owner = _add_user(demo_database_url, Role.FINANCE)
    monkeypatch.setattr(setup, "_client_address", lambda: "192.0.2.66")
    stranger = open_screen("Home.py", as_role=None)
    for _ in range(3):
        stranger = _sign_in(stranger, owner, "not the password")
    assert [e.value for e in stranger.error] == [
        "Too many wrong passwords for this email or from your network. Try again in 2 seconds."]
    for _ in range(5):  # each after the last wait: the stranger's own wait grows to 64 s
        let_sign_in_waits_pass(demo_database_url, 3600)
        stranger = _sign_in(stranger, owner, "not the password")
    assert "Try again in 64 seconds." in stranger.error[0].value

    monkeypatch.setattr(setup, "_client_address", lambda: "198.51.100.8")
    app = _sign_in(open_screen("pages/1_Invoices.py", as_role=None), owner, DEMO_PASSWORD)
    [refused] = [e.value for e in app.error]
    wait = re.fullmatch(r"Too many wrong passwords for this email or from your network\. "
                        r"Try again in (\d+) seconds?\.", refused)
    assert wait and 0 < int(wait[1]) <= MAX_EMAIL_SIGN_IN_WAIT_SECONDS, refused
    let_sign_in_waits_pass(demo_database_url, MAX_EMAIL_SIGN_IN_WAIT_SECONDS)
    app = _sign_in(app, owner, DEMO_PASSWORD)
    assert [t.value for t in app.title] == ["Invoices"]
    monkeypatch.setattr(setup, "_client_address", lambda: "192.0.2.66")
    stranger = _sign_in(stranger, owner, DEMO_PASSWORD)  # still waiting, right password or not
    assert [t.value for t in stranger.title] == ["Sign in"]
    assert "Try again in" in stranger.error[0].value


def test_a_wrong_password_for_a_real_account_does_not_sign_in(open_screen):
    app = open_screen("Home.py", as_role=None)
    app = _sign_in(app, "manager@demo", "wrong-password")
    assert [e.value for e in app.error] == ["Email or password is wrong."]
    assert [t.value for t in app.title] == ["Sign in"]


def test_an_idle_session_is_signed_out_and_told_why(open_screen):
    app = open_screen("Home.py")
    assert [t.value for t in app.title] == ["Ledgerline"]
    app.session_state[LAST_ACTIVITY_KEY] = time.time() - 31 * 60
    app.run()
    _assert_only_the_sign_in_form_after(
        app, "You were signed out after 30 minutes without activity. Sign in again to continue.")


def test_a_manager_sees_no_finalize_button_and_no_month_end_run(open_screen, demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-manager")
    app = open_screen("pages/2_Invoice.py",
                      query={"tenant": tenant_id, "invoice": str(invoice_id)}, as_role="manager")
    assert not [b for b in app.button if "Finalize" in b.label or "Void" in b.label]
    assert any("You can look, not change" in c.value for c in app.caption)

    month_end = open_screen("pages/6_Month_end.py", as_role="manager")
    assert not [b for b in month_end.button if "month end" in b.label.lower()
                or b.label == "Dry run"]
    assert [t.value for t in month_end.title] == ["Month end run"]


def test_a_manager_may_not_open_the_preview(open_screen):
    app = open_screen("pages/3_Preview.py", as_role="manager")
    assert [w.value for w in app.warning] == [
        "Manager — manager@demo may not use the price preview. Ask finance if you need this "
        "screen."]
    assert not list(app.text_input)


def test_customer_success_requests_a_credit_and_a_second_finance_user_approves_it_once(
        open_screen, demo_database_url):
    tenant = add_disputed_tenant(demo_database_url, "ui-request")
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id},
                      as_role="customer_success")
    assert "Service credit" not in [t.label for t in app.tabs]
    inputs = {t.label: t for t in app.text_input}
    inputs["Amount (USD)"].input("120.00")
    inputs["Reason"].input("Slow support reply")
    next(b for b in app.button if b.label == "Request credit").click()
    app.run()
    assert not [b for b in app.button if b.key == "confirm_credit"]
    app.button(key="confirm_request").click().run()
    assert any("sent: it waits for a finance user's approval" in s.value for s in app.success)
    request_id = scalar(demo_database_url, "SELECT request_id FROM credit_requests "
                        "WHERE tenant_id = :t AND status = 'pending'", t=tenant.tenant_id)
    assert scalar(demo_database_url, "SELECT count(*) FROM credits WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 0
    key = f"{tenant.tenant_id}_{request_id}"
    assert not [b for b in app.button if b.key == f"approve_{key}"]  # CS cannot approve

    finance = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    finance.button(key=f"approve_{key}").click().run()
    finance.button(key=f"confirm_approve_{key}").click().run()
    assert any(f"Request #{request_id} approved." in s.value for s in finance.success)
    assert scalar(demo_database_url, "SELECT count(*) FROM credits WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 1
    assert scalar(demo_database_url, "SELECT total_minor FROM invoices WHERE tenant_id = :t "
                  "AND invoice_id = :i", t=tenant.tenant_id, i=tenant.draft_invoice_id) == 88000


def test_a_large_credit_from_finance_goes_to_a_second_finance_user(open_screen,
                                                                   demo_database_url):
    tenant = add_disputed_tenant(demo_database_url, "ui-large")
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    inputs = {t.label: t for t in app.text_input}
    inputs["Amount (USD)"].input("1500.00")
    inputs["Reason"].input("Week-long outage")
    next(b for b in app.button if b.label == "Review credit").click()
    app.run()
    assert any("a second finance user must approve it" in w.value for w in app.warning)
    assert not [b for b in app.button if b.key == "confirm_credit"]
    app.button(key="confirm_request").click().run()
    request_id = scalar(demo_database_url, "SELECT request_id FROM credit_requests "
                        "WHERE tenant_id = :t", t=tenant.tenant_id)
    key = f"{tenant.tenant_id}_{request_id}"
    app.run()
    assert not [b for b in app.button if b.key == f"approve_{key}"]  # not for the requester

    second = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id},
                         as_actor=Actor("finance2@demo", Role.FINANCE))
    second.button(key=f"approve_{key}").click().run()
    second.button(key=f"confirm_approve_{key}").click().run()
    assert scalar(demo_database_url, "SELECT amount_minor FROM credits WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 150000


def _add_user(url, role: Role) -> str:
    from db.users import create_user

    email = f"changed-{uuid.uuid4().hex[:8]}@demo"
    with committed_session(url) as session:
        create_user(session, email, role, DEMO_PASSWORD)
    return email


def _change_user(url, sql: str, email: str) -> None:
    from sqlalchemy import text

    from db.database import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(sql), {"email": email})
    engine.dispose()


@pytest.mark.parametrize("change", [
    "UPDATE users SET is_active = false WHERE email = :email",
    "UPDATE users SET role = 'manager' WHERE email = :email",
    "DELETE FROM users WHERE email = :email",
], ids=["deactivated", "role changed", "deleted"])
def test_a_deactivated_or_changed_user_is_signed_out_at_the_next_interaction(
        open_screen, demo_database_url, change):
    email = _add_user(demo_database_url, Role.FINANCE)
    app = open_screen("pages/1_Invoices.py", as_role=None)
    app = _sign_in(app, email, DEMO_PASSWORD)
    assert [t.value for t in app.title] == ["Invoices"]

    _change_user(demo_database_url, change, email)
    app.run()
    _assert_only_the_sign_in_form(app)
    assert [i.value for i in app.info] == [
        "Your account was deactivated or its role changed; sign in again."]


def test_a_bad_idle_setting_does_not_break_the_pages(open_screen, monkeypatch):
    monkeypatch.setenv("LEDGERLINE_IDLE_MINUTES", "30m")
    app = open_screen("pages/1_Invoices.py")
    assert [t.value for t in app.title] == ["Invoices"]
