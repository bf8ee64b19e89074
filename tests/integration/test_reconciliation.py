"""Legacy reconciliation on a real PostgreSQL: import all or nothing, the six symptoms found,
credits issued once however often (or however concurrently) finance presses, duplicates voided
once, everything in the audit log."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.errors import InvalidInput
from billing_core.legacy_csv import LegacyFileError
from billing_core.periods import calendar_month
from billing_core.reconciliation import Rule
from db.credit_ledger import credit_balance
from db.credits import issue_service_credit
from db.demo_data import load_demo_data
from db.invoicing import generate_invoice
from db.reconciliation import (
    import_legacy_file,
    issue_legacy_credits,
    reconciliation_report,
    void_legacy_duplicates,
)
from tests.actors import finance
from tests.helpers import usd
from tests.integration.factories import add_plan, add_tenant

SAMPLE = Path(__file__).resolve().parents[2] / "db" / "sample_data" / "legacy_invoices.csv"
INCIDENT_TENANTS = ("ent-acme-corp", "ent-globex-industries", "ent-initech", "ent-umbrella",
                    "smb-wayne-tech")
ACTOR = finance("finance@test")
OUTAGE = "Outage 2024-11-12, 4 hours"


def committing_actor():
    """A finance user of the test's own, for tests that commit: what one user gives counts for
    24 hours (db/four_eyes.py), and committed credits must not fill another test's window."""
    return finance(f"finance-{uuid.uuid4().hex[:8]}@test")


def incident_file(session, new_tenant_id) -> tuple[str, dict[str, str]]:
    """The sample file, for fresh tenants of this test's own (same names, new ids), its
    allocation under an id of its own too (a split is every share of its id, and tests that
    commit would otherwise add their shares to each other's)."""
    content = SAMPLE.read_text(encoding="utf-8").replace(
        "OLD-ALLOC-2024-11-DB", f"OLD-ALLOC-{uuid.uuid4().hex[:8]}")
    ids = {}
    for tenant in INCIDENT_TENANTS:
        ids[tenant] = add_tenant(session, new_tenant_id(tenant))
        content = content.replace(f",{tenant},", f",{ids[tenant]},")
    return content, ids


def counts(session) -> dict[str, int]:
    return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("legacy_imports", "legacy_invoices", "legacy_allocation_shares",
                          "legacy_corrections", "credits", "audit_log")}


def test_the_imported_sample_reports_the_six_incident_symptoms(session, new_tenant_id):
    content, ids = incident_file(session, new_tenant_id)
    result = import_legacy_file(session, content, "legacy_invoices.csv", actor=ACTOR)
    assert (result.invoice_count, result.allocation_count) == (8, 3)

    report = reconciliation_report(session, list(ids.values()))
    assert [(r.discrepancy.tenant_id, r.discrepancy.rule, r.discrepancy.difference, r.state)
            for r in report.rows] == [
        (ids["ent-acme-corp"], Rule.PRORATION, usd("2.00"), "service credit proposed"),
        (ids["ent-globex-industries"], Rule.DUPLICATE_INVOICE, usd("1000.00"), "void proposed"),
        (ids["ent-initech"], Rule.DISCOUNT_ORDER, usd("5.00"), "service credit proposed"),
        (ids["ent-umbrella"], Rule.CREDIT_ON_FINALIZED, usd("200.00"), "service credit proposed"),
        (ids["smb-wayne-tech"], Rule.OVERAGE_AT_LIMIT, usd("23.00"), "service credit proposed"),
        (ids["ent-initech"], Rule.ALLOCATION_ROUNDING, usd("-0.10"),
         "undercharge: reported only"),
    ]
    assert report.imports[0].actor == ACTOR.user_id
    assert session.execute(text("""
        SELECT after FROM audit_log WHERE action = 'legacy_import.created' AND entity_id = :id
    """), {"id": str(result.import_id)}).scalar_one() == {
        "file_name": "legacy_invoices.csv", "invoices": 8, "allocations": 3}


