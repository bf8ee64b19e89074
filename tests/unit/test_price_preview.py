"""The Preview calculator's input reading: typed text to a priced invoice, or a named error."""

from __future__ import annotations

from datetime import date

import pytest

from billing_core.money import Money
from ledgerline_ui.forms.form_errors import FieldsRefused
from ledgerline_ui.invoices.price_preview import DiscountInput, PreviewInput, preview_price

INITECH = PreviewInput(
    currency="USD", period_label="2024-11", old_price="", new_price="1000.00",
    change_on=date(2024, 11, 1),
    discounts=(DiscountInput("fixed", "50.00", "Promotional credit"),
               DiscountInput("percent", "10", "Enterprise discount")),
    usage_unit="TB (10^12 bytes)", included_quantity="1", used_quantity="1",
    price_per_unit="23.00")


def replace(**changes) -> PreviewInput:
    from dataclasses import replace as dataclass_replace

    return dataclass_replace(INITECH, **changes)


def test_initech_defaults_price_850_and_855_in_the_old_order():
    result = preview_price(INITECH)
    assert result.invoice.total == Money("850.00", "USD")
    assert result.legacy.total == Money("855.00", "USD")
    assert result.legacy_comparison() == (
        "The old order charged $5.00 more than the correct $850.00.")


def test_exactly_the_included_terabyte_has_no_usage_line_and_one_byte_more_has_one():
    assert [line.kind for line in preview_price(INITECH).invoice.lines].count("usage") == 0
    over = preview_price(replace(used_quantity="1.000000000001"))
    usage = [line for line in over.invoice.lines if line.kind == "usage"]
    assert over.used_base_units == 10**12 + 1
    assert usage[0].quantity == 1 and usage[0].amount == Money("0.00", "USD")


def test_tebibyte_is_a_different_unit_from_terabyte():
    result = preview_price(replace(usage_unit="TiB (2^40 bytes)"))
    assert result.included_base_units == 2**40


def test_upgrade_mid_period_prorates_both_plans():
    result = preview_price(replace(old_price="600.00", change_on=date(2024, 11, 16), discounts=()))
    assert [line.amount for line in result.invoice.lines] == [
        Money("300.00", "USD"), Money("500.00", "USD")]


def test_price_per_unit_may_be_finer_than_a_cent():
    result = preview_price(replace(usage_unit="GB (10^9 bytes)", included_quantity="500",
                                   used_quantity="612.5", price_per_unit="0.023", discounts=()))
    assert result.invoice.total == Money("1002.59", "USD")


@pytest.mark.parametrize(("changes", "message"), [
    pytest.param({"new_price": "12,3x"}, "new price: '12,3x' is not a number", id="new-price"),
    pytest.param({"period_label": "November"}, "period: 'November' is not a month like 2024-01",
                 id="period"),
    pytest.param({"discounts": (DiscountInput("percent", "ten", "X"),)},
                 "discount 1 value: 'ten' is not a percentage", id="percent-text"),
    pytest.param({"discounts": (DiscountInput("percent", "120", "X"),)},
                 "discount 1 value: 120 is outside 0..100", id="percent-range"),
    pytest.param({"used_quantity": "0.5", "usage_unit": "units"},
                 "used quantity: '0.5' is not a whole number of units", id="fraction-of-a-unit"),
    pytest.param({"old_price": "600.00"},
                 "plan change date: 2024-11-01 is not after the period start 2024-11-01; "
                 "clear the old price or move the date", id="change-on-period-start"),
])
def test_bad_input_names_the_field(changes, message):
    with pytest.raises(FieldsRefused) as error:
        preview_price(replace(**changes))
    assert str(error.value) == message


def test_every_bad_field_is_named_at_once_not_only_the_first():
    with pytest.raises(FieldsRefused) as error:
        preview_price(replace(period_label="November", new_price="12,3x", used_quantity="x",
                              discounts=(DiscountInput("percent", "ten", "X"),
                                         DiscountInput("", "5", "Y"))))
    assert error.value.problems == {
        "period": "'November' is not a month like 2024-01",
        "new price": "'12,3x' is not a number",
        "used quantity": "'x' is not a number",
        "discount 1 value": "'ten' is not a percentage",
        "discount 2 kind": "choose percent or fixed, not ''",
    }


def test_usage_without_a_price_per_unit_is_refused_naming_the_field():
    with pytest.raises(FieldsRefused) as error:
        preview_price(replace(price_per_unit=" ", used_quantity="2"))
    assert error.value.problems == {"price per unit": "is empty; usage is priced per unit"}
