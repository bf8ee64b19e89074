"""One vocabulary: every closed word list is an enum of billing_core, and the schema's CHECKs,
the state tables and the screens' labels are all written from it."""

from __future__ import annotations

import itertools
import re

import pytest

from billing_core import credit_requests, month_end_runs
from billing_core.access import PERSON_ROLES, ROLE_LABELS, Role
from billing_core.allocation_runs import AllocationMethod
from billing_core.credit_ledger import ADDING_KINDS, LEDGER_ENTRY_LABELS, LedgerEntryKind
from billing_core.credit_requests import (
    CreditRequestKind,
    CreditRequestStatus,
    RequestAlreadyDecided,
    check_decision,
)
from billing_core.document_numbers import DocumentSeries, document_number
from billing_core.errors import InvalidInput
from billing_core.lines import LineKind
from billing_core.month_end_runs import (
    IllegalRunMove,
    MonthEndRunStatus,
    check_run_move,
    statuses_moving_to,
)
from billing_core.reconciliation import CorrectionKind, Rule, Source
from billing_core.states import INVOICE_STATUS_LABELS, InvoiceStatus
from billing_core.usage_events import LateUsageStatus, UsageSource
from db.models import Base
from ledgerline_ui.invoices.invoice_trace import KIND_LABELS
from ledgerline_ui.invoices.period_overview import STATUS_LABELS

# (table, CHECK name, the text the migrations wrote, the enum it must list)
VOCABULARY_CHECKS = [
    ("invoices", "status_known", "status IN ('draft', 'finalized', 'paid', 'void')",
     InvoiceStatus),
    ("invoice_lines", "kind_known", "kind IN ('recurring', 'usage', 'discount', 'credit')",
     LineKind),
    ("document_number_counters", "series_known", "series IN ('INV', 'CN')", DocumentSeries),
    ("credit_ledger", "entry_kind_known",
     "entry_kind IN ('credit_added', 'consumed', 'returned_on_void')", LedgerEntryKind),
    ("allocation_runs", "method_known", "method IN ('usage', 'weights')", AllocationMethod),
    ("month_end_runs", "status_known",
     "status IN ('running', 'completed', 'failed', 'interrupted')", MonthEndRunStatus),
    ("users", "role_known", "role IN ('finance', 'customer_success', 'manager')", PERSON_ROLES),
    ("api_keys", "role_known", "role IN ('finance', 'customer_success', 'manager', 'meter')",
     Role),
    ("credit_requests", "status_known", "status IN ('pending', 'approved', 'rejected')",
     CreditRequestStatus),
    ("credit_requests", "kind_known", "kind IN ('service_credit', 'credit_note')",
     CreditRequestKind),
    ("legacy_invoices", "status_known", "status IN ('draft', 'finalized', 'paid', 'void')",
     InvoiceStatus),
    ("legacy_corrections", "source_known", "source IN ('invoice', 'allocation')", Source),
    ("legacy_corrections", "kind_known", "kind IN ('credit', 'void')", CorrectionKind),
    ("legacy_discrepancies", "source_known", "source IN ('invoice', 'allocation')", Source),
    ("legacy_discrepancies", "rule_known",
     "rule IN ('proration', 'discount_order', 'overage_at_limit', 'credit_on_finalized',"
     " 'duplicate_invoice', 'allocation_rounding', 'unexplained')", Rule),
    ("usage_imports", "source_known", "source IN ('file', 'command', 'api')", UsageSource),
    ("late_usage", "status_known", "status IN ('open', 'billed', 'waived')", LateUsageStatus),
]


def _check(table: str, name: str) -> str:
    [constraint] = [c for c in Base.metadata.tables[table].constraints
                    if c.name == f"ck_{table}_{name}"]
    return str(constraint.sqltext)


@pytest.mark.parametrize(("table", "name", "migrated", "vocabulary"), VOCABULARY_CHECKS,
                         ids=[f"{table}.{name}" for table, name, *_ in VOCABULARY_CHECKS])
def test_each_check_lists_exactly_its_enum_in_the_text_the_migrations_wrote(
        table, name, migrated, vocabulary):
    text = _check(table, name)
    assert re.findall(r"'([^']*)'", text) == [word.value for word in vocabulary]
    assert text == migrated  # the same SQL, so models and migrations do not drift


def test_the_other_checks_name_their_words_as_the_migrations_did():
    assert _check("credit_ledger", "sign_matches_kind") == (
        "(entry_kind IN ('credit_added', 'returned_on_void')) = (amount_minor > 0)")
    assert _check("invoices", "number_matches_status") == (
        "CASE status WHEN 'draft' THEN number IS NULL WHEN 'void' THEN true"
        " ELSE number IS NOT NULL END")
    assert _check("credit_requests", "credit_iff_approved_credit") == (
        "(status = 'approved' AND kind = 'service_credit') = (credit_id IS NOT NULL)")
    assert set(ADDING_KINDS) == {LedgerEntryKind.CREDIT_ADDED, LedgerEntryKind.RETURNED_ON_VOID}