def test_a_malformed_file_imports_nothing_and_names_the_bad_line(session, new_tenant_id):
    content, _ = incident_file(session, new_tenant_id)
    lines = content.splitlines()
    lines[4] = lines[4].replace("1000.00,,,,1000.00", "1000.00,,,,10OO.00")  # letter O
    before = counts(session)
    with pytest.raises(LegacyFileError) as raised:
        import_legacy_file(session, "\n".join(lines), "broken.csv", actor=ACTOR)
    assert [(p.line, p.reason) for p in raised.value.problems] == [
        (5, "billed_total: '10OO.00' is not a number")]
    assert counts(session) == before


def test_unknown_tenants_and_foreign_currencies_are_bad_lines_too(session, new_tenant_id):
    content, ids = incident_file(session, new_tenant_id)
    content = content.replace(f",{ids['smb-wayne-tech']},", ",smb-nobody-here,")
    content = content.replace("OLD-2024-10-0005,paid,USD", "OLD-2024-10-0005,paid,EUR")
    before = counts(session)
    with pytest.raises(LegacyFileError) as raised:
        import_legacy_file(session, content, "legacy.csv", actor=ACTOR)
    assert [(p.line, p.reason) for p in raised.value.problems] == [
        (7, f"currency: {ids['ent-umbrella']} bills in USD, the row says EUR"),
        (9, "tenant_id: 'smb-nobody-here' is not a tenant here; add the tenant first")]
    assert counts(session) == before


def test_one_error_names_bad_numbers_statuses_unknown_tenants_and_foreign_currencies(
        session, new_tenant_id):
    content, ids = incident_file(session, new_tenant_id)
    lines = content.splitlines()
    lines[2] = lines[2].replace("802.0000001,,,,802.0000001", "802.0000001,,,,8O2.00")
    lines[3] = lines[3].replace("OLD-2024-11-0002,finalized", "OLD-2024-11-0002,sent")
    lines[6] = lines[6].replace("OLD-2024-10-0005,paid,USD", "OLD-2024-10-0005,paid,EUR")
    lines[8] = lines[8].replace(f",{ids['smb-wayne-tech']},", ",smb-nobody-here,")
    # One line wrong twice over: a bad status for a tenant that is not here.
    lines[7] = lines[7].replace(f",{ids['ent-umbrella']},", ",ent-nobody-here,").replace(
        "OLD-2024-11-0005,paid", "OLD-2024-11-0005,settled")
    before = counts(session)
    with pytest.raises(LegacyFileError) as raised:
        import_legacy_file(session, "\n".join(lines), "legacy.csv", actor=ACTOR)
    assert [(p.line, p.reason) for p in raised.value.problems] == [
        (3, "billed_total: '8O2.00' is not a number"),
        (4, "status: 'sent' is not one of draft, finalized, paid, void"),
        (7, f"currency: {ids['ent-umbrella']} bills in USD, the row says EUR"),
        (8, "status: 'settled' is not one of draft, finalized, paid, void"),
        (8, "tenant_id: 'ent-nobody-here' is not a tenant here; add the tenant first"),
        (9, "tenant_id: 'smb-nobody-here' is not a tenant here; add the tenant first")]
    assert str(raised.value).startswith("legacy file: 5 bad lines, nothing imported: line 3: ")
    assert counts(session) == before


def test_the_same_file_twice_is_refused_line_by_line(session, new_tenant_id):
    content, _ = incident_file(session, new_tenant_id)
    import_legacy_file(session, content, "legacy.csv", actor=ACTOR)
    before = counts(session)
    with pytest.raises(LegacyFileError) as raised:
        import_legacy_file(session, content, "legacy.csv", actor=ACTOR)
    assert len(raised.value.problems) == 11
    assert raised.value.problems[0].reason.endswith("was imported before")
    assert counts(session) == before


