"""`GET /v1/invoices/{tenant}/{id}` answers JSON that PostgreSQL builds (`db.reads.
invoice_document`) through the invoice lane ahead of FastAPI's router (`api.invoice_lane`): it
must read exactly as the invoice does in Python, at every currency's scale, and refuse as every
other endpoint does."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from api.schemas import InvoiceOut
from billing_core.money import Money
from billing_core.periods import calendar_month
from db.invoicing import generate_invoice
from db.reads.invoices import invoice_with_lines
from db.transitions import finalize_invoice, record_payment
from tests.actors import finance
from tests.integration.api.conftest import bearer
from tests.integration.factories import (
    add_fixed_discount,
    add_percent_discount,
    add_plan,
    add_tenant,
)

SETUP = finance("read-setup@test")


@pytest.fixture
def draft(api_db, new_tenant_id) -> tuple[str, int]:
    """(tenant, invoice id) of a $1,000.00 draft."""
    with api_db.begin() as session:
        add_plan(session, "read-compute-1000", 100000)
        tenant = add_tenant(session, new_tenant_id("read"),
                            plans=[(date(2024, 1, 1), "read-compute-1000")])
        return tenant, generate_invoice(session, tenant, calendar_month("2024-11"),
                                        actor=SETUP).invoice_id


def _money(value: Money) -> dict[str, str]:
    return {"amount": str(value.amount), "currency": value.currency}


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _as_python_reads_it(session: Any, tenant: str, invoice_id: int) -> dict[str, Any]:
    """The documented answer, from `db.reads.invoices.invoice_with_lines` and `Money`."""
    invoice, lines = invoice_with_lines(session, tenant, invoice_id)
    return {
        "tenant": invoice.tenant_id, "invoice_id": invoice.invoice_id, "number": invoice.number,
        "period": invoice.period_label, "period_start": invoice.period_start.isoformat(),
        "period_end": invoice.period_end.isoformat(), "status": invoice.status,
        "subtotal": _money(invoice.subtotal), "discount": _money(invoice.discount),
        "credit": _money(invoice.credit), "total": _money(invoice.total),
        "created_at": _instant(invoice.created_at),
        "finalized_at": _instant(invoice.finalized_at), "paid_at": _instant(invoice.paid_at),
        "voided_at": _instant(invoice.voided_at), "priced_at": _instant(invoice.priced_at),
        "price_version": invoice.price_version,
        "lines": [{"line_no": line.line_no, "kind": line.kind, "description": line.description,
                   "amount": _money(line.amount), "exact_amount": str(line.exact_amount),
                   "explanation": line.explanation} for line in lines],
    }


@pytest.mark.parametrize(("currency", "price_minor", "fixed_minor"), [
    ("USD", 100001, 5000),   # 2 decimals; 10 % of $1,000.01 rounds
    ("JPY", 150003, 700),    # no decimals
    ("BHD", 1234567, 1001),  # 3 decimals
])
def test_the_answer_is_the_invoice_as_python_reads_it_at_the_currencys_scale(
        client, keys, api_db, new_tenant_id, currency, price_minor, fixed_minor):
    with api_db.begin() as session:
        plan = add_plan(session, new_tenant_id(f"read-{currency.lower()}"), price_minor,
                        currency=currency)
        tenant = add_tenant(session, new_tenant_id("read"), currency=currency,
                            plans=[(date(2024, 1, 1), plan)])
        add_percent_discount(session, tenant, 1, "10", "Enterprise discount")
        add_fixed_discount(session, tenant, 2, fixed_minor, "Promotion", currency=currency)
        draft = generate_invoice(session, tenant, calendar_month("2024-10"), actor=SETUP)
        paid = generate_invoice(session, tenant, calendar_month("2024-11"), actor=SETUP)
        finalize_invoice(session, tenant, paid.invoice_id, actor=SETUP)
        record_payment(session, tenant, paid.invoice_id, actor=SETUP,  # a whole second
                       paid_at=datetime(2024, 12, 5, 10, 0, tzinfo=UTC))

    for invoice_id in (draft.invoice_id, paid.invoice_id):
        answer = client.get(f"/v1/invoices/{tenant}/{invoice_id}", headers=bearer(keys, "manager"))

        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        InvoiceOut.model_validate(answer.json())
        with api_db() as session:
            assert answer.json() == _as_python_reads_it(session, tenant, invoice_id)
    assert answer.json()["paid_at"] == "2024-12-05T10:00:00+00:00"
    assert [line["amount"]["amount"].startswith("-") for line in answer.json()["lines"]] == [
        False, True, True]


def test_the_key_is_read_from_the_header_as_fastapi_reads_it(client, keys, draft):
    path = "/v1/invoices/{}/{}".format(*draft)

    assert client.get(path, headers={"Authorization": f"bearer  {keys['manager']}"}
                      ).status_code == 200
    for refused in ({"Authorization": f"Basic {keys['finance']}"}, {"Authorization": "Bearer"},
                    {"Authorization": keys["finance"]}, {}):
        answer = client.get(path, headers=refused)
        assert answer.status_code == 401, refused
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["content-type"] == "application/problem+json"
        assert "needs an API key" in answer.json()["detail"]


@pytest.mark.parametrize("invoice_id", ["1234567890123456789", "99999999999999999999"])
def test_an_id_the_lane_leaves_to_fastapi_gets_the_same_answers(client, keys, draft, invoice_id):
    """Ids longer than 18 digits go on to FastAPI's route, which answers by the same door."""
    tenant = draft[0]
    path = f"/v1/invoices/{tenant}/{invoice_id}"

    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer(keys, "meter")).status_code == 403
    missing = client.get(path, headers=bearer(keys, "finance"))
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"invoice {invoice_id} of tenant {tenant} was not found"