# --- labels: one per word, written once ---------------------------------------------------


@pytest.mark.parametrize(("labels", "vocabulary"), [
    (INVOICE_STATUS_LABELS, InvoiceStatus), (STATUS_LABELS, InvoiceStatus),
    (KIND_LABELS, LineKind), (LEDGER_ENTRY_LABELS, LedgerEntryKind), (ROLE_LABELS, Role),
], ids=["invoice statuses", "month overview", "line kinds", "ledger entries", "roles"])
def test_every_word_has_a_label(labels, vocabulary):
    assert set(labels) == set(vocabulary)


def test_the_labels_read_as_before():
    assert [INVOICE_STATUS_LABELS[s] for s in InvoiceStatus] == ["Draft", "Finalized", "Paid",
                                                                 "Void"]
    assert STATUS_LABELS["finalized"] == "Finalized (awaiting payment)"
    assert [KIND_LABELS[k] for k in LineKind] == ["Plan", "Usage", "Discount", "Credit"]
    assert [LEDGER_ENTRY_LABELS[k] for k in LedgerEntryKind] == [
        "credit added", "consumed", "returned on void"]
    assert [k.label for k in CreditRequestKind] == ["service credit", "credit note"]
    assert document_number(DocumentSeries.CREDIT_NOTE, 2024, 1) == "CN-2024-000001"


# --- the credit request state table --------------------------------------------------------

PENDING, APPROVED, REJECTED = CreditRequestStatus
DECISIONS = [(PENDING, APPROVED), (PENDING, REJECTED)]
REPEATS = [(APPROVED, APPROVED), (REJECTED, REJECTED)]
REFUSED_DECISIONS = [move for move in itertools.product(CreditRequestStatus, repeat=2)
                     if move not in DECISIONS + REPEATS]


def test_a_request_moves_only_from_pending_to_approved_or_rejected():
    assert set(credit_requests.ALLOWED_MOVES) == set(DECISIONS)


@pytest.mark.parametrize(("current", "target"), DECISIONS, ids="->".join)
def test_a_pending_request_is_decided(current, target):
    assert check_decision("#12", current, target) is True


@pytest.mark.parametrize(("current", "target"), REPEATS, ids="->".join)
def test_the_same_decision_again_is_a_repeat_not_a_move(current, target):
    assert check_decision("#12", current, target) is False


@pytest.mark.parametrize(("current", "target"), REFUSED_DECISIONS, ids="->".join)
def test_every_other_decision_is_refused_naming_the_request_and_both_states(current, target):
    with pytest.raises(RequestAlreadyDecided) as refused:
        check_decision("#12", current, target, "bo@x")
    error = refused.value
    assert (error.request, error.status, error.target, error.decided_by) == (
        "#12", current, target, "bo@x")
    assert "#12" in str(error) and current in str(error) and target in str(error)


def test_a_rejected_request_approved_says_who_rejected_it():
    with pytest.raises(RequestAlreadyDecided) as refused:
        check_decision("#12", "rejected", "approved", "finance@test")
    assert str(refused.value) == ("Credit request #12 was already rejected by finance@test; "
                                  "it cannot be approved now")


def test_an_unknown_request_status_is_invalid_input():
    with pytest.raises(InvalidInput, match="'granted' is not a credit request status"):
        check_decision("#12", "pending", "granted")


# --- the month-end run state table ---------------------------------------------------------

RUNNING, COMPLETED, FAILED, INTERRUPTED = MonthEndRunStatus
RUN_ENDS = [(RUNNING, COMPLETED), (RUNNING, FAILED), (RUNNING, INTERRUPTED)]
REFUSED_RUN_MOVES = [move for move in itertools.product(MonthEndRunStatus, repeat=2)
                     if move not in RUN_ENDS]


def test_a_run_record_only_ends_and_ends_once():
    assert set(month_end_runs.ALLOWED_MOVES) == set(RUN_ENDS)
    assert statuses_moving_to(INTERRUPTED) == (RUNNING,)
    assert statuses_moving_to(RUNNING) == ()


@pytest.mark.parametrize(("current", "target"), RUN_ENDS, ids="->".join)
def test_a_running_record_ends_completed_failed_or_interrupted(current, target):
    assert check_run_move("12", current, target) is target


@pytest.mark.parametrize(("current", "target"), REFUSED_RUN_MOVES, ids="->".join)
def test_every_other_run_move_is_refused_naming_the_run_and_both_states(current, target):
    with pytest.raises(IllegalRunMove) as refused:
        check_run_move("12", current, target)
    error = refused.value
    assert (error.run, error.from_status, error.to_status) == ("12", current, target)
    assert str(error) == f"Month-end run 12 cannot move from {current} to {target}"


def test_an_unknown_run_status_is_invalid_input():
    with pytest.raises(InvalidInput, match="'paused' is not a month-end run status"):
        check_run_move("12", "running", "paused")
