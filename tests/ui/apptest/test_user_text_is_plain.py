"""What people typed is shown as typed, never as Markdown, LaTeX, a link or an image.

A credit request's reason once sat in the Markdown line of its amount, and a `$` in it
made the amount part of a LaTeX formula: finance read "$90.00" and one click credited
$9,000.00. The reason below tries every trick at once; each screen that shows it must
show it verbatim (a dataframe cell, or escaped Markdown that reads the same) and must
never hand it to Streamlit raw.
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import text

from tests.actors import customer_success, finance
from tests.helpers import committed_session, usd
from tests.ui.finance_data import scalar
from tests.ui.shown_text import shown
from tests.ui.synthetic import add_disputed_tenant

CRAFTED = (r"x $\phantom{0}$ shows $90.00 $ ![p](http://127.0.0.1:9/pixel.png) "
           "[docs](http://127.0.0.1:9/evil) **now** <img src=http://127.0.0.1:9/x.png>")


def _request(url, tenant_id: str, amount: str, reason: str):
    from db.credit_requests import request_credit

    with committed_session(url) as session:
        return request_credit(session, tenant_id, usd(amount), reason,
                              actor=customer_success("cs@demo"),
                              idempotency_key=f"test-{uuid.uuid4().hex}")


def _credit(url, tenant_id: str, amount: str, reason: str) -> None:
    from db.credits import issue_service_credit

    with committed_session(url) as session:
        issue_service_credit(session, tenant_id, usd(amount), reason,
                             actor=finance(f"finance-{uuid.uuid4().hex[:6]}@demo"),
                             idempotency_key=f"test-{uuid.uuid4().hex}")


def markdown_sources(app) -> list[str]:
    """Every string on the screen that Streamlit reads as Markdown."""
    sources = [element.value for kind in ("markdown", "caption", "success", "info", "warning",
                                          "error", "title", "header", "subheader")
               for element in getattr(app, kind)]
    sources += [b.label for b in app.button] + [e.label for e in app.expander]
    sources += [m.label for m in app.metric] + [str(m.value) for m in app.metric]
    sources += [str(cell) for table in app.table for cell in table.value.to_numpy().ravel()]
    return sources


def assert_nothing_typed_is_markup(app) -> None:
    for source in markdown_sources(app):
        assert CRAFTED not in source, source
        assert "![p](http" not in source, source
        # With every escape taken out, a `$` left is the sign of an amount ("$9,000.00").
        assert not re.search(r"\$(?!\d)", re.sub(r"\\.", "", source)), source


def _table_with(app, column: str):
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


@pytest.fixture
def tenant(demo_database_url):
    return add_disputed_tenant(demo_database_url, "ui-plain")


def test_the_approver_sees_the_true_amount_and_the_reason_as_typed(
        open_screen, demo_database_url, tenant):
    request = _request(demo_database_url, tenant.tenant_id, "9000.00", CRAFTED)
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})

    waiting = _table_with(app, "Requested by")
    [row] = waiting[waiting["Request"] == request.label].to_dict("records")
    assert row == {"Request": request.label, "Kind": "Service credit",
                   "Tenant": tenant.tenant_id, "Invoice": "", "Amount": "$9,000.00",
                   "Reason": CRAFTED, "Requested by": "cs@demo (customer success)",
                   "Requested": row["Requested"]}
    key = f"{tenant.tenant_id}_{request.request_id}"
    line = next(m.value for m in app.markdown if f"Request {request.label}**" in m.value)
    assert shown(line) == f"**Request {request.label}** · {tenant.tenant_id} · **$9,000.00**"
    assert app.button(key=f"approve_{key}").label == f"Approve {request.label}…"
    assert app.button(key=f"reject_{key}").label == f"Reject {request.label}"
    assert_nothing_typed_is_markup(app)

    app.button(key=f"approve_{key}").click().run()
    assert_nothing_typed_is_markup(app)  # the review quotes the reason too
    app.button(key=f"confirm_approve_{key}").click().run()
    assert scalar(demo_database_url, "SELECT amount_minor FROM credits WHERE tenant_id = :t",
                  t=tenant.tenant_id) == 900000  # what the table said
    assert_nothing_typed_is_markup(app)


def test_customer_success_sees_the_same_table_and_no_buttons(
        open_screen, demo_database_url, tenant):
    request = _request(demo_database_url, tenant.tenant_id, "9000.00", CRAFTED)
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id},
                      as_role="customer_success")

    waiting = _table_with(app, "Requested by")
    assert list(waiting[waiting["Request"] == request.label]["Amount"]) == ["$9,000.00"]
    assert not [b for b in app.button if b.key and b.key.endswith(f"_{request.request_id}")]
    assert_nothing_typed_is_markup(app)


def test_the_credits_screen_quotes_a_reviewed_reason_escaped(open_screen, tenant):
    app = open_screen("pages/4_Credits.py", query={"tenant": tenant.tenant_id})
    inputs = {t.label: t for t in app.text_input}
    inputs["Amount (USD)"].input("100.00")
    inputs["Reason"].input(CRAFTED)
    next(b for b in app.button if b.label == "Review credit").click()
    app.run()

    caption = next(c.value for c in app.caption if c.value.startswith("Reason: "))
    assert shown(caption).startswith(f"Reason: {CRAFTED} · recorded as ")
    assert_nothing_typed_is_markup(app)


def test_the_tenant_screen_shows_a_credit_reason_as_typed(open_screen, demo_database_url,
                                                          tenant):
    _credit(demo_database_url, tenant.tenant_id, "100.00", CRAFTED)
    app = open_screen("pages/7_Tenant.py", query={"tenant": tenant.tenant_id,
                                                  "invoice": str(tenant.draft_invoice_id)})

    credits = next(table.value for table in app.table if "Where" in table.value.columns)
    assert [shown(reason) for reason in credits["Reason"]] == [CRAFTED]  # a Markdown table
    sentences = [shown(m.value) for m in app.markdown]
    assert any(f"- Service credit: {CRAFTED} took $100.00 off." in s for s in sentences), sentences
    assert_nothing_typed_is_markup(app)


def test_the_invoice_screen_shows_a_credit_line_as_typed(open_screen, demo_database_url, tenant):
    _credit(demo_database_url, tenant.tenant_id, "100.00", CRAFTED)
    app = open_screen("pages/2_Invoice.py", query={"tenant": tenant.tenant_id,
                                                   "invoice": str(tenant.draft_invoice_id)})

    lines = next(table.value for table in app.table if "Running total" in table.value.columns)
    items = [shown(item) for item in lines["Item"]]  # a Markdown table
    assert any(item.endswith(CRAFTED) for item in items), items
    assert_nothing_typed_is_markup(app)


def test_the_audit_log_shows_a_credit_reason_as_typed(open_screen, demo_database_url, tenant):
    _credit(demo_database_url, tenant.tenant_id, "100.00", CRAFTED)
    entry = scalar(demo_database_url, "SELECT audit_id FROM audit_log WHERE tenant_id = :t "
                   "AND action = 'credit.issued'", t=tenant.tenant_id)
    app = open_screen("pages/8_Audit_log.py", query={"tenant": tenant.tenant_id})

    table = _table_with(app, "Changes")
    issued = table[table["Action"] == "credit.issued"].iloc[0]
    assert f"reason: {CRAFTED}" in issued["Changes"]
    next(s for s in app.selectbox if s.label == "Entry").set_value(entry).run()
    changes = next(m.value for m in app.markdown if "reason" in m.value)
    assert f"- reason: {CRAFTED}" in shown(changes).splitlines()
    assert_nothing_typed_is_markup(app)


def test_a_search_that_matches_no_tenant_is_quoted_escaped(open_screen):
    app = open_screen("pages/7_Tenant.py")
    app.text_input[0].input(CRAFTED).run()
    [notice] = [i.value for i in app.info]
    assert shown(notice) == f"No tenant matches {CRAFTED!r}."
    assert_nothing_typed_is_markup(app)


def test_a_failed_month_end_shows_no_sql_on_home(open_screen, demo_database_url):
    from db.database import make_engine

    raw = ('(psycopg.errors.InvalidTextRepresentation) invalid input syntax for type integer: '
           '"ent-secret-0042"\n[SQL: SELECT CAST(%(tenant)s AS integer) FROM tenants]\n'
           "[parameters: {'tenant': 'ent-secret-0042'}]")
    engine = make_engine(demo_database_url)
    with engine.begin() as connection:
        run_id = connection.execute(text("""
            INSERT INTO month_end_runs (period_label, dry_run, status, actor, tenants_in_scope,
                                        tenants_done, invoices_created, already_present, skipped,
                                        error, finished_at)
            VALUES ('2019-01', false, 'failed', 'finance@demo', 1, 0, 0, 0, '{}', :error, now())
            RETURNING run_id
        """), {"error": raw}).scalar_one()
    try:
        app = open_screen("Home.py")
        [notice] = [w.value for w in app.warning if "2019-01" in w.value]
        assert notice.endswith(" · database error (InvalidTextRepresentation); the details are in "
                               "the server log")
        assert "SQL" not in notice and "secret" not in notice
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM month_end_runs WHERE run_id = :r"), {"r": run_id})
        engine.dispose()


def test_the_sidebar_and_a_refused_screen_show_the_users_email_as_typed(open_screen,
                                                                        demo_database_url):
    """An email is text its owner chose: `$...$`, `**` and `_` in it stay as typed."""
    from billing_core.access import Actor, Role
    from db.users import create_user

    email = f"$x$**m**_{uuid.uuid4().hex[:6]}@example.com"
    with committed_session(demo_database_url) as session:
        create_user(session, email, Role.MANAGER, "a long enough password")
    app = open_screen("pages/3_Preview.py", as_actor=Actor(email, Role.MANAGER))
    assert [shown(w.value) for w in app.warning] == [
        f"Manager — {email} may not use the price preview. Ask finance if you need this screen."]
    sidebar = [m.value for m in app.sidebar.markdown if "Signed in as" in m.value]
    assert [shown(line) for line in sidebar] == [f"Signed in as **{email}**  \nManager"]
    for source in markdown_sources(app) + sidebar:
        assert email not in source, source  # never raw