def test_issuing_the_proposed_credits_twice_issues_each_once(session, new_tenant_id):
    content, ids = incident_file(session, new_tenant_id)
    import_legacy_file(session, content, "legacy.csv", actor=ACTOR)
    report = reconciliation_report(session, list(ids.values()))
    keys = [row.discrepancy.key for row in report.proposed_credits]
    assert len(keys) == 4

    first = issue_legacy_credits(session, keys, actor=ACTOR)
    after_first = counts(session)
    second = issue_legacy_credits(session, keys, actor=ACTOR)

    assert (len(first.done), len(first.already)) == (4, 0)
    assert (len(second.done), len(second.already)) == (0, 4)
    assert counts(session) == after_first
    assert sorted(first.amounts, key=lambda m: m.amount) == [
        usd("2.00"), usd("5.00"), usd("23.00"), usd("200.00")]
    # No draft invoice: each credit waits on the tenant's balance for the next invoice.
    assert credit_balance(session, ids["ent-umbrella"]) == usd("200.00")
    assert credit_balance(session, ids["ent-acme-corp"]) == usd("2.00")
    audited = session.execute(text("""
        SELECT action, count(*) FROM audit_log WHERE tenant_id = ANY(:ids) GROUP BY action
    """), {"ids": list(ids.values())}).all()
    assert dict(audited) == {"legacy_correction.credited": 4, "credit.issued": 4,
                             "credit_balance.added": 4}
    states = {row.discrepancy.rule: row.state
              for row in reconciliation_report(session, list(ids.values())).rows}
    assert states[Rule.PRORATION].startswith("credit #")
    assert states[Rule.ALLOCATION_ROUNDING] == "undercharge: reported only"


def test_an_undercharge_or_a_duplicate_cannot_be_credited(session, new_tenant_id):
    content, ids = incident_file(session, new_tenant_id)
    import_legacy_file(session, content, "legacy.csv", actor=ACTOR)
    rows = reconciliation_report(session, list(ids.values())).rows
    by_rule = {row.discrepancy.rule: row.discrepancy.key for row in rows}
    before = counts(session)
    with pytest.raises(InvalidInput, match="undercharges are reported, not collected"):
        issue_legacy_credits(session, [by_rule[Rule.ALLOCATION_ROUNDING]], actor=ACTOR)
    with pytest.raises(InvalidInput, match="a duplicate; void it instead"):
        issue_legacy_credits(session, [by_rule[Rule.DUPLICATE_INVOICE]], actor=ACTOR)
    assert counts(session) == before


def test_a_duplicate_is_voided_once(session, new_tenant_id):
    content, ids = incident_file(session, new_tenant_id)
    import_legacy_file(session, content, "legacy.csv", actor=ACTOR)
    [duplicate] = reconciliation_report(session, list(ids.values())).proposed_voids
    first = void_legacy_duplicates(session, [duplicate.discrepancy.key], actor=ACTOR)
    second = void_legacy_duplicates(session, [duplicate.discrepancy.key], actor=ACTOR)
    assert (len(first.done), len(second.done), len(second.already)) == (1, 0, 1)
    assert session.execute(text("""
        SELECT voided_by, status FROM legacy_invoices WHERE tenant_id = :t AND legacy_id = :l
    """), {"t": ids["ent-globex-industries"], "l": "OLD-2024-11-0003"}).one() == (ACTOR.user_id,
                                                                                  "finalized")
    assert session.execute(text("""
        SELECT count(*) FROM audit_log WHERE action = 'legacy_invoice.voided' AND tenant_id = :t
    """), {"t": ids["ent-globex-industries"]}).scalar_one() == 1
    [row] = [r for r in reconciliation_report(session, list(ids.values())).rows
             if r.discrepancy.rule == Rule.DUPLICATE_INVOICE]
    assert row.state == "voided"


