"""The four-eyes sum (billing_core.access.check_given_alone): what one person already gave alone
in the last 24 hours plus this amount, against the approval threshold."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_core.access import ApprovalRequired, SecondApproverRequired, check_given_alone
from billing_core.errors import CurrencyMismatch
from billing_core.money import Money
from tests.helpers import usd


@pytest.mark.parametrize("already, amount, refused", [
    ("0.00", "500.00", False),
    ("500.00", "500.00", True),
    ("499.99", "0.01", False),
    ("500.00", "0.01", True),
    ("0.00", "500.01", True),
], ids=["first $500 at a $500 threshold", "a second $500", "up to the cent", "a cent over",
        "one amount over"])
def test_the_sum_must_stay_at_or_below_the_threshold(already, amount, refused):
    def check() -> None:
        check_given_alone("This credit", usd(amount), usd(already), "to ent-acme",
                          Decimal("500.00"), "Ask.")
    if refused:
        with pytest.raises(SecondApproverRequired):
            check()
    else:
        check()


def test_the_refusal_names_what_was_given_the_total_and_the_limit_and_is_an_approval_error():
    with pytest.raises(ApprovalRequired) as refused:
        check_given_alone("This credit", usd("500.00"), usd("500.00"), "to ent-acme",
                          Decimal("500.00"), "Send it as a credit request.")
    assert str(refused.value) == (
        "This credit ($500.00) needs a second approver: $500.00 already credited to ent-acme "
        "in the last 24 hours, this would make $1,000.00, above the $500.00 limit. Send it as "
        "a credit request.")
    assert (refused.value.already, refused.value.amount, refused.value.threshold) == (
        usd("500.00"), usd("500.00"), usd("500.00"))


def test_amounts_in_two_currencies_are_never_added():
    with pytest.raises(CurrencyMismatch):
        check_given_alone("This credit", usd("1.00"), Money("1.00", "EUR"), "by alice",
                          Decimal("500.00"), "Ask.")
