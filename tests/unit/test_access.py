"""The role table of issue #5, every role against every permission, and the approval policy."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_core.access import (
    ROLE_LABELS,
    ROLE_PERMISSIONS,
    Actor,
    Permission,
    PermissionDenied,
    Role,
    SelfApprovalRefused,
    check_credit_approver,
    is_allowed,
    needs_second_approval,
    require,
    sign_in_wait_seconds,
)
from billing_core.errors import BillingError, InvalidInput
from billing_core.money import Money

# What issue #5 says, written out by hand: the table in access.py must say the same.
EXPECTED = {
    Role.FINANCE: set(Permission),
    Role.CUSTOMER_SUCCESS: {Permission.VIEW_BILLING, Permission.USE_PREVIEW,
                            Permission.REQUEST_CREDITS},
    Role.MANAGER: {Permission.VIEW_BILLING},
    Role.METER: {Permission.SEND_USAGE},  # issue 15: a meter may only send usage
}
CASES = [(role, permission, permission in EXPECTED[role])
         for role in Role for permission in Permission]


@pytest.mark.parametrize("role, permission, allowed", CASES,
                         ids=[f"{r.value}-{p.name.lower()}-{'allowed' if a else 'refused'}"
                              for r, p, a in CASES])
def test_each_role_may_do_exactly_what_the_issue_says(role, permission, allowed):
    actor = Actor(f"{role.value}@example.com", role)
    assert is_allowed(actor, permission) is allowed
    if allowed:
        assert require(actor, permission) is actor
    else:
        with pytest.raises(PermissionDenied) as refused:
            require(actor, permission)
        assert str(refused.value) == (f"{ROLE_LABELS[role]} — {role.value}@example.com "
                                      f"may not {permission}")


def test_the_table_covers_every_role_and_only_finance_changes_money():
    assert set(ROLE_PERMISSIONS) == set(Role)
    money_moves = {Permission.ISSUE_CREDITS, Permission.ISSUE_CREDIT_NOTES,
                   Permission.FINALIZE_INVOICES, Permission.RECORD_PAYMENTS,
                   Permission.VOID_INVOICES, Permission.DECIDE_CREDIT_REQUESTS,
                   Permission.SETTLE_LATE_USAGE}
    assert [role for role in Role if money_moves & ROLE_PERMISSIONS[role]] == [Role.FINANCE]


def test_the_refusal_names_actor_role_and_action():
    with pytest.raises(PermissionDenied,
                       match=r"^Customer success — cs@demo may not finalize invoices$"):
        require(Actor("cs@demo", Role.CUSTOMER_SUCCESS), Permission.FINALIZE_INVOICES)


def test_nobody_signed_in_may_do_nothing():
    assert not is_allowed(None, Permission.VIEW_BILLING)
    with pytest.raises(PermissionDenied, match="^Nobody signed in may not view billing data$"):
        require(None, Permission.VIEW_BILLING)


def test_a_plain_string_is_not_an_actor():
    with pytest.raises(TypeError, match="actor: expected Actor, got str"):
        require("finance@demo", Permission.FINALIZE_INVOICES)


def test_an_actor_names_someone_and_has_a_known_role():
    with pytest.raises(InvalidInput, match="^actor: is empty"):
        Actor("  ", Role.FINANCE)
    with pytest.raises(ValueError):
        Actor("x@y", "admin")
    assert Actor("x@y", "manager").role is Role.MANAGER


def test_permission_denied_is_a_billing_error_the_ui_shows():
    assert issubclass(PermissionDenied, BillingError)


@pytest.mark.parametrize("amount, needs", [("1000.00", False), ("1000.01", True), ("5.00", False)],
                         ids=["at the threshold", "a cent above", "small"])
def test_only_credits_above_the_threshold_need_a_second_finance_user(amount, needs):
    assert needs_second_approval(Money(amount, "USD"), Decimal("1000.00")) is needs


def test_the_requester_never_approves_their_own_credit():
    approver = Actor("finance@demo", Role.FINANCE)
    with pytest.raises(SelfApprovalRefused, match="a second finance user must"):
        check_credit_approver(approver, "Finance@Demo", "#7")
    assert check_credit_approver(approver, "finance2@demo", "#7") is approver
    with pytest.raises(PermissionDenied, match="may not approve or reject credit requests"):
        check_credit_approver(Actor("cs@demo", Role.CUSTOMER_SUCCESS), "someone@else", "#7")


@pytest.mark.parametrize("failures, wait", [(0, 0), (1, 0), (2, 0), (3, 2), (4, 4), (5, 8),
                                            (11, 512), (12, 900), (1000, 900)],
                         ids=lambda value: str(value))
def test_wrong_passwords_wait_longer_and_longer_up_to_fifteen_minutes(failures, wait):
    assert sign_in_wait_seconds(failures) == wait