def test_two_finance_users_issuing_at_once_issue_each_credit_once(sessions, new_tenant_id):
    actor = committing_actor()
    with sessions.begin() as session:
        content, ids = incident_file(session, new_tenant_id)
        import_legacy_file(session, content, "legacy.csv", actor=actor)
        keys = [row.discrepancy.key for row in
                reconciliation_report(session, list(ids.values())).proposed_credits]
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def press() -> None:
        try:
            barrier.wait()
            with sessions.begin() as session:
                outcomes.append(issue_legacy_credits(session, keys, actor=actor))
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted((len(o.done), len(o.already)) for o in outcomes) == [(0, 4), (4, 0)]
    with sessions() as session:
        assert session.execute(text("""
            SELECT count(*) FROM credits WHERE tenant_id = ANY(:ids)
        """), {"ids": list(ids.values())}).scalar_one() == 4
        assert session.execute(text("""
            SELECT count(*) FROM legacy_corrections WHERE tenant_id = ANY(:ids)
        """), {"ids": list(ids.values())}).scalar_one() == 4


# --- credits already granted for the same event ---------------------------------------------


def november_draft(session, tenant_id: str) -> int:
    """Put the tenant on the $1,000.00 compute tier and generate its November draft."""
    add_plan(session, "test-compute-1000", 100000)
    session.execute(text("""
        INSERT INTO subscriptions (tenant_id, starts_on, plan_id)
        VALUES (:tenant_id, :starts_on, 'test-compute-1000')
    """), {"tenant_id": tenant_id, "starts_on": date(2024, 1, 1)})
    return generate_invoice(session, tenant_id, calendar_month("2024-11"),
                            actor=ACTOR).invoice_id


def grant_outage_credit(session, tenant_id: str, reason: str = OUTAGE, actor=ACTOR) -> int:
    """The demo's ent-umbrella credit: $200.00 for the November outage."""
    return issue_service_credit(session, tenant_id, usd("200.00"), reason, actor=actor,
                                idempotency_key="umbrella-outage-2024-11-12").credit_id


def umbrella_credits(session, tenant_id: str) -> list[tuple[int, str]]:
    return [tuple(row) for row in session.execute(text("""
        SELECT amount_minor, idempotency_key FROM credits WHERE tenant_id = :t ORDER BY credit_id
    """), {"t": tenant_id})]


def today(session) -> str:
    return session.execute(text("SELECT (now() AT TIME ZONE 'UTC')::date")).scalar_one(
        ).isoformat()


@pytest.mark.parametrize(("landing", "reason", "landed"), [
    ("draft", "Service outage", "on the 2024-11 draft"),
    ("balance", OUTAGE, "on the credit balance"),
], ids=["landed on the November draft", "waits on the balance, its reason names 2024-11-12"])
def test_a_credit_already_granted_for_the_period_is_shown_and_not_proposed(
        session, new_tenant_id, landing, reason, landed):
    content, ids = incident_file(session, new_tenant_id)
    umbrella = ids["ent-umbrella"]
    if landing == "draft":
        november_draft(session, umbrella)
    credit_id = grant_outage_credit(session, umbrella, reason)
    import_legacy_file(session, content, "legacy.csv", actor=ACTOR)

    report = reconciliation_report(session, list(ids.values()))
    [row] = [r for r in report.rows if r.discrepancy.tenant_id == umbrella]
    assert (row.discrepancy.rule, row.discrepancy.difference, row.state) == (
        Rule.CREDIT_ON_FINALIZED, usd("200.00"), "already granted: not proposed")
    assert row.already_granted.describe() == (
        f"$200.00 service credit #{credit_id}, {today(session)}, '{reason}', {landed}")
    assert report.left_out == (row,)
    assert [r.discrepancy.rule for r in report.proposed_credits] == [
        Rule.PRORATION, Rule.DISCOUNT_ORDER, Rule.OVERAGE_AT_LIMIT]
    # The overcharge was real: it stays in the totals, only its correction is not proposed.
    [overall] = report.totals.overall
    assert overall.overcharged == usd("1230.00")


