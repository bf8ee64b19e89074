"""Bad requests: each gets a 4xx problem document (RFC 9457) naming the field, and changes
nothing. Money is a decimal string: `"amount": 10.5` is refused."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from api.body_limit import MAX_BODY_BYTES
from api.schemas import InvoiceOut, InvoicePageOut, TenantOut
from billing_core.periods import calendar_month
from db.invoicing import generate_invoice
from tests.actors import finance
from tests.integration.api.conftest import bearer
from tests.integration.factories import add_plan, add_tenant

COUNTED = ("audit_log", "invoices", "credits", "api_idempotency_keys")


@pytest.fixture
def tenant(api_db, new_tenant_id) -> str:
    with api_db.begin() as session:
        add_plan(session, "bad-compute-1000", 100000)
        tenant = add_tenant(session, new_tenant_id("api-bad"),
                            plans=[(date(2024, 1, 1), "bad-compute-1000")])
        generate_invoice(session, tenant, calendar_month("2024-11"), actor=finance())
    return tenant


def _counts(db) -> dict[str, int]:
    with db.begin() as session:
        return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in COUNTED}


def credit(amount_json: str) -> bytes:
    """A credit's body with `amount_json` written as is: '10.5' is a JSON number, '"10.50"' text."""
    return (f'{{"tenant": "T", "amount": {amount_json}, "currency": "USD", '
            f'"reason": "Outage"}}').encode()


# (name, method, path, body or raw bytes, extra headers, status, field, words in the detail)
CASES = [
    ("bad JSON", "POST", "/v1/invoices", b'{"tenant": "x", "period": ', {}, 400, "body",
     "not valid JSON"),
    ("a number for a text", "POST", "/v1/invoices", {"tenant": 42, "period": "2024-11"}, {}, 422,
     "tenant", "valid string"),
    ("a missing field", "POST", "/v1/invoices", {"period": "2024-11"}, {}, 422, "tenant",
     "Field required"),
    ("an unknown field", "POST", "/v1/invoices",
     {"tenant": "T", "period": "2024-11", "force": True}, {}, 422, "force",
     "is not a field of this request"),
    ("a month that does not exist", "POST", "/v1/invoices", {"tenant": "T", "period": "2024-13"},
     {}, 422, "period", "period"),
    ("a float for money", "POST", "/v1/credits", credit("10.5"), {"Idempotency-Key": "f"}, 422,
     "amount", 'money is a decimal string such as "10.50", never a JSON number'),
    ("an integer for money", "POST", "/v1/credits", credit("10"), {"Idempotency-Key": "i"}, 422,
     "amount", "never a JSON number"),
    ("money that is not a number", "POST", "/v1/credits", credit('"ten"'), {"Idempotency-Key": "t"},
     422, "amount", "'ten' is not a number"),
    ("more cents than the currency has", "POST", "/v1/credits", credit('"10.005"'),
     {"Idempotency-Key": "c"}, 422, "amount", "more than 2 decimal places"),
    ("a negative credit", "POST", "/v1/credits", credit('"-5.00"'), {"Idempotency-Key": "n"}, 422,
     "amount", "negative"),
    ("no idempotency key", "POST", "/v1/credits", credit('"5.00"'), {}, 422, "Idempotency-Key",
     "Field required"),
    ("an idempotency key with spaces", "POST", "/v1/credits", credit('"5.00"'),
     {"Idempotency-Key": "a b"}, 422, "Idempotency-Key", "visible ASCII"),
    ("a price version that is not a number", "POST", "/v1/invoices/T/DRAFT/finalize",
     {"price_version": "1"}, {}, 422, "price_version", "valid integer"),
    ("an invoice id that is not a number", "GET", "/v1/invoices/T/abc", None, {}, 422,
     "invoice_id", "valid integer"),
    ("a cursor this API never gave", "GET", "/v1/invoices?cursor=bm9wZQ", None, {}, 422, "cursor",
     "is not a cursor"),
    ("an unknown status", "GET", "/v1/invoices?status=lost", None, {}, 422, "status",
     "'lost' is not an invoice status"),
    ("a limit too large", "GET", "/v1/invoices?limit=5000", None, {}, 422, "limit",
     "less than or equal to 1000"),
    ("an unknown tenant", "GET", "/v1/tenants/ent-nobody", None, {}, 404, None,
     "tenant ent-nobody was not found"),
    ("an unknown invoice", "GET", "/v1/invoices/T/999999999", None, {}, 404, None,
     "was not found"),
    ("an unknown path", "GET", "/v1/nothing-here", None, {}, 404, None, "Not Found"),
]


