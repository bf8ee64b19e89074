"""What people type or paste on the screens is bounded before it reaches any arithmetic.

Security review item 2: a weight of "1e3000000" pasted on Cost allocation froze
the server; "1e900000" as the used quantity on Preview stalled it for a minute
per click. Both readers must refuse such numbers at once, naming the field.
"""

from __future__ import annotations

from dataclasses import replace as replace_fields
from datetime import date

import pytest
from hypothesis import given, settings

from billing_core.allocation import MAX_WEIGHT_DIGITS
from billing_core.errors import InvalidInput
from billing_core.money import MAX_DIGITS
from ledgerline_ui.allocation.weights_csv import parse_weights_csv, tenant_ids_in
from ledgerline_ui.forms.form_errors import FieldsRefused
from ledgerline_ui.invoices.invoice_links import parse_invoice_query
from ledgerline_ui.invoices.price_preview import DiscountInput, PreviewInput, preview_price
from tests.unit.test_core_input_bounds import exponent_forms

KNOWN = {"ent-acme-corp", "ent-globex-industries", "ent-initech"}
PREVIEW = PreviewInput(
    currency="USD", period_label="2024-11", old_price="", new_price="1000.00",
    change_on=date(2024, 11, 1),
    discounts=(DiscountInput("percent", "10", "Enterprise discount"),),
    usage_unit="TB (10^12 bytes)", included_quantity="1", used_quantity="1",
    price_per_unit="23.00")


def test_a_pasted_weight_of_1e3000000_is_refused_naming_the_line_and_the_tenant():
    with pytest.raises(InvalidInput) as refused:
        parse_weights_csv("tenant_id,weight\nent-initech,1\nent-acme-corp,1e3000000\n", KNOWN)
    assert str(refused.value) == (
        "weights CSV: line 3: weight for 'ent-acme-corp': '1e3000000' has too many digits: "
        f"3,000,001 written out, at most {MAX_WEIGHT_DIGITS}")


@given(exponent_forms(MAX_WEIGHT_DIGITS))
@settings(max_examples=200, deadline=None)
def test_any_weight_with_too_many_digits_is_refused_naming_its_line(text):
    with pytest.raises(InvalidInput) as refused:
        parse_weights_csv(f"ent-initech,1\nent-acme-corp,{text}\n", KNOWN)
    assert refused.value.field == "weights CSV"
    assert refused.value.problem.startswith("line 2: weight for 'ent-acme-corp': ")


def test_a_cell_longer_than_the_csv_reader_takes_is_a_named_problem_not_a_crash():
    body = "ent-initech," + "1" * 200_000 + "\n"
    assert tenant_ids_in(body) == []
    with pytest.raises(InvalidInput, match="^weights CSV: line 1: "):
        parse_weights_csv(body, KNOWN)


@pytest.mark.parametrize(("changes", "field"), [
    pytest.param({"used_quantity": "1e900000"}, "used quantity", id="used-1e900000"),
    pytest.param({"used_quantity": "1e-900000"}, "used quantity", id="used-tiny"),
    pytest.param({"included_quantity": "-1E+3000000"}, "included quantity", id="included"),
    pytest.param({"used_quantity": "9" * 30}, "used quantity", id="used-beyond-bigint"),
    pytest.param({"price_per_unit": "0." + "0" * 60 + "1"}, "price per unit", id="price-fine"),
    pytest.param({"new_price": "9" * 49}, "new price", id="price-49-digits"),
    pytest.param({"discounts": (DiscountInput("percent", "33." + "3" * 50, "X"),)},
                 "discount 1 value", id="percent-52-digits"),
    pytest.param({"discounts": (DiscountInput("percent", "1e3000000", "X"),)},
                 "discount 1 value", id="percent-exponent"),
    pytest.param({"discounts": (DiscountInput("fixed", "1" * 60, "X"),)},
                 "discount 1 value", id="fixed-60-digits"),
])
def test_preview_refuses_an_unbounded_number_naming_the_field(changes, field):
    with pytest.raises(FieldsRefused) as refused:
        preview_price(replace_fields(PREVIEW, **changes))
    assert list(refused.value.problems) == [field]


@given(exponent_forms(MAX_DIGITS))
@settings(max_examples=100, deadline=None)
def test_preview_refuses_any_used_quantity_in_exponent_form_beyond_the_bound(text):
    with pytest.raises(FieldsRefused, match="^used quantity: "):
        preview_price(replace_fields(PREVIEW, used_quantity=text))


@pytest.mark.parametrize("invoice", ["9" * 20, "9" * 5000, "9223372036854775808", "²", "0"])
def test_an_invoice_link_with_an_id_no_bigint_holds_is_refused_naming_the_parameter(invoice):
    with pytest.raises(InvalidInput) as refused:
        parse_invoice_query({"tenant": "ent-initech", "invoice": invoice})
    assert refused.value.field == "invoice"
    assert len(str(refused.value)) < 120
    assert parse_invoice_query({"tenant": "t", "invoice": "9223372036854775807"}) == (
        "t", 2**63 - 1)
