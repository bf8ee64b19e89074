"""What the reconciliation screen says about credits already granted and refused files: plain
text in cells, escaped text in sentences."""

from __future__ import annotations

from datetime import date

from billing_core.already_granted import GrantedBeside, GrantedCredit
from billing_core.legacy_csv import LineProblem
from billing_core.periods import calendar_month
from billing_core.reconciliation import Discrepancy, Rule, Source
from db.reconciliation import CorrectionOutcome, LeftOut, ReportRow
from ledgerline_ui.back_office.reconciliation_view import (
    bad_lines_table,
    granted_text,
    left_out_sentence,
    outcome_sentence,
)
from tests.helpers import usd

HOSTILE_ID = "$x$ **OLD-1**"


def granted(reference: str, amount: str, reason: str) -> GrantedCredit:
    return GrantedCredit("service credit", reference, "ent-umbrella", usd(amount),
                         date(2024, 12, 3), reason, calendar_month("2024-11"), "the 2024-11 draft")


def test_the_credit_that_already_gave_a_correction_reads_first():
    other, outage = granted("#4", "50.00", "Goodwill 2024-11-02"), granted("#5", "200.00", "Outage")
    item = Discrepancy(Source.INVOICE, "ent-umbrella", "OLD-2024-11-0005", "2024-11",
                       Rule.CREDIT_ON_FINALIZED, usd("1000.00"), usd("800.00"), usd("200.00"),
                       "explained")
    row = ReportRow(item, None, GrantedBeside((other, outage), outage))
    assert row.state == "already granted: not proposed"
    assert granted_text(row) == (
        "$200.00 service credit #5, 2024-12-03, 'Outage', on the 2024-11 draft; "
        "$50.00 service credit #4, 2024-12-03, 'Goodwill 2024-11-02', on the 2024-11 draft")


def test_a_correction_left_out_at_issue_time_is_named_escaped():
    outcome = CorrectionOutcome((("ent-acme-corp", "invoice", "OLD-2", "proration"),), (),
                                (usd("2.00"),), (LeftOut(("ent-umbrella", "invoice", HOSTILE_ID,
                                                          "credit_on_finalized"),
                                                         granted("#5", "200.00", "Outage")),))
    assert outcome_sentence(outcome, "issued") == (
        "1 service credit issued ($2.00); 1 left out: already granted since the report "
        r"(\$x\$ \*\*OLD-1\*\* of ent-umbrella), see the table.")


def test_the_counts_and_the_bad_lines_read_plainly():
    assert left_out_sentence(1) == "1 proposal left out: already granted."
    assert left_out_sentence(2) == "2 proposals left out: already granted."
    table = bad_lines_table([LineProblem(1, None, "missing column currency"),
                             LineProblem(4, "tenant_id", f"{HOSTILE_ID!r} is not a tenant here")])
    assert table.to_dict("records") == [
        {"Line": 1, "Column": "", "Problem": "missing column currency"},
        {"Line": 4, "Column": "tenant_id", "Problem": f"{HOSTILE_ID!r} is not a tenant here"}]
