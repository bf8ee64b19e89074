"""Reconciliation's one pass over the stored report is reused while nothing it counts has
changed, and made again after an import or a correction (issue 16: the screen no longer
recomputes its report on every rerun)."""

from __future__ import annotations

from sqlalchemy import event

from billing_core.reconciliation import CorrectionKind, Rule
from db.reads.reconciliation import report_summary, selected_keys
from db.reconciliation import import_legacy_file, issue_legacy_credits
from tests.integration.test_reconciliation import ACTOR, incident_file
from tests.integration.test_stored_reconciliation_report import HEADER

GROUPED_PASS = "GROUP BY d.rule, d.tenant_id, d.currency"


def test_the_report_pass_runs_again_only_after_an_import_or_a_correction(
        session, new_tenant_id):
    passes: list[str] = []

    def count_passes(connection, cursor, statement, *_):
        if GROUPED_PASS in statement:
            passes.append(statement)

    event.listen(session.connection(), "before_cursor_execute", count_passes)
    content, ids = incident_file(session, new_tenant_id)
    acme = ids["ent-acme-corp"]
    import_legacy_file(session, content, "legacy.csv", actor=ACTOR)

    first = report_summary(session)
    again = report_summary(session)
    assert len(passes) == 1
    assert again == first

    keys = selected_keys(session, first, CorrectionKind.CREDIT, Rule.PRORATION, acme)
    issue_legacy_credits(session, keys, actor=ACTOR)
    corrected = report_summary(session)
    assert len(passes) == 2
    assert corrected.proposed_credit_count == first.proposed_credit_count - 1

    import_legacy_file(session, HEADER + f"invoice,{acme},2024-10,OLD-AGAIN,paid,USD,"
                       "2024-06-01 compute-600 600.00,600.00,600.00\n", "again.csv", actor=ACTOR)
    reimported = report_summary(session)
    assert len(passes) == 3
    assert reimported.proposed_void_count == corrected.proposed_void_count + 1
