"""The values a priced invoice is made of keep their promises however they are built.

Lines and priced invoices keep whole minor units and hand out Money when read;
money text, a percentage's exact amount and a usage plan's words are written
the quick way. Each is checked here against the plain way: Python's own ","
grouping, three Decimal steps, a frozen dataclass's behaviour.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError, replace
from datetime import date
from decimal import Context, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_core.discounts import FixedOff, PercentOff
from billing_core.invoices import PricedInvoice, price_invoice
from billing_core.lines import describe_exact
from billing_core.money import (
    CURRENCY_EXPONENTS,
    Money,
    exact_percent,
    minor_units_decimal,
    minor_units_text,
)
from billing_core.periods import Period, calendar_month
from billing_core.proration import PlanChange
from billing_core.usage import BYTES_PER_TB, UsagePlan
from tests.helpers import usd

NOVEMBER_2024 = calendar_month("2024-11")
STORAGE = UsagePlan("storage", "TB", BYTES_PER_TB, BYTES_PER_TB, usd("23.00"), "byte")


def a_priced_invoice() -> PricedInvoice:
    changes = [PlanChange(date(2024, 10, 1), "Growth", usd("600.00")),
               PlanChange(date(2024, 11, 16), "Compute", usd("1000.00"))]
    return price_invoice(NOVEMBER_2024, changes, [(STORAGE, 2 * BYTES_PER_TB + 1)],
                         [PercentOff(Decimal("10"), "Enterprise"), FixedOff(usd("50.00"), "Promo")],
                         usd("20.00"))


@given(st.integers(min_value=-(10**20), max_value=10**20), st.sampled_from(["USD", "JPY", "BHD"]))
def test_money_text_groups_digits_as_python_does(minor, currency):
    places = CURRENCY_EXPONENTS[currency]
    amount = Decimal(abs(minor)).scaleb(-places)
    prefix = "$" if currency == "USD" else f"{currency} "
    expected = f"{'-' if minor < 0 else ''}{prefix}{amount:,.{places}f}"
    assert minor_units_text(minor, currency) == expected


@pytest.mark.parametrize(("minor", "text"), [
    (99_999, "$999.99"), (100_000, "$1,000.00"), (100_500, "$1,005.00"),
    (99_999_999, "$999,999.99"), (100_000_000, "$1,000,000.00"), (-5_000, "-$50.00"),
], ids=["below a thousand", "a thousand", "zeros inside a group", "below a million",
        "a million", "negative"])
def test_money_text_at_the_grouping_edges(minor, text):
    assert minor_units_text(minor, "USD") == text


@given(st.integers(min_value=0, max_value=2**63 - 1),
       st.decimals(min_value=0, max_value=100, places=6, allow_nan=False),
       st.sampled_from(["USD", "JPY", "BHD"]))
def test_a_percentage_step_has_the_very_digits_of_three_decimal_steps(minor, percent, currency):
    percent = PercentOff(percent, "x").percent  # as a discount holds it
    amount = minor_units_decimal(minor, currency)
    wide = Context(prec=200)  # the plain way, wide enough to be exact
    expected = wide.divide(wide.multiply(amount, percent), 100)
    assert str(exact_percent(minor, currency, percent)) == str(expected)


@pytest.mark.parametrize("value", ["0.000000023", "1E+3", "500.00", "-0.00", "12.5"])
def test_an_exact_amount_is_shown_in_plain_digits(value):
    assert describe_exact(Decimal(value), True) == format(Decimal(value), "f")


@pytest.mark.parametrize("amount", ["1000", "1000.0", "1000.00", "1000.000", "1E+3"])
def test_equal_amounts_of_any_scale_hash_alike(amount):
    assert hash(Money(amount, "USD")) == hash(usd("1000.00"))
    assert hash(Money("0.0230", "USD")) == hash(Money("0.023", "USD"))


def test_a_priced_invoice_is_a_frozen_value():
    invoice = a_priced_invoice()
    for name in PricedInvoice.FIELDS:
        with pytest.raises(FrozenInstanceError):
            setattr(invoice, name, None)
    with pytest.raises(FrozenInstanceError):
        del invoice.total
    for twin in (pickle.loads(pickle.dumps(invoice)), copy.copy(invoice), copy.deepcopy(invoice)):
        assert type(twin) is PricedInvoice and twin == invoice and hash(twin) == hash(invoice)
    assert invoice == a_priced_invoice() and invoice != with_another_balance_left(invoice)
    assert repr(invoice).startswith("PricedInvoice(period=Period(start=datetime.date(2024, 11, 1)")


def with_another_balance_left(invoice: PricedInvoice) -> PricedInvoice:
    # The same lines and totals, a cent left on the balance: valid, and not equal.
    return PricedInvoice(invoice.period, invoice.currency, invoice.lines, invoice.subtotal,
                         invoice.discount_total, invoice.credit_applied, invoice.total,
                         invoice.unused_fixed_discount, usd("0.01"))


def test_a_priced_invoice_reads_its_totals_as_money_at_the_currency_scale():
    invoice = a_priced_invoice()
    # 300.00 + 500.00 + 23.00 usage, 10 % off 823.00, 50.00 off, 20.00 credit.
    assert [line.amount_minor for line in invoice.lines] == [30000, 50000, 2300, -8230, -5000,
                                                             -2000]
    assert {line.currency for line in invoice.lines} == {"USD"}
    assert (invoice.subtotal, invoice.discount_total, invoice.credit_applied, invoice.total,
            invoice.unused_fixed_discount, invoice.credit_balance_left) == (
        usd("823.00"), usd("132.30"), usd("20.00"), usd("670.70"), usd("0.00"), usd("0.00"))
    assert str(invoice.total.amount) == "670.70"


def test_a_period_works_out_its_length_once_and_compares_by_its_dates():
    period = Period(date(2024, 2, 1), date(2024, 3, 1))
    assert period.days == 29 and period == calendar_month("2024-02")
    assert replace(period, end=date(2024, 3, 5)).days == 33
    assert "days" not in repr(period) and pickle.loads(pickle.dumps(period)).days == 29


def test_a_usage_plan_writes_its_words_from_its_own_fields():
    cheaper = replace(STORAGE, price_per_unit=Money("0.023", "USD"), included_base_units=5)
    assert cheaper._words == ("storage overage", "bytes, included 5: overage",
                              "x $0.023 per TB (1,000,000,000,000 bytes) =")
    assert pickle.loads(pickle.dumps(cheaper))._words == cheaper._words
    assert cheaper != STORAGE and replace(cheaper, price_per_unit=usd("23.00"),
                                          included_base_units=BYTES_PER_TB) == STORAGE
