"""Legacy reconciliation on a real PostgreSQL: import all or nothing, the six symptoms found,
credits issued once however often (or however concurrently) finance presses, duplicates voided
once, everything in the audit log."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from billing_core.errors import InvalidInput
from billing_core.legacy_csv import LegacyFileError
from billing_core.money import Money
from billing_core.reconciliation import Rule
from db.credits import credit_balance
from db.reconciliation import (
    import_legacy_file,
    issue_legacy_credits,
    reconciliation_report,
    void_legacy_duplicates,
)
from tests.actors import finance
from tests.integration.factories import add_tenant

SAMPLE = Path(__file__).resolve().parents[2] / "db" / "sample_data" / "legacy_invoices.csv"
INCIDENT_TENANTS = ("ent-acme-corp", "ent-globex-industries", "ent-initech", "ent-umbrella",
                    "smb-wayne-tech")
ACTOR = finance("finance@test")


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def incident_file(session, new_tenant_id) -> tuple[str, dict[str, str]]:
    """The sample file, for fresh tenants of this test's own (same names, new ids)."""
    content = SAMPLE.read_text(encoding="utf-8")
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
        (ids["ent-acme-corp"], Rule.PRORATION, usd("2.00"), "credit note proposed"),
        (ids["ent-globex-industries"], Rule.DUPLICATE_INVOICE, usd("1000.00"), "void proposed"),
        (ids["ent-initech"], Rule.DISCOUNT_ORDER, usd("5.00"), "credit note proposed"),
        (ids["ent-umbrella"], Rule.CREDIT_ON_FINALIZED, usd("200.00"), "credit note proposed"),
        (ids["smb-wayne-tech"], Rule.OVERAGE_AT_LIMIT, usd("23.00"), "credit note proposed"),
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
    with sessions.begin() as session:
        content, ids = incident_file(session, new_tenant_id)
        import_legacy_file(session, content, "legacy.csv", actor=ACTOR)
        keys = [row.discrepancy.key for row in
                reconciliation_report(session, list(ids.values())).proposed_credits]
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def press() -> None:
        try:
            barrier.wait()
            with sessions.begin() as session:
                outcomes.append(issue_legacy_credits(session, keys, actor=ACTOR))
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
