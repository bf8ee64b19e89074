"""price_invoice: proration + usage, discounts, credit balance; the lines sum to the total."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing_core.discounts import FixedOff, PercentOff
from billing_core.errors import InvalidInput
from billing_core.invoices import InvoiceLine, LineKind, PricedInvoice, price_invoice
from billing_core.money import Money
from billing_core.periods import calendar_month
from billing_core.proration import PlanChange
from billing_core.usage import BYTES_PER_TB, UsagePlan
from tests.helpers import usd

NOVEMBER_2024 = calendar_month("2024-11")
UPGRADE = [
    PlanChange(date(2024, 10, 1), "Growth", Money("600.00", "USD")),
    PlanChange(date(2024, 11, 16), "Compute", Money("1000.00", "USD")),
]
STORAGE = UsagePlan("storage", "TB", BYTES_PER_TB, BYTES_PER_TB, Money("23.00", "USD"), "byte")


def test_an_invoice_lists_every_step_and_the_lines_sum_to_the_total():
    invoice = price_invoice(
        NOVEMBER_2024,
        UPGRADE,
        usage=[(STORAGE, 2 * BYTES_PER_TB)],
        discounts=[FixedOff(usd("50.00"), "Promotional credit"), PercentOff("10", "Enterprise")],
        credit_balance=usd("200.00"),
    )
    assert [(line.kind, line.description, line.amount) for line in invoice.lines] == [
        ("recurring", "Growth", usd("300.00")),
        ("recurring", "Compute", usd("500.00")),
        ("usage", "storage overage", usd("23.00")),
        ("discount", "Enterprise", usd("-82.30")),
        ("discount", "Promotional credit", usd("-50.00")),
        ("credit", "Credit balance", usd("-200.00")),
    ]
    assert (invoice.subtotal, invoice.discount_total, invoice.credit_applied, invoice.total) == (
        usd("823.00"), usd("132.30"), usd("200.00"), usd("490.70"),
    )
    assert invoice.unused_fixed_discount == usd("0.00")
    assert invoice.credit_balance_left == usd("0.00")
    assert sum((line.amount for line in invoice.lines), Money.zero("USD")) == invoice.total
    assert (invoice.period, invoice.currency) == (NOVEMBER_2024, "USD")


def test_the_credit_balance_never_takes_an_invoice_below_zero_and_the_rest_stays():
    invoice = price_invoice(
        NOVEMBER_2024,
        [PlanChange(date(2024, 11, 1), "Starter", usd("100.00"))],
        discounts=[FixedOff(usd("30.00"), "Promo")],
        credit_balance=usd("500.00"),
    )
    assert invoice.total == usd("0.00")
    assert invoice.credit_applied == usd("70.00")
    assert invoice.credit_balance_left == usd("430.00")
    assert invoice.lines[-1].explanation == (
        "$70.00 of the $500.00 credit balance; $430.00 stays on the balance"
    )


def test_a_zero_total_takes_nothing_from_the_balance_and_shows_no_credit_line():
    invoice = price_invoice(
        NOVEMBER_2024,
        [PlanChange(date(2024, 11, 1), "Starter", usd("40.00"))],
        discounts=[PercentOff("100", "Sponsored")],
        credit_balance=usd("500.00"),
    )
    assert [line.kind for line in invoice.lines] == ["recurring", "discount"]
    assert (invoice.total, invoice.credit_applied) == (usd("0.00"), usd("0.00"))
    assert invoice.credit_balance_left == usd("500.00")


def test_a_fixed_discount_that_finds_nothing_left_is_reported_unused():
    invoice = price_invoice(
        NOVEMBER_2024,
        [PlanChange(date(2024, 11, 1), "Starter", usd("40.00"))],
        discounts=[FixedOff(usd("50.00"), "Promo")],
    )
    assert (invoice.total, invoice.unused_fixed_discount) == (usd("0.00"), usd("10.00"))


def test_an_invoice_without_credit_balance_has_no_credit_line():
    invoice = price_invoice(NOVEMBER_2024, UPGRADE)
    assert [line.kind for line in invoice.lines] == ["recurring", "recurring"]
    assert invoice.total == usd("800.00")
    assert invoice.credit_balance_left == usd("0.00")


def test_an_invoice_needs_something_to_price():
    with pytest.raises(InvalidInput, match="^plan_changes: "):
        price_invoice(NOVEMBER_2024, [])


def test_the_public_priced_invoice_constructor_checks_that_lines_sum_to_the_total():
    line = InvoiceLine(LineKind.RECURRING, "Starter", usd("10.00"), Decimal("10.00"), "full")
    with pytest.raises(InvalidInput, match="^lines: "):
        PricedInvoice(NOVEMBER_2024, "USD", (line,), usd("10.00"), usd("0.00"), usd("0.00"),
                      usd("9.00"), usd("0.00"), usd("0.00"))


def test_a_public_invoice_line_must_be_rounded_to_the_minor_unit():
    with pytest.raises(InvalidInput, match="^amount: "):
        InvoiceLine("recurring", "Starter", usd("10.005"), Decimal("10.005"), "x")
    assert InvoiceLine("usage", "x", usd("1.00"), Decimal("1.00"), "y").kind is LineKind.USAGE