def _request(case, tenant: str, draft: int):
    """The case's method, path, body (bytes or a dict) and headers, for this test's tenant."""
    _, method, path, body, headers, *_ = case
    path = path.replace("/T/", f"/{tenant}/").replace("DRAFT", str(draft))
    if isinstance(body, bytes):
        body = body.replace(b'"T"', f'"{tenant}"'.encode())
    elif isinstance(body, dict) and body.get("tenant") == "T":
        body = {**body, "tenant": tenant}
    return method, path, body, headers


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_each_bad_request_gets_a_problem_naming_the_field(client, api_db, keys, tenant, case):
    *_, status, field, words = case
    with api_db.begin() as session:
        draft = session.execute(text("SELECT max(invoice_id) FROM invoices WHERE tenant_id = :t"),
                                {"t": tenant}).scalar_one()
    method, path, body, headers = _request(case, tenant, draft)
    before = _counts(api_db)
    headers = {**bearer(keys, "finance"), "Content-Type": "application/json", **headers}

    if isinstance(body, bytes):
        answer = client.request(method, path, content=body, headers=headers)
    else:
        answer = client.request(method, path, json=body, headers=headers)

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status and problem["type"] == "about:blank"
    assert problem.get("field") == field
    assert words in problem["detail"]
    assert "Traceback" not in answer.text
    assert _counts(api_db) == before


def test_a_body_above_the_limit_is_refused_before_it_is_read(client, api_db, keys, tenant):
    big = b'{"tenant": "' + b"x" * (MAX_BODY_BYTES + 1) + b'", "period": "2024-11"}'
    before = _counts(api_db)

    declared = client.post("/v1/invoices", content=big, headers={
        **bearer(keys, "finance"), "Content-Type": "application/json"})
    chunked = client.post("/v1/invoices", content=iter([big[:1000], big[1000:]]), headers={
        **bearer(keys, "finance"), "Content-Type": "application/json"})

    for answer in (declared, chunked):
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["field"] == "body"
        assert "larger than 4,194,304 bytes" in answer.json()["detail"]
    assert _counts(api_db) == before


def test_answers_match_the_documented_models_and_money_is_text(client, keys, tenant):
    headers = bearer(keys, "manager")
    page = client.get(f"/v1/invoices?tenant={tenant}", headers=headers).json()
    InvoicePageOut.model_validate(page)
    [summary] = page["invoices"]
    invoice = client.get(f"/v1/invoices/{tenant}/{summary['invoice_id']}", headers=headers).json()
    InvoiceOut.model_validate(invoice)
    TenantOut.model_validate(client.get(f"/v1/tenants/{tenant}", headers=headers).json())

    assert invoice["total"] == {"amount": "1000.00", "currency": "USD"}
    assert invoice["lines"][0]["amount"] == {"amount": "1000.00", "currency": "USD"}
    assert invoice["lines"][0]["explanation"]
    assert invoice["price_version"] == 1


def test_the_openapi_document_and_the_docs_page_are_served(client):
    document = client.get("/openapi.json").json()
    assert {"/v1/invoices", "/v1/invoices/{tenant}/{invoice_id}",
            "/v1/invoices/{tenant}/{invoice_id}/finalize", "/v1/credits",
            "/v1/tenants/{tenant}"} <= set(document["paths"])
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
