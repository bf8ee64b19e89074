"""The invoice trace shows every digit of an exact amount and what rounding changed, exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_core.money import ROUNDING_MODE_LABEL
from db.reads.invoices import InvoiceDetail, InvoiceSummary, LineView
from ledgerline_ui.invoices.invoice_trace import exact_money_text, invoice_trace, rounding_text
from tests.helpers import usd

NOW = datetime(2024, 12, 2, 9, 30, tzinfo=UTC)
# $1,000.00 x 10 / 31 days, carried to 50 significant digits as pricing carries it.
REPEATING = Decimal("322.58064516129032258064516129032258064516129032258")


def detail(lines: list[LineView], total: str) -> InvoiceDetail:
    summary = InvoiceSummary(
        "ent-test", "Test", 7, None, "2024-12", date(2024, 12, 1), date(2025, 1, 1), "draft",
        usd(total), usd("0.00"), usd("0.00"), usd(total), usd("0.00"), NOW, None, None, None)
    return InvoiceDetail(summary, tuple(lines), (), (), usd(total), ())


def test_a_repeating_exact_amount_keeps_all_its_digits_in_the_trace():
    line = LineView(1, "recurring", "Compute tier", usd("322.58"), REPEATING,
                    "10 of 31 days x $1,000.00 -> $322.58")
    (row,) = invoice_trace(detail([line], "322.58")).rows
    assert row.exact == "$322.58064516129032258064516129032258064516129032258"
    assert row.rounding == (f"rounded {ROUNDING_MODE_LABEL} once "
                            "(-0.00064516129032258064516129032258064516129032258)")


@pytest.mark.parametrize(
    ("exact", "currency", "text"),
    [
        pytest.param("-100.00000000", "USD", "-$100.00", id="padded-to-the-minor-unit"),
        pytest.param("1234.5", "USD", "$1,234.50", id="grouped"),
        pytest.param("333.3333333", "EUR", "EUR 333.3333333", id="finer-digits-kept"),
        pytest.param("1E+3", "JPY", "JPY 1,000", id="no-exponent"),
    ],
)
def test_exact_money_text_pads_and_groups_but_never_rounds(exact, currency, text):
    assert exact_money_text(Decimal(exact), currency) == text


def test_an_exact_line_says_so():
    line = LineView(1, "recurring", "Compute tier", usd("500.00"), Decimal("500"), "")
    assert rounding_text(line) == "exact, no rounding"


def test_a_half_cent_is_rounded_by_the_named_mode():
    line = LineView(1, "usage", "Storage", usd("0.01"), Decimal("0.005"), "")
    assert rounding_text(line) == f"rounded {ROUNDING_MODE_LABEL} once (+0.005)"
