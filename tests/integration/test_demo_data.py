"""The demo data loads twice without change and shows each incident's correct figures."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.money import Money
from db.demo_data import load_demo_data
from db.queries import allocation_runs, invoice_detail, tenant_story


def _breakdown(session, tenant_id: str, period_label: str):
    [invoice] = [i for i in tenant_story(session, tenant_id).invoices
                 if i.period_label == period_label and i.status != "void"]
    detail = invoice_detail(session, tenant_id, invoice.invoice_id)
    return invoice.status, str(invoice.total), [(l.kind, l.description, str(l.amount))
                                                 for l in detail.lines]


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
        assert {s.tenant_id: s.amount for s in run.shares} == {
            "ent-acme-corp": Money("333.30", "USD"),
            "ent-globex-industries": Money("333.30", "USD"),
            "ent-initech": Money("333.40", "USD")}
