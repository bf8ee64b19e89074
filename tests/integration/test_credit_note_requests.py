"""Credit notes are as strict and as guarded as credits (hardening items 6 and 9).

- Item 6: a credit note's idempotency key is one note per tenant. The same key with the
  same invoice, amount and reason is the same note; with anything else it is InvalidInput
  on `idempotency_key`, never the old note returned nor a database error; two uses at once
  on two invoices make one note and one refusal.
- Item 9: a note above the approval threshold is a request that a second finance user
  approves, as a large service credit is; approving it twice issues one note; an invoice
  voided (or filled by other notes) since the request makes the approval a clear refusal
  and the request stays pending.

Every test gives its users fresh ids: the 24-hour window is per user, and committed tests
share a database for the whole session.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from billing_core.access import ApprovalRequired, PermissionDenied, SelfApprovalRefused
from billing_core.credit_requests import CreditRequestKind
from billing_core.errors import CreditNoteTooLarge, InvalidInput
from billing_core.periods import calendar_month
from db.credit_requests import (
    RequestNoLongerApplies,
    approve_credit_request,
    pending_credit_requests,
    reject_credit_request,
    request_credit,
    request_credit_note,
)
from db.credits import CREDIT_APPROVAL_ENV, issue_credit_note, issue_service_credit
from db.invoicing import generate_invoice
from db.transitions import finalize_invoice, void_invoice
from tests.actors import customer_success, finance, someone
from tests.helpers import usd
from tests.integration.factories import add_plan, add_tenant

OCTOBER, NOVEMBER = calendar_month("2024-10"), calendar_month("2024-11")
SETUP = finance("setup@test")


def notes(session, tenant_id: str) -> list[tuple]:
    """(invoice_id, amount_minor, reason, idempotency_key) of the tenant's notes, in order."""
    return [tuple(row) for row in session.execute(text("""
        SELECT invoice_id, amount_minor, reason, idempotency_key FROM credit_notes
        WHERE tenant_id = :t ORDER BY credit_note_id
    """), {"t": tenant_id})]


def written(session) -> dict[str, int]:
    return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("credit_notes", "credit_requests", "credits", "audit_log")}


@pytest.fixture(autouse=True)
def _threshold_1000(monkeypatch):
    monkeypatch.setenv(CREDIT_APPROVAL_ENV, "1000.00")


def _finalized_tenant(session, tenant_id: str) -> tuple[str, int, int]:
    """A tenant on a $2,000.00 plan whose October and November invoices are finalized."""
    add_plan(session, "test-compute-2000", 200000)
    tenant = add_tenant(session, tenant_id, plans=[(date(2024, 1, 1), "test-compute-2000")])
    invoices = []
    for period in (OCTOBER, NOVEMBER):
        invoice_id = generate_invoice(session, tenant, period, actor=SETUP).invoice_id
        finalize_invoice(session, tenant, invoice_id, actor=SETUP)
        invoices.append(invoice_id)
    return tenant, invoices[0], invoices[1]


@pytest.fixture
def invoiced(session, new_tenant_id) -> tuple[str, int, int]:
    return _finalized_tenant(session, new_tenant_id("noted"))


def _label(session, tenant_id: str, invoice_id: int) -> str:
    return session.execute(text("SELECT number FROM invoices WHERE tenant_id = :t AND "
                                "invoice_id = :i"), {"t": tenant_id, "i": invoice_id}).scalar_one()


# --- item 6: one key, one note ------------------------------------------------------------------


def test_the_same_key_with_the_same_note_is_the_same_note(session, invoiced):
    tenant, october, _ = invoiced
    alice = someone("alice")
    first = issue_credit_note(session, tenant, october, usd("300.00"), "Billed twice",
                              actor=alice, idempotency_key="note")
    again = issue_credit_note(session, tenant, october, usd("300.00"), "Billed twice",
                              actor=alice, idempotency_key="note")
    assert (again.credit_note_id, again.number, again.created) == (
        first.credit_note_id, first.number, False)
    assert again.creditable_left == usd("1700.00")
    assert notes(session, tenant) == [(october, 30000, "Billed twice", "note")]


