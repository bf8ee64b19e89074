"""What a change to a bill reaches, and when it is refused (SPEC 11, 13), as pure rules."""

from __future__ import annotations

from datetime import date

import pytest

from billing_core.access import ROLE_PERMISSIONS, Permission, Role
from billing_core.drafts import DraftChanged, check_reviewed_version
from billing_core.errors import InvalidInput
from billing_core.money import Money
from billing_core.subscriptions import (
    InvoicedPeriod,
    PeriodClosed,
    changed_span,
    check_anchor_day,
    check_percent,
    check_periods_open,
    check_price,
    check_tenant_id,
    check_window,
    discount_window_touches,
    plan_change_touches,
)

OCTOBER = InvoicedPeriod("2024-10", date(2024, 10, 1), date(2024, 11, 1), "finalized")
NOVEMBER = InvoicedPeriod("2024-11", date(2024, 11, 1), date(2024, 12, 1), "draft")

SUBSCRIPTION_PERMISSIONS = {Permission.MANAGE_TENANTS, Permission.MANAGE_PLANS,
                            Permission.CHANGE_SUBSCRIPTIONS, Permission.MANAGE_DISCOUNTS}


def test_only_finance_may_record_what_makes_a_bill():
    assert [role for role in Role if SUBSCRIPTION_PERMISSIONS & ROLE_PERMISSIONS[role]] == [
        Role.FINANCE]


@pytest.mark.parametrize(("starts_on", "reached"), [
    pytest.param(date(2024, 10, 20), ["2024-10", "2024-11"], id="inside-october"),
    pytest.param(date(2024, 11, 1), ["2024-11"], id="first-day-of-november"),
    pytest.param(date(2024, 12, 1), [], id="future-waits"),
])
def test_a_plan_change_reaches_every_period_ending_after_its_day(starts_on, reached):
    assert [p.period_label for p in (OCTOBER, NOVEMBER)
            if plan_change_touches(starts_on, p)] == reached


@pytest.mark.parametrize(("first", "until", "reached"), [
    pytest.param(None, None, ["2024-10", "2024-11"], id="always"),
    pytest.param(date(2024, 11, 1), None, ["2024-11"], id="from-november"),
    pytest.param(date(2024, 10, 15), date(2024, 11, 1), [], id="starts-after-october-starts"),
    pytest.param(None, date(2024, 11, 1), ["2024-10"], id="until-november"),
])
def test_a_discount_reaches_the_periods_starting_inside_its_window(first, until, reached):
    assert [p.period_label for p in (OCTOBER, NOVEMBER)
            if discount_window_touches(first, until, p)] == reached


def test_ending_a_discount_reaches_the_days_between_its_old_and_new_end():
    assert changed_span(None, date(2024, 11, 1)) == (date(2024, 11, 1), None)
    assert changed_span(date(2024, 11, 1), None) == (date(2024, 11, 1), None)
    assert changed_span(date(2024, 12, 1), date(2024, 11, 1)) == (
        date(2024, 11, 1), date(2024, 12, 1))


def test_a_closed_period_refuses_with_the_spec_sentence():
    with pytest.raises(PeriodClosed) as refused:
        check_periods_open("ent-acme-corp", "starts_on", [NOVEMBER, OCTOBER])
    assert str(refused.value) == ("starts_on: 2024-10 is finalized for ent-acme-corp; correct "
                                  "it with a credit note")


def test_a_void_invoice_beside_a_new_draft_leaves_the_period_open_alone_it_closes_it():
    void = InvoicedPeriod("2024-11", date(2024, 11, 1), date(2024, 12, 1), "void")
    check_periods_open("t", "starts_on", [void, NOVEMBER])
    with pytest.raises(PeriodClosed, match="2024-11 is void for t"):
        check_periods_open("t", "starts_on", [void])


@pytest.mark.parametrize(("check", "value", "message"), [
    pytest.param(check_anchor_day, 0, "anchor_day: 0 is not a day of the month (1-31)", id="0"),
    pytest.param(check_anchor_day, 32, "anchor_day: 32 is not a day of the month", id="32"),
    pytest.param(check_tenant_id, "Ent New", "tenant_id: 'Ent New' is not a tenant id",
                 id="slug"),
    pytest.param(check_percent, "100.01", "percent: 100.01 is not a percentage", id="101"),
    pytest.param(check_percent, "0", "percent: 0 is not a percentage", id="zero"),
    pytest.param(check_percent, "1.0000001", "percent: 1.0000001 has more than 6", id="digits"),
    pytest.param(check_price, Money("-1.00", "USD"), "price: -$1.00 is negative", id="price"),
])
def test_bad_values_are_refused_naming_the_field(check, value, message):
    with pytest.raises(InvalidInput) as refused:
        check(value)
    assert str(refused.value).startswith(message)


def test_a_window_must_end_after_it_starts():
    check_window(date(2024, 11, 1), None)
    with pytest.raises(InvalidInput, match="^valid_until: 2024-11-01 is not after valid_from"):
        check_window(date(2024, 11, 1), date(2024, 11, 1))


def test_finalizing_a_version_left_behind_names_both_totals():
    check_reviewed_version("#12", 3, 3, None, Money("812.40", "USD"))
    check_reviewed_version("#12", None, 3, None, Money("812.40", "USD"))
    with pytest.raises(DraftChanged) as refused:
        check_reviewed_version("#12", 2, 3, Money("800.00", "USD"), Money("812.40", "USD"))
    assert str(refused.value) == ("Invoice #12 changed since you opened it: $800.00 is now "
                                  "$812.40; review it again")
