"""The demo data loads twice without change and shows each incident's correct figures; only
`LEDGERLINE_DEMO=1` loads it (and its accounts), never a plain first start."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import db.database
from billing_core.access import Role
from billing_core.money import Money
from db.demo_data import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_data_requested, load_demo_data
from db.reads.allocations import allocation_runs, allocation_shares
from db.reads.invoices import invoice_detail
from db.reads.tenants import tenant_story
from db.users import authenticate, list_users


def _breakdown(session, tenant_id: str, period_label: str):
    [invoice] = [i for i in tenant_story(session, tenant_id).invoices
                 if i.period_label == period_label and i.status != "void"]
    detail = invoice_detail(session, tenant_id, invoice.invoice_id)
    return invoice.status, str(invoice.total), [
        (line.kind, line.description, str(line.amount)) for line in detail.lines]


def _counts(engine) -> tuple:
    with engine.connect() as connection:
        return tuple(connection.execute(text("""
            SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM invoices),
                   (SELECT count(*) FROM invoice_lines), (SELECT count(*) FROM credits),
                   (SELECT count(*) FROM allocation_runs), (SELECT count(*) FROM month_end_runs),
                   (SELECT count(*) FROM audit_log)
        """)).one())


def test_demo_data_is_idempotent_and_reproduces_the_incidents(fresh_engine):
    first = load_demo_data(fresh_engine)
    counts = _counts(fresh_engine)
    second = load_demo_data(fresh_engine)
    assert (first.loaded, second.loaded) == (True, False)
    assert _counts(fresh_engine) == counts
    assert first.month_end_invoices_created > 200

    with Session(fresh_engine) as session:
        assert _breakdown(session, "ent-acme-corp", "2024-11") == ("draft", "$800.00", [
            ("recurring", "Compute tier (legacy)", "$300.00"),
            ("recurring", "Compute tier", "$500.00")])
        assert _breakdown(session, "ent-globex-industries", "2024-11") == ("draft", "$1,000.00", [
            ("recurring", "Compute tier", "$1,000.00")])
        assert len(tenant_story(session, "ent-globex-industries").invoices) == 1
        assert _breakdown(session, "ent-initech", "2024-11") == ("draft", "$850.00", [
            ("recurring", "Compute tier", "$1,000.00"),
            ("discount", "Enterprise discount", "-$100.00"),
            ("discount", "Promotional credit", "-$50.00")])
        assert _breakdown(session, "ent-umbrella", "2024-10") == ("paid", "$1,000.00", [
            ("recurring", "Compute tier", "$1,000.00")])
        assert _breakdown(session, "ent-umbrella", "2024-11") == ("draft", "$800.00", [
            ("recurring", "Compute tier", "$1,000.00"),
            ("credit", "Service credit: Outage 2024-11-12, 4 hours", "-$200.00")])
        assert _breakdown(session, "smb-wayne-tech", "2024-11") == ("draft", "$100.00", [
            ("recurring", "Storage 1 TB", "$100.00")])
        [run] = allocation_runs(session)
        assert {s.tenant_id: s.amount for s in allocation_shares(session, run)} == {
            "ent-acme-corp": Money("333.30", "USD"),
            "ent-globex-industries": Money("333.30", "USD"),
            "ent-initech": Money("333.40", "USD")}


@pytest.fixture
def first_start(fresh_engine, monkeypatch):
    """`ensure_ready()` as the app's first start on the embedded server sees it (no
    DATABASE_URL), on this test's own empty database instead of `.pgdata/`."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("LEDGERLINE_DEMO", raising=False)
    monkeypatch.setattr(db.database, "database_url", lambda: fresh_engine.url)
    monkeypatch.setattr(db.database, "_engine", None)

    def start():  # as ledgerline_ui.shell.setup starts the app
        engine = db.database.ensure_ready()
        if demo_data_requested():
            load_demo_data(engine)
        engine.dispose()
        db.database._engine = None

    return start


def test_a_plain_first_start_loads_no_demo_data_and_no_accounts(first_start, fresh_engine):
    first_start()
    with Session(fresh_engine) as session:
        assert list_users(session) == []
        assert session.execute(text("SELECT count(*) FROM tenants")).scalar_one() == 0


def test_LEDGERLINE_DEMO_1_loads_the_demo_data_and_its_accounts(first_start, fresh_engine,
                                                                monkeypatch):
    monkeypatch.setenv("LEDGERLINE_DEMO", "1")
    first_start()
    with Session(fresh_engine) as session:
        assert [(u.email, u.role) for u in list_users(session)] == sorted(
            (email, role.value) for email, _, role in DEMO_ACCOUNTS)
        assert authenticate(session, "finance2@demo", DEMO_PASSWORD).role is Role.FINANCE
        assert session.execute(text("SELECT count(*) FROM tenants")).scalar_one() > 300