@pytest.mark.parametrize(("amount", "reason", "on_november", "difference"), [
    pytest.param("250.00", "Billed twice", False, "$300.00, not $250.00", id="other-amount"),
    pytest.param("300.00", "Wrong tier", False, "reason 'Billed twice', not 'Wrong tier'",
                 id="other-reason"),
    pytest.param("300.00", "Billed twice", True, "invoice {october}, not {november}",
                 id="other-invoice"),
])
def test_the_same_key_for_another_note_is_refused_on_the_key_and_writes_nothing(
        session, invoiced, amount, reason, on_november, difference):
    tenant, october, november = invoiced
    alice = someone("alice")
    issue_credit_note(session, tenant, october, usd("300.00"), "Billed twice", actor=alice,
                      idempotency_key="note")
    before = written(session)
    with pytest.raises(InvalidInput) as refused:
        issue_credit_note(session, tenant, november if on_november else october, usd(amount),
                          reason, actor=alice, idempotency_key="note")
    labels = {"october": _label(session, tenant, october),
              "november": _label(session, tenant, november)}
    assert refused.value.field == "idempotency_key"
    assert str(refused.value) == ("idempotency_key: 'note' was already used for a different "
                                  f"credit note ({difference.format(**labels)})")
    assert written(session) == before
    assert notes(session, tenant) == [(october, 30000, "Billed twice", "note")]


