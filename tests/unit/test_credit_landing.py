"""SPEC 5: where a service credit lands, decided by `billing_core.credits.land_credit` from the
facts the database loaded (the tenant's invoices), and the sentence that says why."""

from __future__ import annotations

from datetime import date

import pytest

from billing_core.credits import CreditableInvoice, land_credit
from billing_core.errors import InvoiceNotOpen
from tests.helpers import usd


def invoice(invoice_id: int, status: str, month: int, total: str) -> CreditableInvoice:
    number = f"INV-2024-{invoice_id:06d}" if status != "draft" else f"#{invoice_id}"
    return CreditableInvoice(invoice_id, number, status, date(2024, month, 1), f"2024-{month:02d}",
                             usd(total))


OCTOBER_PAID = invoice(10, "paid", 10, "1000.00")
NOVEMBER_DRAFT = invoice(11, "draft", 11, "1000.00")
SEPTEMBER_DRAFT = invoice(9, "draft", 9, "150.00")
DECEMBER_VOID = invoice(12, "void", 12, "1000.00")
AUGUST_FINALIZED = invoice(8, "finalized", 8, "1.00")


@pytest.mark.parametrize(("invoices", "credit", "landed_on", "applied", "to_balance"), [
    pytest.param([OCTOBER_PAID, NOVEMBER_DRAFT], "200.00", 11, "200.00", "0.00",
                 id="spec-paid-october-draft-november-reduced-by-200"),
    pytest.param([NOVEMBER_DRAFT], "1200.00", 11, "1000.00", "200.00",
                 id="the-excess-waits-on-the-balance"),
    pytest.param([SEPTEMBER_DRAFT, NOVEMBER_DRAFT, DECEMBER_VOID], "50.00", 11, "50.00", "0.00",
                 id="the-open-invoice-of-the-latest-period"),
    pytest.param([OCTOBER_PAID, DECEMBER_VOID], "50.00", None, "0.00", "50.00",
                 id="no-open-invoice-the-balance"),
    pytest.param([], "50.00", None, "0.00", "50.00", id="no-invoice-at-all-the-balance"),
])
def test_a_credit_aimed_at_no_invoice_lands_on_the_latest_open_one_or_the_balance(
        invoices, credit, landed_on, applied, to_balance):
    landing = land_credit("ent-umbrella", usd(credit), invoices)
    assert (landing.invoice_id, landing.applied, landing.to_balance) == (
        landed_on, usd(applied), usd(to_balance))
    assert landing.target == ("invoice" if landed_on else "balance")


def test_a_credit_aimed_at_an_older_draft_lands_there_not_on_the_latest():
    landing = land_credit("ent-umbrella", usd("200.00"), [NOVEMBER_DRAFT], aimed_at=SEPTEMBER_DRAFT)
    assert (landing.invoice_id, landing.applied, landing.to_balance) == (
        9, usd("150.00"), usd("50.00"))


@pytest.mark.parametrize("closed", [OCTOBER_PAID, DECEMBER_VOID, AUGUST_FINALIZED],
                         ids=["paid", "void", "finalized"])
def test_a_credit_aimed_at_a_closed_invoice_is_refused_naming_it(closed):
    with pytest.raises(InvoiceNotOpen) as refused:
        land_credit("ent-umbrella", usd("200.00"), aimed_at=closed)
    assert (refused.value.invoice, refused.value.status) == (closed.label, closed.status)


@pytest.mark.parametrize(("invoices", "credit", "explanation"), [
    pytest.param([NOVEMBER_DRAFT], "200.00",
                 "$200.00 reduces the draft invoice for 2024-11 (total $1,000.00).", id="fits"),
    pytest.param([NOVEMBER_DRAFT], "1500.00",
                 "$1,000.00 reduces the draft invoice for 2024-11 (total $1,000.00). The invoice "
                 "cannot go below zero, so $500.00 stays on the credit balance.", id="too-large"),
    pytest.param([OCTOBER_PAID], "50.00",
                 "ent-umbrella has no draft invoice, so $50.00 waits on the credit balance and "
                 "the next invoice generated consumes it.", id="no-draft"),
])
def test_the_landing_says_where_and_why(invoices, credit, explanation):
    landing = land_credit("ent-umbrella", usd(credit), invoices)
    assert landing.explanation == explanation
    assert landing.invoice_period == (None if landing.invoice is None else "2024-11")
