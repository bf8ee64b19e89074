"""SPEC 8 state table, SPEC 5 credit policy, and the error messages a finance user reads."""

from __future__ import annotations

import itertools

import pytest

from billing_core.credits import (
    ServiceCredit,
    apply_credit,
    check_credit_note,
    check_credit_note_target,
    check_credit_target,
    credit_target,
)
from billing_core.errors import (
    BillingError,
    CreditNoteTooLarge,
    IllegalTransition,
    InvalidInput,
    InvoiceNotOpen,
)
from billing_core.states import (
    ALLOWED_MOVES,
    InvoiceStatus,
    can_move,
    check_transition,
    is_open,
)
from tests.helpers import usd

ALLOWED = [("draft", "finalized"), ("finalized", "paid"), ("draft", "void"), ("finalized", "void")]
STATUSES = ["draft", "finalized", "paid", "void"]
REFUSED = [move for move in itertools.product(STATUSES, STATUSES) if move not in ALLOWED]


def test_the_table_holds_exactly_the_four_moves_of_spec_8():
    assert {(str(a), str(b)) for a, b in ALLOWED_MOVES} == set(ALLOWED)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids="->".join)
def test_every_allowed_move_passes(current, target):
    assert check_transition("INV-2024-000001", current, target) == target
    assert can_move(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED, ids="->".join)
def test_every_other_move_is_refused_naming_the_invoice_and_both_states(current, target):
    with pytest.raises(IllegalTransition) as refused:
        check_transition("INV-2024-000001", current, target)
    error = refused.value
    assert (error.invoice, error.from_status, error.to_status) == (
        "INV-2024-000001", current, target
    )
    assert "INV-2024-000001" in str(error) and current in str(error) and target in str(error)
    assert not can_move(current, target)


def test_finalizing_twice_says_the_invoice_is_already_finalized():
    with pytest.raises(IllegalTransition, match="^Invoice INV-2024-000007 is already finalized$"):
        check_transition("INV-2024-000007", "finalized", "finalized")
    with pytest.raises(IllegalTransition, match="cannot move from paid to void"):
        check_transition("INV-2024-000007", "paid", "void")


def test_an_unknown_status_is_invalid_input():
    with pytest.raises(InvalidInput, match="'sent' is not an invoice status"):
        check_transition("INV-1", "draft", "sent")


@pytest.mark.parametrize(
    ("status", "open_"), [("draft", True), ("finalized", False), ("paid", False), ("void", False)]
)
def test_only_a_draft_is_open(status, open_):
    assert is_open(status) is open_
    assert is_open(InvoiceStatus(status)) is open_


@pytest.mark.parametrize(
    ("status", "target"),
    [
        (None, "balance"),
        ("draft", "invoice"),
        ("finalized", "balance"),
        ("paid", "balance"),
        ("void", "balance"),
    ],
)
def test_a_credit_goes_to_the_open_draft_or_else_waits_on_the_balance(status, target):
    assert credit_target(status) == target


@pytest.mark.parametrize("status", ["finalized", "paid", "void"])
def test_a_credit_aimed_at_a_closed_invoice_is_refused_naming_invoice_and_status(status):
    with pytest.raises(InvoiceNotOpen) as refused:
        check_credit_target("INV-2024-000042", status)
    assert str(refused.value).startswith(f"Invoice INV-2024-000042 is {status};")


@pytest.mark.parametrize(
    ("total", "credit", "applied", "left"),
    [
        pytest.param("1000.00", "200.00", "200.00", "0.00", id="spec-november-reduced-by-200"),
        pytest.param("150.00", "200.00", "150.00", "50.00", id="excess-stays-on-balance"),
        pytest.param("0.00", "200.00", "0.00", "200.00", id="nothing-to-reduce"),
        pytest.param("200.00", "200.00", "200.00", "0.00", id="exactly-the-total"),
    ],
)
def test_a_credit_never_makes_an_invoice_negative(total, credit, applied, left):
    assert apply_credit(usd(total), usd(credit)) == (usd(applied), usd(left))


@pytest.mark.parametrize(("status", "allowed"), [
    ("draft", False), ("finalized", True), ("paid", True), ("void", False)])
def test_a_credit_note_corrects_only_a_finalized_or_paid_invoice(status, allowed):
    if allowed:
        check_credit_note_target("INV-2024-000042", status)
        return
    with pytest.raises(InvalidInput) as refused:
        check_credit_note_target("INV-2024-000042", status)
    assert str(refused.value) == (f"invoice: Invoice INV-2024-000042 is {status}; a credit note "
                                  "corrects only a finalized or paid invoice")


@pytest.mark.parametrize(
    ("total", "earlier", "amount", "room"),
    [
        ("1000.00", "0.00", "1000.00", "0.00"),
        ("1000.00", "700.00", "300.00", "0.00"),
        ("1000.00", "0.00", "0.01", "999.99"),
    ],
)
def test_a_credit_note_may_use_what_earlier_notes_left(total, earlier, amount, room):
    assert check_credit_note("INV-9", usd(total), usd(earlier), usd(amount)) == usd(room)


def test_a_credit_note_larger_than_total_minus_earlier_notes_is_refused():
    with pytest.raises(CreditNoteTooLarge) as refused:
        check_credit_note("INV-9", usd("1000.00"), usd("700.00"), usd("300.01"))
    assert (refused.value.invoice, refused.value.available) == ("INV-9", usd("300.00"))
    assert str(refused.value) == (
        "Credit note of $300.01 for invoice INV-9 is too large: only $300.00 can still be "
        "credited (total minus earlier credit notes)"
    )
    with pytest.raises(InvalidInput):
        check_credit_note("INV-9", usd("1000.00"), usd("0.00"), usd("0.00"))


def test_a_service_credit_has_a_positive_amount_reason_actor_and_idempotency_key():
    credit = ServiceCredit(
        "ent-umbrella", usd("200.00"), "October outage", "ops@ledgerline", "outage-2024-10"
    )
    assert credit.amount == usd("200.00")
    with pytest.raises(InvalidInput, match="^reason: "):
        ServiceCredit("ent-umbrella", usd("200.00"), " ", "ops", "k1")
    with pytest.raises(InvalidInput, match="^amount: "):
        ServiceCredit("ent-umbrella", usd("0.00"), "x", "ops", "k1")


def test_every_billing_error_is_one_family_the_ui_can_catch_once():
    errors = (
        InvoiceNotOpen("I", "paid"),
        IllegalTransition("I", "paid", "void"),
        InvalidInput("f", "p"),
    )
    for error in errors:
        assert isinstance(error, BillingError)