def _send_at_once(sessions, tenant: str, invoice_ids: tuple[int, ...],
                  key: str) -> tuple[list, list]:
    """One note per invoice, all with `key`, each by its own finance user in its own
    transaction, released together: (notes issued, InvalidInput refusals)."""
    barrier = threading.Barrier(len(invoice_ids))
    issued, refused, errors = [], [], []

    def send(invoice_id: int, actor) -> None:
        try:
            with sessions.begin() as session:
                session.connection()
                barrier.wait(timeout=60)
                issued.append(issue_credit_note(session, tenant, invoice_id, usd("1.00"),
                                                "Rounding", actor=actor, idempotency_key=key))
        except InvalidInput as error:
            refused.append(error)
        except Exception as error:  # asserted empty below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(invoice_id, someone(f"u{n}")))
               for n, invoice_id in enumerate(invoice_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return issued, refused


def test_two_uses_of_one_key_on_two_invoices_at_once_make_one_note_and_one_refusal(
        sessions, new_tenant_id):
    """Twenty rounds: each lets two finance users send one key at the same moment, one on
    October and one on November of the same tenant."""
    with sessions.begin() as session:
        tenant, october, november = _finalized_tenant(session, new_tenant_id("race"))
    for round_no in range(20):
        key = f"race-{round_no}"
        issued, refused = _send_at_once(sessions, tenant, (october, november), key)
        assert (len(issued), len(refused)) == (1, 1), f"round {round_no}"
        assert refused[0].field == "idempotency_key"
        assert "was already used for a different credit note (invoice INV-" in str(refused[0])
        with sessions() as session:
            assert [row[3] for row in notes(session, tenant)].count(key) == 1


def test_the_database_keeps_one_note_per_key_per_tenant(session, invoiced):
    tenant, october, november = invoiced
    issue_credit_note(session, tenant, october, usd("1.00"), "x", actor=someone("alice"),
                      idempotency_key="k")
    with (pytest.raises(IntegrityError, match="uq_credit_notes_tenant_idempotency_key"),
          session.begin_nested()):
        session.execute(text("""
            INSERT INTO credit_notes (tenant_id, invoice_id, number, amount_minor, currency,
                                      reason, actor, idempotency_key)
            VALUES (:t, :i, 'CN-TEST-' || :t, 100, 'USD', 'x', 'sql', 'k')
        """), {"t": tenant, "i": november})


# --- item 9: a large note needs a second finance user -------------------------------------------


def test_a_note_above_the_threshold_is_requested_and_a_second_user_approves_it_once(
        session, invoiced):
    tenant, october, _ = invoiced
    alice, bob = someone("alice"), someone("bob")
    before = written(session)
    with pytest.raises(ApprovalRequired, match=r"^A credit note of \$1,500\.00 is above "
                                               r"\$1,000\.00 and needs a second finance user's"):
        issue_credit_note(session, tenant, october, usd("1500.00"), "Wrong tier", actor=alice,
                          idempotency_key="big")
    assert written(session) == before

    asked = request_credit_note(session, tenant, october, usd("1500.00"), "Wrong tier",
                                actor=alice, idempotency_key="big")
    assert (asked.kind, asked.invoice_id, asked.invoice_label, asked.status, asked.created) == (
        CreditRequestKind.CREDIT_NOTE, october, _label(session, tenant, october), "pending", True)
    assert notes(session, tenant) == []  # a request is not a note
    assert [r.request_id for r in pending_credit_requests(session, tenant_id=tenant)] == [
        asked.request_id]

    first = approve_credit_request(session, tenant, asked.request_id, actor=bob)
    again = approve_credit_request(session, tenant, asked.request_id, actor=bob)
    assert first.credit is None and first.credit_note.created
    assert first.credit_note.amount == usd("1500.00")
    assert first.credit_note.creditable_left == usd("500.00")
    assert (first.request.status, first.request.decided_by, first.request.credit_note_id) == (
        "approved", bob.user_id, first.credit_note.credit_note_id)
    assert (again.credit_note.credit_note_id, again.credit_note.number,
            again.credit_note.created) == (first.credit_note.credit_note_id,
                                           first.credit_note.number, False)
    assert again.credit_note.creditable_left == usd("500.00")
    assert notes(session, tenant) == [(october, 150000, "Wrong tier", "big")]
    assert session.execute(text("SELECT actor FROM credit_notes WHERE tenant_id = :t"),
                           {"t": tenant}).scalar_one() == bob.user_id
    # The same request sent again is the same request.
    assert request_credit_note(session, tenant, october, usd("1500.00"), "Wrong tier",
                               actor=alice, idempotency_key="big").created is False


def test_two_finance_users_approving_one_note_request_at_once_issue_one_note(
        sessions, new_tenant_id):
    with sessions.begin() as session:
        tenant, october, _ = _finalized_tenant(session, new_tenant_id("approve-race"))
        request_id = request_credit_note(session, tenant, october, usd("1500.00"), "Wrong tier",
                                         actor=someone("alice"),
                                         idempotency_key="big").request_id
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def approve(approver) -> None:
        try:
            with sessions.begin() as session:
                session.connection()
                barrier.wait(timeout=60)
                outcomes.append(approve_credit_request(session, tenant, request_id,
                                                       actor=approver))
        except Exception as error:  # asserted empty below
            errors.append(error)

    threads = [threading.Thread(target=approve, args=(someone(f"approver{n}"),)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(o.credit_note.created for o in outcomes) == [False, True]
    with sessions() as session:
        assert notes(session, tenant) == [(october, 150000, "Wrong tier", "big")]


def test_the_requester_cannot_approve_their_own_note_request(session, invoiced):
    tenant, october, _ = invoiced
    alice = someone("alice")
    asked = request_credit_note(session, tenant, october, usd("1500.00"), "Wrong tier",
                                actor=alice, idempotency_key="big")
    before = written(session)
    with pytest.raises(SelfApprovalRefused, match=f"{alice.user_id} requested credit request "
                       f"#{asked.request_id} and cannot approve it; a second finance user must"):
        approve_credit_request(session, tenant, asked.request_id, actor=alice)
    assert written(session) == before
    assert pending_credit_requests(session, tenant_id=tenant)[0].status == "pending"


def test_approving_after_the_invoice_was_voided_is_refused_and_the_request_stays_pending(
        session, invoiced):
    tenant, october, _ = invoiced
    asked = request_credit_note(session, tenant, october, usd("1500.00"), "Wrong tier",
                                actor=someone("alice"), idempotency_key="big")
    void_invoice(session, tenant, october, actor=SETUP)
    before = written(session)
    with pytest.raises(RequestNoLongerApplies) as refused:
        approve_credit_request(session, tenant, asked.request_id, actor=someone("bob"))
    assert str(refused.value) == (
        f"Credit request #{asked.request_id} cannot be approved: Invoice "
        f"{_label(session, tenant, october)} is void; a credit note corrects only a finalized "
        "or paid invoice. Nothing was issued and the request stays pending: reject it.")
    assert written(session) == before
    [still] = pending_credit_requests(session, tenant_id=tenant)
    assert (still.request_id, still.status) == (asked.request_id, "pending")
    rejected = reject_credit_request(session, tenant, asked.request_id, actor=someone("bob"),
                                     note="Invoice voided")
    assert (rejected.status, rejected.credit_note_id) == ("rejected", None)
    assert notes(session, tenant) == []


def test_approving_after_other_notes_took_the_room_is_refused(session, invoiced):
    tenant, october, _ = invoiced
    asked = request_credit_note(session, tenant, october, usd("1500.00"), "Wrong tier",
                                actor=someone("alice"), idempotency_key="big")
    issue_credit_note(session, tenant, october, usd("600.00"), "Billed twice",
                      actor=someone("carol"), idempotency_key="small")
    with pytest.raises(RequestNoLongerApplies, match=r"cannot be approved: Credit note of "
                       r"\$1,500\.00 for invoice INV-\d{4}-\d{6} is too large: only \$1,400\.00 "
                       r"can still be credited"):
        approve_credit_request(session, tenant, asked.request_id, actor=someone("bob"))
    assert notes(session, tenant) == [(october, 60000, "Billed twice", "small")]


@pytest.mark.parametrize(("invoice", "amount", "error", "message"), [
    pytest.param("draft", "1500.00", InvalidInput, "is draft; a credit note corrects only a "
                 "finalized or paid invoice", id="draft-invoice"),
    pytest.param("october", "2000.01", CreditNoteTooLarge, r"only \$2,000\.00 can still be "
                 "credited", id="above-the-invoice-total"),
    pytest.param("october", "0.00", InvalidInput, "amount: \\$0.00 is not a credit note",
                 id="zero"),
])
def test_a_note_request_that_could_never_be_approved_is_refused_when_sent(
        session, invoiced, invoice, amount, error, message):
    tenant, october, _ = invoiced
    draft = generate_invoice(session, tenant, calendar_month("2024-12"), actor=SETUP).invoice_id
    before = written(session)
    with pytest.raises(error, match=message):
        request_credit_note(session, tenant, draft if invoice == "draft" else october,
                            usd(amount), "Wrong tier", actor=someone("alice"),
                            idempotency_key="big")
    assert written(session) == before


def test_a_request_key_reused_for_another_note_or_a_credit_is_refused(session, invoiced):
    tenant, october, november = invoiced
    alice = someone("alice")
    request_credit_note(session, tenant, october, usd("1500.00"), "Wrong tier", actor=alice,
                        idempotency_key="big")
    with pytest.raises(InvalidInput) as other_invoice:
        request_credit_note(session, tenant, november, usd("1500.00"), "Wrong tier",
                            actor=alice, idempotency_key="big")
    assert str(other_invoice.value) == (
        "idempotency_key: 'big' was already used for a different credit note request (invoice "
        f"{_label(session, tenant, october)}, not {_label(session, tenant, november)})")
    with pytest.raises(InvalidInput, match=r"was already used for a different credit request "
                                           r"\(credit note, not service credit\)"):
        request_credit(session, tenant, usd("1500.00"), "Wrong tier", actor=alice,
                       idempotency_key="big")
    assert len(pending_credit_requests(session, tenant_id=tenant)) == 1


def test_customer_success_may_not_request_a_credit_note(session, invoiced):
    tenant, october, _ = invoiced
    before = written(session)
    with pytest.raises(PermissionDenied, match="^Customer success — cs@test may not request "
                                               "credit notes$"):
        request_credit_note(session, tenant, october, usd("10.00"), "Fix",
                            actor=customer_success(), idempotency_key="cs")
    assert written(session) == before


# --- the 24-hour window -------------------------------------------------------------------------


def test_an_approved_note_neither_counts_in_the_window_nor_is_refused_by_it(session, invoiced):
    tenant, october, november = invoiced
    alice, bob = someone("alice"), someone("bob")
    issue_credit_note(session, tenant, november, usd("1000.00"), "Billed twice", actor=bob,
                      idempotency_key="direct")  # the tenant's window and bob's are full
    asked = request_credit_note(session, tenant, october, usd("1500.00"), "Wrong tier",
                                actor=alice, idempotency_key="big")
    assert approve_credit_request(session, tenant, asked.request_id, actor=bob).credit_note.created

    other, other_october, _ = _finalized_tenant(session, f"{tenant}-other")
    elsewhere = request_credit_note(session, other, other_october, usd("1500.00"), "Wrong tier",
                                    actor=bob, idempotency_key="big")
    approve_credit_request(session, other, elsewhere.request_id, actor=alice)
    # alice approved $1,500.00 of notes for another tenant: her own limit is still whole.
    assert issue_service_credit(session, other, usd("1000.00"), "Outage", actor=alice,
                                idempotency_key="direct").created


def test_a_note_past_the_window_says_to_send_a_credit_note_request(session, invoiced):
    tenant, october, _ = invoiced
    alice = someone("alice")
    issue_credit_note(session, tenant, october, usd("900.00"), "Billed twice", actor=alice,
                      idempotency_key="first")
    with pytest.raises(ApprovalRequired) as refused:
        issue_credit_note(session, tenant, october, usd("200.00"), "Rounding", actor=alice,
                          idempotency_key="second")
    assert str(refused.value).endswith(
        "Send it as a credit note request for another finance user to approve.")
    # ... and that request, approved by someone else, goes through.
    asked = request_credit_note(session, tenant, october, usd("200.00"), "Rounding",
                                actor=alice, idempotency_key="second")
    assert approve_credit_request(session, tenant, asked.request_id,
                                  actor=someone("bob")).credit_note.created


# --- the database's own rules -------------------------------------------------------------------


@pytest.mark.parametrize(("columns", "constraint"), [
    pytest.param("'credit_note', NULL", "ck_credit_requests_note_request_names_invoice",
                 id="note-request-without-invoice"),
    pytest.param("'service_credit', :i", "ck_credit_requests_note_request_names_invoice",
                 id="credit-request-with-invoice"),
    pytest.param("'refund', NULL", "ck_credit_requests_kind_known", id="unknown-kind"),
])
def test_the_database_refuses_a_request_that_names_the_wrong_things(
        session, invoiced, columns, constraint):
    tenant, october, _ = invoiced
    with pytest.raises(IntegrityError, match=constraint), session.begin_nested():
        session.execute(text(f"""
            INSERT INTO credit_requests (tenant_id, kind, invoice_id, amount_minor, currency,
                                         reason, idempotency_key, requested_by, requested_by_role)
            VALUES (:t, {columns}, 100, 'USD', 'x', 'sql', 'sql', 'finance')
        """), {"t": tenant, "i": october})


def test_a_note_request_names_an_invoice_of_its_own_tenant(session, invoiced, new_tenant_id):
    tenant, october, _ = invoiced
    stranger = add_tenant(session, new_tenant_id("stranger"))
    with (pytest.raises(IntegrityError, match="fk_credit_requests_tenant_id_invoice_id_invoices"),
          session.begin_nested()):
        session.execute(text("""
            INSERT INTO credit_requests (tenant_id, kind, invoice_id, amount_minor, currency,
                                         reason, idempotency_key, requested_by, requested_by_role)
            VALUES (:t, 'credit_note', :i, 100, 'USD', 'x', 'sql', 'sql', 'finance')
        """), {"t": stranger, "i": october})
