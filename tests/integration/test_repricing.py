"""Drafts priced again in the caller's transaction; finalizing what was reviewed (SPEC 11, 13)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from billing_core.access import PermissionDenied
from billing_core.drafts import CreditsExceedNewTotal, DraftChanged
from billing_core.periods import calendar_month
from db import repricing
from db.credits import issue_service_credit
from db.invoicing import generate_invoice
from db.repricing import reprice_drafts
from db.transitions import finalize_invoice
from tests.actors import customer_success, finance
from tests.helpers import usd
from tests.integration.factories import add_plan, add_tenant, invoice_lines, invoice_row

NOVEMBER = calendar_month("2024-11")
ACTOR = finance("finance@test")


def _draft_on_600(session, tenant_id: str) -> int:
    add_plan(session, "test-reprice-600", 60000)
    add_plan(session, "test-reprice-1000", 100000)
    add_tenant(session, tenant_id, plans=[(date(2024, 11, 1), "test-reprice-600")])
    return generate_invoice(session, tenant_id, NOVEMBER, actor=ACTOR).invoice_id


def _upgrade_on_the_16th(session, tenant_id: str) -> None:
    session.execute(text("INSERT INTO subscriptions (tenant_id, starts_on, plan_id) "
                         "VALUES (:t, '2024-11-16', 'test-reprice-1000')"), {"t": tenant_id})


def test_a_draft_priced_again_gets_new_lines_totals_version_and_an_audit_row(
        session, new_tenant_id):
    tenant = new_tenant_id("reprice")
    invoice_id = _draft_on_600(session, tenant)
    _upgrade_on_the_16th(session, tenant)

    [repriced] = reprice_drafts(session, [(tenant, NOVEMBER)], actor=ACTOR,
                                cause="plan change from 2024-11-16")

    assert (repriced.total_before, repriced.total_after, repriced.price_version) == (
        usd("600.00"), usd("800.00"), 2)
    assert [amount for _, _, amount in invoice_lines(session, tenant, invoice_id)] == [
        30000, 50000]
    row = invoice_row(session, tenant, invoice_id)
    assert (row["subtotal_minor"], row["total_minor"], row["price_version"]) == (80000, 80000, 2)
    before, after = session.execute(text(
        "SELECT before, after FROM audit_log WHERE action = 'invoice.repriced' "
        "AND tenant_id = :t"), {"t": tenant}).one()
    assert (before["total_minor"], before["price_version"]) == (60000, 1)
    assert (after["total_minor"], after["price_version"], after["cause"]) == (
        80000, 2, "plan change from 2024-11-16")


def test_a_draft_whose_lines_do_not_change_keeps_its_version(session, new_tenant_id):
    tenant = new_tenant_id("same")
    invoice_id = _draft_on_600(session, tenant)
    assert reprice_drafts(session, [(tenant, NOVEMBER)], actor=ACTOR, cause="nothing") == []
    assert invoice_row(session, tenant, invoice_id)["price_version"] == 1


def test_credits_the_draft_carries_stay_after_the_new_lines(session, new_tenant_id):
    tenant = new_tenant_id("credit")
    invoice_id = _draft_on_600(session, tenant)
    issue_service_credit(session, tenant, usd("200.00"), "outage", idempotency_key="k1",
                         actor=ACTOR)
    _upgrade_on_the_16th(session, tenant)
    reprice_drafts(session, [(tenant, NOVEMBER)], actor=ACTOR, cause="upgrade")
    lines = invoice_lines(session, tenant, invoice_id)
    assert [(kind, amount) for kind, _, amount in lines] == [
        ("recurring", 30000), ("recurring", 50000), ("credit", -20000)]
    row = invoice_row(session, tenant, invoice_id)
    assert (row["credit_minor"], row["total_minor"]) == (20000, 60000)


def test_a_new_total_below_the_credits_carried_is_refused(session, new_tenant_id):
    tenant = new_tenant_id("small")
    add_plan(session, "test-reprice-100", 10000)
    invoice_id = _draft_on_600(session, tenant)
    issue_service_credit(session, tenant, usd("500.00"), "outage", idempotency_key="k2",
                         actor=ACTOR)
    session.execute(text("INSERT INTO subscriptions (tenant_id, starts_on, plan_id) "
                         "VALUES (:t, '2024-11-02', 'test-reprice-100')"), {"t": tenant})
    with pytest.raises(CreditsExceedNewTotal, match=r"\$500.00 of credit, more than its new"):
        reprice_drafts(session, [(tenant, NOVEMBER)], actor=ACTOR, cause="downgrade")
    assert invoice_row(session, tenant, invoice_id)["price_version"] == 1


def test_finalizing_a_version_left_behind_is_refused_with_both_totals(session, new_tenant_id):
    tenant = new_tenant_id("stale")
    invoice_id = _draft_on_600(session, tenant)
    _upgrade_on_the_16th(session, tenant)
    reprice_drafts(session, [(tenant, NOVEMBER)], actor=ACTOR, cause="upgrade")

    with pytest.raises(DraftChanged) as refused:
        finalize_invoice(session, tenant, invoice_id, actor=ACTOR, reviewed_version=1)
    assert str(refused.value) == (f"Invoice #{invoice_id} changed since you opened it: "
                                  "$600.00 is now $800.00; review it again")
    assert invoice_row(session, tenant, invoice_id)["status"] == "draft"
    finalized = finalize_invoice(session, tenant, invoice_id, actor=ACTOR, reviewed_version=2)
    assert finalized.status == "finalized"


def test_only_finance_reprices(session, new_tenant_id):
    with pytest.raises(PermissionDenied, match="may not generate invoices"):
        reprice_drafts(session, [("anyone", NOVEMBER)], actor=customer_success(), cause="x")


def test_a_draft_with_the_same_total_but_other_lines_is_priced_again(session, new_tenant_id):
    tenant = new_tenant_id("renamed")
    invoice_id = _draft_on_600(session, tenant)
    add_plan(session, "test-reprice-600-other", 60000)
    session.execute(text("UPDATE subscriptions SET plan_id = 'test-reprice-600-other' "
                         "WHERE tenant_id = :t"), {"t": tenant})
    [repriced] = reprice_drafts(session, [(tenant, NOVEMBER)], actor=ACTOR, cause="same price")
    assert (repriced.total_before, repriced.total_after, repriced.price_version) == (
        usd("600.00"), usd("600.00"), 2)
    assert [description for _, description, _ in invoice_lines(session, tenant, invoice_id)] == [
        "test-reprice-600-other"]


def test_drafts_re_priced_in_chunks_are_all_written_in_tenant_order(
        session, new_tenant_id, monkeypatch):
    # One draft per chunk: each chunk is priced while the one before it is being written.
    monkeypatch.setattr(repricing, "CHUNK", 1)
    tenants = sorted(new_tenant_id(f"chunk{number}") for number in range(3))
    invoice_ids = {tenant: _draft_on_600(session, tenant) for tenant in tenants}
    for tenant in tenants:
        _upgrade_on_the_16th(session, tenant)

    repriced = reprice_drafts(session, [(tenant, NOVEMBER) for tenant in tenants],
                              actor=ACTOR, cause="upgrade")

    assert [(r.tenant_id, r.total_after, r.price_version) for r in repriced] == [
        (tenant, usd("800.00"), 2) for tenant in tenants]
    for tenant, invoice_id in invoice_ids.items():
        assert [amount for _, _, amount in invoice_lines(session, tenant, invoice_id)] == [
            30000, 50000]
    audited = session.execute(text(
        "SELECT tenant_id FROM audit_log WHERE action = 'invoice.repriced' "
        "AND tenant_id = ANY(:t) ORDER BY audit_id"), {"t": tenants}).scalars().all()
    assert audited == tenants


def test_a_refusal_in_a_later_chunk_takes_back_the_chunks_written_before_it(
        session, new_tenant_id, monkeypatch):
    monkeypatch.setattr(repricing, "CHUNK", 1)
    add_plan(session, "test-reprice-100", 10000)
    first, second = sorted([new_tenant_id("written"), new_tenant_id("refused")])
    invoices = {tenant: _draft_on_600(session, tenant) for tenant in (first, second)}
    _upgrade_on_the_16th(session, first)
    issue_service_credit(session, second, usd("500.00"), "outage", idempotency_key="k3",
                         actor=ACTOR)
    session.execute(text("INSERT INTO subscriptions (tenant_id, starts_on, plan_id) "
                         "VALUES (:t, '2024-11-02', 'test-reprice-100')"), {"t": second})
    lines_before = {tenant: invoice_lines(session, tenant, invoice_id)
                    for tenant, invoice_id in invoices.items()}

    with pytest.raises(CreditsExceedNewTotal):
        reprice_drafts(session, [(first, NOVEMBER), (second, NOVEMBER)], actor=ACTOR,
                       cause="changes")

    for tenant, invoice_id in invoices.items():
        assert invoice_row(session, tenant, invoice_id)["price_version"] == 1
        assert invoice_lines(session, tenant, invoice_id) == lines_before[tenant]
    assert session.execute(text(
        "SELECT count(*) FROM audit_log WHERE action = 'invoice.repriced' "
        "AND tenant_id = ANY(:t)"), {"t": [first, second]}).scalar_one() == 0


def test_a_draft_written_in_a_savepoint_is_not_written_again_by_its_lines(
        session, new_tenant_id):
    # The lines' guard gives a draft not yet written here a write that changes nothing
    # (0007); a draft this transaction wrote, inside a savepoint too (0016: a preview, a
    # chunked re-pricing, this test), keeps its row version.
    tenant = new_tenant_id("held")
    key = {"t": tenant, "i": _draft_on_600(session, tenant)}
    with session.begin_nested():
        session.execute(text("UPDATE invoices SET price_version = price_version + 1 "
                             "WHERE tenant_id = :t AND invoice_id = :i"), key)
        written = session.execute(text(
            "SELECT ctid::text FROM invoices WHERE tenant_id = :t AND invoice_id = :i"), key
        ).scalar_one()
        session.execute(text(
            "DELETE FROM invoice_lines WHERE tenant_id = :t AND invoice_id = :i"), key)
        assert session.execute(text(
            "SELECT ctid::text FROM invoices WHERE tenant_id = :t AND invoice_id = :i"), key
        ).scalar_one() == written
