"""Requests made twice (SPEC 13): an `Idempotency-Key` answers the first response again, refuses
the same key with another body (409), and holds when many clients use one key at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import text

from billing_core.periods import calendar_month
from db.idempotency import KEEP_DAYS, StoredResponse, claim, remember
from db.invoicing import generate_invoice
from tests.actors import finance
from tests.integration.api.conftest import bearer
from tests.integration.factories import add_plan, add_tenant


@pytest.fixture
def tenant(api_db, new_tenant_id) -> str:
    """A tenant with a 2024-11 draft of $1,000.00."""
    with api_db.begin() as session:
        add_plan(session, "idem-compute-1000", 100000)
        tenant = add_tenant(session, new_tenant_id("api-idem"),
                            plans=[(date(2024, 1, 1), "idem-compute-1000")])
        generate_invoice(session, tenant, calendar_month("2024-11"), actor=finance())
    return tenant


def _credit(tenant: str, amount: str = "25.00") -> dict:
    return {"tenant": tenant, "amount": amount, "currency": "USD", "reason": "Outage on 3 Nov"}


def _credits(db, tenant: str) -> list[tuple]:
    with db.begin() as session:
        return [tuple(row) for row in session.execute(text("""
            SELECT amount_minor, idempotency_key FROM credits WHERE tenant_id = :t
        """), {"t": tenant})]


def test_the_same_key_and_body_again_answer_the_first_response(client, api_db, keys, tenant):
    headers = {**bearer(keys, "finance"), "Idempotency-Key": "outage-3-nov"}

    first = client.post("/v1/credits", json=_credit(tenant), headers=headers)
    again = client.post("/v1/credits", json=_credit(tenant), headers=headers)

    assert first.status_code == 201, first.text
    assert first.json()["applied"] == {"amount": "25.00", "currency": "USD"}
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _credits(api_db, tenant) == [(2500, "outage-3-nov")]


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(client, api_db, keys,
                                                                        tenant):
    headers = {**bearer(keys, "finance"), "Idempotency-Key": "outage-4-nov"}
    assert client.post("/v1/credits", json=_credit(tenant), headers=headers).status_code == 201

    reused = client.post("/v1/credits", json=_credit(tenant, "30.00"), headers=headers)

    assert reused.status_code == 409
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["detail"] == (
        "Idempotency-Key 'outage-4-nov' was already used for another request (POST /v1/credits "
        "with a different body); send a new key for a new request")
    assert _credits(api_db, tenant) == [(2500, "outage-4-nov")]


def test_a_refused_request_keeps_no_key_so_the_corrected_one_goes_through(client, api_db, keys,
                                                                          tenant):
    headers = {**bearer(keys, "finance"), "Idempotency-Key": "first-try-was-wrong"}
    wrong = client.post("/v1/credits", json={**_credit(tenant), "currency": "EUR"},
                        headers=headers)
    assert wrong.status_code == 422, wrong.text

    right = client.post("/v1/credits", json=_credit(tenant), headers=headers)

    assert right.status_code == 201, right.text
    assert _credits(api_db, tenant) == [(2500, "first-try-was-wrong")]


def test_many_clients_using_one_key_at_once_make_one_credit(api_base, api_db, keys, tenant):
    """Ten clients send the key with one body and ten with another, all at the same moment:
    one credit; each client gets the winner's answer or a 409, never a second credit."""
    headers = {**bearer(keys, "finance"), "Idempotency-Key": "shared-at-once"}
    bodies = [_credit(tenant, "25.00")] * 10 + [_credit(tenant, "40.00")] * 10
    start = threading.Barrier(len(bodies))

    def send(body: dict) -> httpx.Response:
        with httpx.Client(base_url=api_base, headers=headers, timeout=60) as http:
            start.wait()
            return http.post("/v1/credits", json=body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(send, bodies))

    [(amount_minor, _)] = _credits(api_db, tenant)
    winner = {2500: "25.00", 4000: "40.00"}[amount_minor]
    for body, answer in zip(bodies, answers, strict=True):
        if body["amount"] == winner:
            assert answer.status_code == 201 and answer.json()["amount"]["amount"] == winner
        else:
            assert answer.status_code == 409, answer.text
    assert len({a.content for a in answers if a.status_code == 201}) == 1


def test_finalizing_twice_is_refused_unless_the_second_names_the_first_key(client, api_db, keys,
                                                                           tenant):
    with api_db.begin() as session:
        draft = generate_invoice(session, tenant, calendar_month("2024-12"),
                                 actor=finance()).invoice_id
    path = f"/v1/invoices/{tenant}/{draft}/finalize"
    headers = {**bearer(keys, "finance"), "Idempotency-Key": f"finalize-{draft}"}

    first = client.post(path, json={"price_version": 1}, headers=headers)
    again = client.post(path, json={"price_version": 1}, headers=headers)
    without_key = client.post(path, json={"price_version": 1}, headers=bearer(keys, "finance"))

    assert first.status_code == 200 and first.json()["number"].startswith("INV-")
    assert again.content == first.content
    assert without_key.status_code == 409
    assert without_key.json()["detail"] == f"Invoice {first.json()['number']} is already finalized"


def test_keys_are_kept_thirty_days_then_purged(api_db, keys):
    with api_db.begin() as session:
        holder = session.execute(text("SELECT min(api_key_id) FROM api_keys")).scalar_one()
        for key, age in (("kept", KEEP_DAYS - 1), ("expired", KEEP_DAYS + 1)):
            assert claim(session, holder, key, "POST /v1/credits", "f") is None
            remember(session, holder, key, StoredResponse(201, "{}"))
            session.execute(text("""
                UPDATE api_idempotency_keys SET created_at = now() - :age
                WHERE api_key_id = :holder AND idempotency_key = :key
            """), {"age": timedelta(days=age), "holder": holder, "key": key})
    with api_db.begin() as session:
        assert claim(session, holder, "kept", "POST /v1/credits", "f") == StoredResponse(201, "{}")
        left = set(session.execute(text("""
            SELECT idempotency_key FROM api_idempotency_keys
            WHERE api_key_id = :holder AND idempotency_key IN ('kept', 'expired')
        """), {"holder": holder}).scalars())
    assert left == {"kept"}