def test_a_credit_granted_after_the_report_leaves_its_correction_out_at_issue_time(
        session, new_tenant_id):
    content, ids = incident_file(session, new_tenant_id)
    umbrella = ids["ent-umbrella"]
    import_legacy_file(session, content, "legacy.csv", actor=ACTOR)
    keys = [row.discrepancy.key for row in
            reconciliation_report(session, list(ids.values())).proposed_credits]
    assert len(keys) == 4  # the report was drawn before the outage credit

    credit_id = grant_outage_credit(session, umbrella)
    outcome = issue_legacy_credits(session, keys, actor=ACTOR)

    assert umbrella_credits(session, umbrella) == [(20000, "umbrella-outage-2024-11-12")]
    assert (len(outcome.done), len(outcome.already)) == (3, 0)
    [left_out] = outcome.left_out
    assert left_out.key == (umbrella, "invoice", "OLD-2024-11-0005", "credit_on_finalized")
    assert left_out.credit.reference == f"#{credit_id}"
    assert session.execute(text("""
        SELECT count(*) FROM legacy_corrections WHERE tenant_id = :t
    """), {"t": umbrella}).scalar_one() == 0


def test_a_credit_granted_while_the_correction_waits_for_the_tenant_is_seen(
        sessions, new_tenant_id):
    """Two connections: one finance user grants the outage credit and holds the tenant's lock;
    another's press of the old report's proposals waits for it, then leaves the correction
    out instead of crediting the same outage twice."""
    actor = committing_actor()
    with sessions.begin() as session:
        content, ids = incident_file(session, new_tenant_id)
        umbrella = ids["ent-umbrella"]
        import_legacy_file(session, content, "legacy.csv", actor=actor)
        keys = [row.discrepancy.key for row in
                reconciliation_report(session, list(ids.values())).proposed_credits]
    assert len(keys) == 4

    granting = sessions()
    granting.begin()
    granter_pid = granting.execute(text("SELECT pg_backend_pid()")).scalar_one()
    grant_outage_credit(granting, umbrella, actor=committing_actor())
    issuer_pid: list[int] = []
    outcomes, errors = [], []

    def press() -> None:
        try:
            with sessions.begin() as session:
                issuer_pid.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                outcomes.append(issue_legacy_credits(session, keys, actor=actor))
        except Exception as error:  # reported below
            errors.append(error)

    pressing = threading.Thread(target=press)
    pressing.start()
    try:
        with sessions() as watcher:
            deadline = time.monotonic() + 30
            while not (issuer_pid and watcher.execute(
                    text("SELECT :holder = ANY(pg_blocking_pids(:waiter))"),
                    {"holder": granter_pid, "waiter": issuer_pid[0]}).scalar_one()):
                assert pressing.is_alive(), f"the press did not wait for the grant: {errors}"
                assert time.monotonic() < deadline, "the press never waited for the grant"
                time.sleep(0.02)
        granting.commit()
    finally:
        granting.close()
        pressing.join(timeout=60)
    assert errors == []
    with sessions() as session:
        assert umbrella_credits(session, umbrella) == [(20000, "umbrella-outage-2024-11-12")]
    [outcome] = outcomes
    assert (len(outcome.done), [left.key[2] for left in outcome.left_out]) == (
        3, ["OLD-2024-11-0005"])


def test_the_demo_datas_umbrella_outage_is_shown_as_already_granted_not_proposed(fresh_engine):
    load_demo_data(fresh_engine)
    with Session(fresh_engine) as session:
        report = reconciliation_report(session)
        outage_credit = session.execute(text("""
            SELECT credit_id FROM credits
            WHERE tenant_id = 'ent-umbrella' AND idempotency_key = 'umbrella-outage-2024-11-12'
        """)).scalar_one()
        when = today(session)
    [umbrella] = [row for row in report.rows if row.discrepancy.legacy_id == "OLD-2024-11-0005"]
    assert umbrella.state == "already granted: not proposed"
    assert umbrella.already_granted.describe() == (
        f"$200.00 service credit #{outage_credit}, {when}, 'Outage 2024-11-12, 4 hours', "
        "on the 2024-11 draft")
    assert report.left_out == (umbrella,)
    assert [(row.discrepancy.tenant_id, row.discrepancy.rule) for row in
            report.proposed_credits] == [("ent-acme-corp", Rule.PRORATION),
                                          ("ent-initech", Rule.DISCOUNT_ORDER),
                                          ("smb-wayne-tech", Rule.OVERAGE_AT_LIMIT)]
