"""Roles in the operations layer (issue #5): every role against every changing operation, credit
requests approved by a second finance user, local accounts and the command line."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from billing_core.access import (
    ROLE_LABELS,
    ApprovalRequired,
    Permission,
    PermissionDenied,
    Role,
    SelfApprovalRefused,
)
from billing_core.credit_requests import RequestAlreadyDecided
from billing_core.errors import BillingError
from billing_core.periods import calendar_month
from db.allocation_runs import allocate_by_usage, allocate_by_weights
from db.credit_requests import (
    approve_credit_request,
    reject_credit_request,
    request_credit,
    request_credit_note,
)
from db.credits import CREDIT_APPROVAL_ENV, issue_credit_note, issue_service_credit
from db.invoicing import generate_invoice, generate_invoices
from db.month_end import run_month_end
from db.reads.audit import audit_log
from db.reconciliation import import_legacy_file, issue_legacy_credits, void_legacy_duplicates
from db.transitions import finalize_invoice, record_payment, void_invoice
from db.users import SignInRefused, authenticate, create_user
from tests.actors import actor_of, customer_success, finance, manager
from tests.helpers import usd
from tests.integration.factories import add_plan, add_tenant, add_usage

OCTOBER, NOVEMBER, DECEMBER = (calendar_month(m) for m in ("2024-10", "2024-11", "2024-12"))


@dataclass(frozen=True)
class Books:
    tenant: str
    other: str
    finalized: int
    draft: int
    pending_request: int


@pytest.fixture
def books(session, new_tenant_id) -> Books:
    """A tenant with October finalized, November a draft, and a pending request by someone else."""
    add_plan(session, "test-compute-1000", 100000)
    tenant = add_tenant(session, new_tenant_id("roles"),
                        plans=[(date(2024, 1, 1), "test-compute-1000")])
    other = add_tenant(session, new_tenant_id("roles-other"),
                       plans=[(date(2024, 1, 1), "test-compute-1000")])
    add_usage(session, tenant, "storage", date(2024, 11, 5), 10)
    setup = finance("setup@test")
    october = generate_invoice(session, tenant, OCTOBER, actor=setup).invoice_id
    finalize_invoice(session, tenant, october, actor=setup)
    november = generate_invoice(session, tenant, NOVEMBER, actor=setup).invoice_id
    request = request_credit(session, tenant, usd("20.00"), "Outage", actor=customer_success(
        "someone-else@test"), idempotency_key="pending").request_id
    return Books(tenant, other, october, november, request)


# operation name -> (permission it needs, how to call it)
OPERATIONS = {
    "generate_invoice": (Permission.GENERATE_INVOICES, lambda s, a, b: generate_invoice(
        s, b.tenant, DECEMBER, actor=a)),
    "generate_invoices": (Permission.GENERATE_INVOICES, lambda s, a, b: generate_invoices(
        s, [b.tenant, b.other], DECEMBER, actor=a)),
    "finalize_invoice": (Permission.FINALIZE_INVOICES, lambda s, a, b: finalize_invoice(
        s, b.tenant, b.draft, actor=a)),
    "void_invoice": (Permission.VOID_INVOICES, lambda s, a, b: void_invoice(
        s, b.tenant, b.draft, actor=a)),
    "record_payment": (Permission.RECORD_PAYMENTS, lambda s, a, b: record_payment(
        s, b.tenant, b.finalized, actor=a)),
    "issue_service_credit": (Permission.ISSUE_CREDITS, lambda s, a, b: issue_service_credit(
        s, b.tenant, usd("10.00"), "Goodwill", actor=a, idempotency_key="direct")),
    "issue_credit_note": (Permission.ISSUE_CREDIT_NOTES, lambda s, a, b: issue_credit_note(
        s, b.tenant, b.finalized, usd("10.00"), "Fix", actor=a, idempotency_key="note")),
    "request_credit": (Permission.REQUEST_CREDITS, lambda s, a, b: request_credit(
        s, b.tenant, usd("10.00"), "Goodwill", actor=a, idempotency_key="asked")),
    "request_credit_note": (Permission.REQUEST_CREDIT_NOTES, lambda s, a, b: request_credit_note(
        s, b.tenant, b.finalized, usd("10.00"), "Fix", actor=a, idempotency_key="note-asked")),
    "approve_credit_request": (Permission.DECIDE_CREDIT_REQUESTS,
                               lambda s, a, b: approve_credit_request(
                                   s, b.tenant, b.pending_request, actor=a)),
    "reject_credit_request": (Permission.DECIDE_CREDIT_REQUESTS,
                              lambda s, a, b: reject_credit_request(
                                  s, b.tenant, b.pending_request, actor=a)),
    "allocate_by_weights": (Permission.RUN_ALLOCATIONS, lambda s, a, b: allocate_by_weights(
        s, "Shared", usd("1.00"), {b.tenant: 1, b.other: 1}, actor=a)),
    "allocate_by_usage": (Permission.RUN_ALLOCATIONS, lambda s, a, b: allocate_by_usage(
        s, "Shared", usd("1.00"), "storage", NOVEMBER, actor=a)),
}
# Reconciliation: finance gets past the permission check to the operation's own refusal of
# an empty file or selection (the reconciliation tests cover the rest).
PAST_THE_GUARD = {
    "import_legacy_file": (Permission.RECONCILE_LEGACY_BILLING,
                           lambda s, a, b: import_legacy_file(s, "", "empty.csv", actor=a)),
    "issue_legacy_credits": (Permission.RECONCILE_LEGACY_BILLING,
                             lambda s, a, b: issue_legacy_credits(s, [], actor=a)),
    "void_legacy_duplicates": (Permission.RECONCILE_LEGACY_BILLING,
                               lambda s, a, b: void_legacy_duplicates(s, [], actor=a)),
}
OPERATIONS.update(PAST_THE_GUARD)
ROLE_CASES = [(name, role) for name in OPERATIONS for role in Role]
WRITTEN = ("audit_log", "invoices", "invoice_lines", "credits", "credit_ledger", "credit_notes",
           "credit_requests", "allocation_runs", "month_end_runs")


def _counts(session) -> dict[str, int]:
    return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in WRITTEN}


def _statuses(session, books: Books) -> list[tuple]:
    return [tuple(row) for row in session.execute(text("""
        SELECT invoice_id, status, total_minor FROM invoices WHERE tenant_id = :t ORDER BY 1
    """), {"t": books.tenant})] + [tuple(row) for row in session.execute(text("""
        SELECT request_id, status FROM credit_requests WHERE tenant_id = :t ORDER BY 1
    """), {"t": books.tenant})]


@pytest.mark.parametrize("operation, role", ROLE_CASES,
                         ids=[f"{name}-{role.value}" for name, role in ROLE_CASES])
def test_every_role_against_every_operation(session, books, operation, role):
    permission, call = OPERATIONS[operation]
    actor = actor_of(role)
    if role is Role.FINANCE and operation in PAST_THE_GUARD:
        with pytest.raises(BillingError) as refused:
            call(session, actor, books)
        assert not isinstance(refused.value, PermissionDenied)
        return
    if role is Role.FINANCE:
        call(session, actor, books)  # allowed: no error
        return
    allowed = role is Role.CUSTOMER_SUCCESS and permission is Permission.REQUEST_CREDITS
    if allowed:
        assert call(session, actor, books).status == "pending"
        return
    before, states = _counts(session), _statuses(session, books)
    with pytest.raises(PermissionDenied) as refused:
        call(session, actor, books)
    assert str(refused.value) == f"{actor} may not {permission}"
    assert _counts(session) == before  # a refused operation writes nothing
    assert _statuses(session, books) == states


@pytest.mark.parametrize("role", list(Role), ids=[role.value for role in Role])
def test_only_finance_runs_month_end(fresh_engine, role):
    if role is Role.FINANCE:
        assert run_month_end(fresh_engine, "2024-11", actor=actor_of(role)).tenants_in_scope == 0
        return
    with pytest.raises(PermissionDenied, match=f"^{ROLE_LABELS[role]} — .* may not run month-end$"):
        run_month_end(fresh_engine, "2024-11", actor=actor_of(role), dry_run=True)
    with fresh_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM month_end_runs")).scalar_one() == 0


def _credits(session, tenant: str) -> list[tuple]:
    return [tuple(row) for row in session.execute(text("""
        SELECT amount_minor, actor, idempotency_key FROM credits WHERE tenant_id = :t
    """), {"t": tenant})]


def test_a_customer_success_request_approved_by_finance_lands_once(session, books):
    requested = request_credit(session, books.tenant, usd("150.00"), "Slow support",
                               actor=customer_success(), idempotency_key="cs-1")
    assert _credits(session, books.tenant) == []  # a request is not a credit

    first = approve_credit_request(session, books.tenant, requested.request_id,
                                   actor=finance("approver@test"))
    again = approve_credit_request(session, books.tenant, requested.request_id,
                                   actor=finance("approver@test"))

    assert first.credit.created and not again.credit.created
    assert again.credit.credit_id == first.credit.credit_id
    assert first.request.status == "approved" and first.request.decided_by == "approver@test"
    assert first.credit.applied == usd("150.00")  # it landed on the November draft
    assert _credits(session, books.tenant) == [(15000, "approver@test", "cs-1")]
    # The same request sent twice is one request.
    assert request_credit(session, books.tenant, usd("150.00"), "Slow support",
                          actor=customer_success(), idempotency_key="cs-1").created is False


def test_two_finance_users_approving_at_once_land_one_credit(sessions, new_tenant_id):
    with sessions.begin() as session:
        add_plan(session, "test-compute-1000", 100000)
        tenant = add_tenant(session, new_tenant_id("race"),
                            plans=[(date(2024, 1, 1), "test-compute-1000")])
        generate_invoice(session, tenant, NOVEMBER, actor=finance())
        request_id = request_credit(session, tenant, usd("300.00"), "Outage",
                                    actor=customer_success(), idempotency_key="race").request_id
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def approve(approver: str) -> None:
        try:
            with sessions.begin() as session:
                session.connection()
                barrier.wait()
                outcomes.append(approve_credit_request(session, tenant, request_id,
                                                       actor=finance(approver)))
        except Exception as error:  # collected, then asserted empty
            errors.append(error)

    threads = [threading.Thread(target=approve, args=(f"approver{n}@test",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(o.credit.created for o in outcomes) == [False, True]
    assert len({o.credit.credit_id for o in outcomes}) == 1
    with sessions() as session:
        assert len(_credits(session, tenant)) == 1
        assert session.execute(text("SELECT total_minor FROM invoices WHERE tenant_id = :t"),
                               {"t": tenant}).scalar_one() == 70000


def test_the_requester_cannot_approve_their_own_request(session, books):
    requested = request_credit(session, books.tenant, usd("5000.00"), "Big outage",
                               actor=finance("alice@test"), idempotency_key="big")
    before = _counts(session)
    with pytest.raises(SelfApprovalRefused,
                       match=f"alice@test requested credit request #{requested.request_id} and "
                             "cannot approve it; a second finance user must"):
        approve_credit_request(session, books.tenant, requested.request_id,
                               actor=finance("alice@test"))
    assert _counts(session) == before
    approved = approve_credit_request(session, books.tenant, requested.request_id,
                                      actor=finance("bob@test"))
    assert approved.credit.created


def test_a_rejected_request_writes_no_credit_and_stays_rejected(session, books):
    rejected = reject_credit_request(session, books.tenant, books.pending_request,
                                     actor=finance(), note="Not our outage")
    assert (rejected.status, rejected.decided_by, rejected.credit_id) == (
        "rejected", "finance@test", None)
    with pytest.raises(RequestAlreadyDecided, match="was already rejected by finance@test"):
        approve_credit_request(session, books.tenant, books.pending_request,
                               actor=finance("other@test"))
    assert _credits(session, books.tenant) == []


def test_finance_cannot_issue_a_credit_above_the_threshold_alone(session, books, monkeypatch):
    monkeypatch.setenv(CREDIT_APPROVAL_ENV, "500.00")
    before = _counts(session)
    with pytest.raises(ApprovalRequired, match=r"^A credit of \$500\.01 is above \$500\.00"):
        issue_service_credit(session, books.tenant, usd("500.01"), "Big", actor=finance(),
                             idempotency_key="too-big")
    assert _counts(session) == before
    assert issue_service_credit(session, books.tenant, usd("500.00"), "At the limit",
                                actor=finance(), idempotency_key="at-limit").created


def test_audit_rows_carry_the_actor_and_the_role(session, books):
    requested = request_credit(session, books.tenant, usd("12.00"), "Goodwill",
                               actor=customer_success("casey@test"), idempotency_key="audit")
    approve_credit_request(session, books.tenant, requested.request_id,
                           actor=finance("fran@test"))
    rows = session.execute(text("""
        SELECT actor, actor_role, action FROM audit_log
        WHERE tenant_id = :t AND entity_id IN (:r, (SELECT credit_id::text FROM credits
                                                    WHERE tenant_id = :t))
        ORDER BY audit_id
    """), {"t": books.tenant, "r": str(requested.request_id)}).all()
    assert [tuple(row) for row in rows] == [
        ("casey@test", "customer_success", "credit_request.created"),
        ("fran@test", "finance", "credit.issued"),
        ("fran@test", "finance", "credit_request.approved"),
    ]
    assert {entry.actor for entry in audit_log(session, tenant_id=books.tenant)} >= {
        "setup@test", "casey@test", "fran@test", "someone-else@test"}


def test_a_manager_is_refused_before_anything_is_read(session):
    with pytest.raises(PermissionDenied):
        finalize_invoice(session, "no-such-tenant", 1, actor=manager())


def test_sign_in_checks_the_argon2_hash_and_slows_wrong_guesses(session):
    user = create_user(session, "Dana@Example.com", Role.MANAGER, "correct horse battery",
                       display_name="Dana")
    assert (user.email, user.role, user.has_password) == ("dana@example.com", "manager", True)
    stored = session.execute(text("SELECT password_hash FROM users WHERE email = :e"),
                             {"e": "dana@example.com"}).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored

    actor = authenticate(session, " dana@example.com ", "correct horse battery")
    assert (actor.user_id, actor.role) == ("dana@example.com", Role.MANAGER)
    for _ in range(2):  # two mistakes are free
        with pytest.raises(SignInRefused, match="^Email or password is wrong.$"):
            authenticate(session, "dana@example.com", "wrong password")
    with pytest.raises(SignInRefused) as third:
        authenticate(session, "dana@example.com", "wrong password")
    assert third.value.wait_seconds == 2
    with pytest.raises(SignInRefused, match="Too many wrong passwords for this email"):
        authenticate(session, "dana@example.com", "correct horse battery")  # even the right one


def test_an_unknown_email_reads_like_a_wrong_password_and_is_slowed_too(session):
    for _ in range(2):
        with pytest.raises(SignInRefused, match="^Email or password is wrong.$"):
            authenticate(session, "nobody@example.com", "whatever it is")
    with pytest.raises(SignInRefused, match="Too many wrong passwords"):
        authenticate(session, "nobody@example.com", "whatever it is")


def test_the_command_line_creates_a_user_with_an_argon2_hash(users_command, engine):
    email = "cli-user@example.com"
    code, out, err = users_command(
        ["create", "--email", email, "--role", "customer_success", "--name", "Cli User",
         "--password-stdin"], stdin="a long enough password\n")
    assert (code, out.strip()) == (0, f"Created {email} (customer_success)."), err
    with engine.connect() as connection:
        row = connection.execute(text("""
            SELECT role, display_name, password_hash, is_active FROM users WHERE email = :e
        """), {"e": email}).one()
    assert (row.role, row.display_name, row.is_active) == ("customer_success", "Cli User", True)
    assert row.password_hash.startswith("$argon2id$")

    code, out, _ = users_command(["list"])
    assert code == 0 and f"{email}\tcustomer_success\tactive\tpassword\tCli User" in out
    code, _, err = users_command(
        ["create", "--email", email, "--role", "finance", "--password-stdin"],
        stdin="another long password\n")
    assert code == 2 and "already has an account" in err
    code, out, _ = users_command(["deactivate", "--email", email])
    assert (code, out.strip()) == (0, f"Deactivated {email}.")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT is_active FROM users WHERE email = :e"),
                                  {"e": email}).scalar_one() is False


def test_threshold_setting_is_read_from_the_environment(monkeypatch):
    from db.credits import DEFAULT_CREDIT_APPROVAL_ABOVE, credit_approval_threshold

    monkeypatch.delenv(CREDIT_APPROVAL_ENV, raising=False)
    assert credit_approval_threshold() == DEFAULT_CREDIT_APPROVAL_ABOVE == Decimal("1000.00")
    monkeypatch.setenv(CREDIT_APPROVAL_ENV, " 250.5 ")
    assert credit_approval_threshold() == Decimal("250.5")
