"""Preview: price an invoice step by step without writing anything, and show the old wrong order."""

from datetime import date

import pandas as pd
import streamlit as st

from billing_core.access import Permission
from billing_core.lines import LineKind
from billing_core.money import CURRENCY_EXPONENTS
from ledgerline_ui.forms.form_errors import FieldSlots, review_fields
from ledgerline_ui.invoices.invoice_tables import exact_text, lines_table
from ledgerline_ui.invoices.price_preview import (
    DISCOUNT_KINDS,
    USAGE_UNITS,
    DiscountInput,
    PreviewInput,
    preview_price,
)
from ledgerline_ui.shell.setup import setup_page
from ledgerline_ui.tables.formatting import money
from ledgerline_ui.tables.wrapping_table import wrapping_table

sessions = setup_page("Preview", ":material/calculate:", Permission.USE_PREVIEW)

st.title("Price preview")
st.caption("A calculator for explaining a bill: nothing here is saved. Defaults reproduce "
           "the Initech dispute (10% enterprise discount and a $50.00 promotional credit).")

DEFAULT_DISCOUNTS = pd.DataFrame(
    [{"kind": "fixed", "value": "50.00", "label": "Promotional credit"},
     {"kind": "percent", "value": "10", "label": "Enterprise discount"}])

slots = FieldSlots("preview")
with st.form("preview"):
    plan, usage = st.columns(2, gap="large")
    with plan:
        st.subheader("Plan")
        currency_col, period_col = st.columns(2)
        currency = currency_col.selectbox("Currency", sorted(CURRENCY_EXPONENTS),
                                          index=sorted(CURRENCY_EXPONENTS).index("USD"))
        period_label = period_col.text_input("Period (month)", value="2024-11",
                                             help="A calendar month like 2024-11.")
        slots.keep("period", period_col)
        old_col, new_col, date_col = st.columns(3)
        old_price = old_col.text_input("Old price per month", value="",
                                       help="Leave blank when the plan did not change.")
        slots.keep("old price", old_col)
        new_price = new_col.text_input("New price per month", value="1000.00")
        slots.keep("new price", new_col)
        change_on = date_col.date_input("Plan change date", value=date(2024, 11, 1),
                                        help="The day of a change belongs to the new plan.")
        slots.keep("plan change date", date_col)
    with usage:
        st.subheader("Usage")
        unit_col, price_col = st.columns(2)
        usage_unit = unit_col.selectbox("Billing unit", list(USAGE_UNITS))
        slots.keep("billing unit", unit_col)
        price_per_unit = price_col.text_input("Price per unit", value="23.00")
        slots.keep("price per unit", price_col)
        included_col, used_col = st.columns(2)
        included = included_col.text_input("Included quantity (in the billing unit)", value="1")
        slots.keep("included quantity", included_col)
        used = used_col.text_input("Used quantity (in the billing unit)", value="1",
                                   help="Decimals are fine (1.000000000001 TB is one byte over).")
        slots.keep("used quantity", used_col)
    st.subheader("Discounts, in the order they are listed on the contract")
    discount_rows = st.data_editor(
        DEFAULT_DISCOUNTS, num_rows="dynamic", hide_index=True, width="stretch", key="discounts",
        column_config={
            "kind": st.column_config.SelectboxColumn("Kind", options=DISCOUNT_KINDS,
                                                     required=True),
            "value": st.column_config.TextColumn("Value (percent or amount)", required=True),
            "label": st.column_config.TextColumn("Label"),
        })
    for number in range(1, len(discount_rows) + 1):  # the rows' messages, under the table
        slots.keep(f"discount {number} kind")
        slots.keep(f"discount {number} value")
    submitted = st.form_submit_button("Calculate", type="primary")

given = PreviewInput(
    currency=currency, period_label=period_label, old_price=old_price, new_price=new_price,
    change_on=change_on,
    discounts=tuple(DiscountInput(str(row.kind or ""), str(row.value or ""), str(row.label or ""))
                    for row in discount_rows.itertuples()),
    usage_unit=usage_unit, included_quantity=included, used_quantity=used,
    price_per_unit=price_per_unit)
result = review_fields(slots, lambda: preview_price(given))
if result is not None:
    invoice = result.invoice
    correct, legacy = st.columns([3, 2], gap="large")
    with correct:
        st.subheader(f"Correct price: {money(invoice.total)}")
        st.caption("Percentages first (compounding), then fixed amounts; each step rounded once.")
        # A preview has a handful of lines: tables whose cells wrap, so none is cut.
        wrapping_table(lines_table(invoice.lines))
        subtotal_col, discount_col, total_col = st.columns(3)
        subtotal_col.metric("Subtotal", money(invoice.subtotal))
        discount_col.metric("Discounts", money(result.discounts_taken))
        total_col.metric("Total", money(invoice.total))
        if invoice.unused_fixed_discount:
            st.info(f"{money(invoice.unused_fixed_discount)} of fixed discount could not be "
                    "used: the total never goes below zero.")
        if not any(line.kind == LineKind.USAGE for line in invoice.lines):
            st.caption(f"No usage line: {result.used_base_units:,} {result.base_unit_name}s used"
                       f" of {result.included_base_units:,} included (a charge exists only when "
                       "usage exceeds the included quantity).")
    with legacy:
        st.subheader(f"Old order: {money(result.legacy.total)}")
        st.caption("Before the fix, fixed amounts came off first and percentages after. "
                   "Use this to explain a past bill; never to price a new one.")
        wrapping_table(pd.DataFrame(
            [{"Step": step.description, "How": step.explanation, "Amount": money(step.amount)}
             for step in result.legacy.steps]
            + [{"Step": "Total", "How": f"subtotal {money(invoice.subtotal)} after the steps",
                "Amount": money(result.legacy.total)}]))
        comparison = result.legacy_comparison()
        if comparison:
            st.warning(comparison, icon=":material/history:")
        else:
            st.success("Both orders give the same total for these discounts.")
    with st.expander("Exact amounts before rounding"):
        wrapping_table(pd.DataFrame(
            [{"Line": line.description, "Exact": exact_text(line.exact_amount),
              "Rounded": money(line.amount)} for line in invoice.lines]))
