"""What the platform does through the API, end to end on a real server: create a tenant, put it
on a plan, change the plan mid-month (previewed first), finalize the version it reviewed, and
send usage (stored / duplicate / conflict / late). SPEC 3, 11, 12 and 13 examples."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from api.schemas import MAX_USAGE_BATCH, PlanChangeOut, PlanChangePreviewOut, UsageBatchOut
from tests.integration.api.conftest import bearer
from tests.integration.factories import add_plan

TB = 10**12
STORAGE_TERMS = ("storage", "TB", "byte", TB, TB, Decimal("23.00"))


@pytest.fixture
def plans(api_db) -> None:
    with api_db.begin() as session:
        add_plan(session, "flow-compute-600", 60000, usage=STORAGE_TERMS)
        add_plan(session, "flow-compute-1000", 100000, usage=STORAGE_TERMS)


@pytest.fixture
def finance_http(client, keys):
    client.headers.update(bearer(keys, "finance"))
    return client


def _rows(db, sql: str, **params) -> list[tuple]:
    with db.begin() as session:
        return [tuple(row) for row in session.execute(text(sql), params)]


def _new_tenant(http, stem: str = "ent-new-co") -> str:
    tenant = f"{stem}-{uuid.uuid4().hex[:6]}"
    made = http.post("/v1/tenants", json={"tenant_id": tenant, "name": "New Co",
                                          "currency": "USD", "billing_anchor_day": 1})
    assert made.status_code == 201, made.text
    assert made.json() == {"tenant_id": tenant, "name": "New Co", "currency": "USD",
                           "billing_anchor_day": 1, "is_active": True}
    return tenant


def test_a_mid_month_upgrade_previewed_then_made_then_finalized_as_reviewed(finance_http,
                                                                            api_db, plans):
    http = finance_http
    tenant = _new_tenant(http)
    assert http.post(f"/v1/tenants/{tenant}/plan-changes",
                     json={"starts_on": "2024-11-01", "plan_id": "flow-compute-600"}
                     ).status_code == 201
    draft = http.post("/v1/invoices", json={"tenant": tenant, "period": "2024-11"}).json()
    path = f"/v1/invoices/{tenant}/{draft['invoice_id']}"
    reviewed = http.get(path).json()
    assert reviewed["total"]["amount"] == "600.00" and reviewed["price_version"] == 1
    upgrade = {"starts_on": "2024-11-16", "plan_id": "flow-compute-1000"}
    subscriptions = "SELECT starts_on, plan_id FROM subscriptions WHERE tenant_id = :t"

    preview = http.post(f"/v1/tenants/{tenant}/plan-changes?preview=true", json=upgrade)

    assert preview.status_code == 200, preview.text
    shown = PlanChangePreviewOut.model_validate(preview.json())
    assert (shown.before.total.amount, shown.after.total.amount) == ("600.00", "800.00")
    assert [line.amount.amount for line in shown.after.lines] == ["300.00", "500.00"]
    assert shown.difference.amount == "200.00"
    assert len(_rows(api_db, subscriptions, t=tenant)) == 1  # the preview saved nothing
    assert http.get(path).json()["price_version"] == 1

    made = http.post(f"/v1/tenants/{tenant}/plan-changes", json=upgrade)

    assert made.status_code == 201, made.text
    [repriced] = PlanChangeOut.model_validate(made.json()).repriced
    assert (repriced.total_before.amount, repriced.total_after.amount) == ("600.00", "800.00")
    stale = http.post(f"{path}/finalize", json={"price_version": 1})
    assert stale.status_code == 409
    assert stale.json()["detail"] == (f"Invoice #{draft['invoice_id']} changed since you opened "
                                      "it: $600.00 is now $800.00; review it again")
    finalized = http.post(f"{path}/finalize", json={"price_version": repriced.price_version})
    assert finalized.status_code == 200 and finalized.json()["status"] == "finalized"

    inside_finalized = http.post(f"/v1/tenants/{tenant}/plan-changes",
                                 json={"starts_on": "2024-11-20", "plan_id": "flow-compute-600"})
    assert (inside_finalized.status_code, inside_finalized.json()["field"]) == (409, "starts_on")
    assert "2024-11 is finalized for" in inside_finalized.json()["detail"]
    assert "credit note" in inside_finalized.json()["detail"]
    assert len(_rows(api_db, subscriptions, t=tenant)) == 2


def test_a_tenant_id_already_taken_is_refused_on_its_field(finance_http, plans):
    tenant = _new_tenant(finance_http)
    again = finance_http.post("/v1/tenants", json={"tenant_id": tenant, "name": "Other",
                                                   "currency": "USD"})
    assert again.status_code == 422 and again.json()["field"] == "tenant_id"
    assert finance_http.get(f"/v1/tenants/{tenant}").json()["name"] == "New Co"


def _event(tenant: str, event_id: str, quantity: int, day: str = "2024-11-05") -> dict:
    return {"tenant_id": tenant, "event_id": event_id, "metric": "storage",
            "quantity": quantity, "occurred_at": f"{day}T10:00:00Z"}


def test_usage_events_answer_stored_duplicate_conflict_and_late(client, keys, finance_http,
                                                                api_db, plans):
    tenant = _new_tenant(finance_http, "smb-wayne-tech")
    finance_http.post(f"/v1/tenants/{tenant}/plan-changes",
                      json={"starts_on": "2024-10-01", "plan_id": "flow-compute-1000"})
    october = finance_http.post("/v1/invoices", json={"tenant": tenant, "period": "2024-10"})
    finance_http.post(f"/v1/invoices/{tenant}/{october.json()['invoice_id']}/finalize",
                      json={"price_version": 1})
    meter = bearer(keys, "meter")

    first = client.post("/v1/usage-events", headers=meter, json={"events": [
        _event(tenant, "evt-1", TB), _event(tenant, "evt-old", 5, day="2024-10-20")]})
    second = client.post("/v1/usage-events", headers=meter, json={"events": [
        _event(tenant, "evt-1", TB), _event(tenant, "evt-1b", 1),
        {**_event(tenant, "evt-old", 6, day="2024-10-20")}]})

    assert first.status_code == 200, first.text
    assert [r["outcome"] for r in UsageBatchOut.model_validate(first.json()).model_dump()[
        "results"]] == ["stored", "late"]
    assert [(r["position"], r["event_id"], r["outcome"]) for r in second.json()["results"]] == [
        (1, "evt-1", "duplicate"), (2, "evt-1b", "stored"), (3, "evt-old", "conflict")]
    assert second.json()["counts"] == {"received": 3, "new": 1, "duplicate": 1, "conflict": 1,
                                       "late": 0}
    assert _rows(api_db, "SELECT event_id, quantity_base_units FROM usage_events "
                          "WHERE tenant_id = :t ORDER BY 1", t=tenant) == [
        ("evt-1", TB), ("evt-1b", 1), ("evt-old", 5)]
    # Exactly 1 TB then one byte more, in November: one byte of overage is billed.
    november = finance_http.post("/v1/invoices", json={"tenant": tenant, "period": "2024-11"})
    lines = finance_http.get(f"/v1/invoices/{tenant}/{november.json()['invoice_id']}"
                             ).json()["lines"]
    assert [line["kind"] for line in lines] == ["recurring", "usage"]


def test_a_bad_event_refuses_the_whole_batch_naming_each(client, keys, finance_http, api_db,
                                                         plans):
    tenant = _new_tenant(finance_http)
    finance_http.post(f"/v1/tenants/{tenant}/plan-changes",
                      json={"starts_on": "2024-11-01", "plan_id": "flow-compute-600"})
    before = _rows(api_db, "SELECT count(*) FROM usage_events")
    batch = [_event(tenant, "ok-1", 5), {**_event(tenant, "bad-1", 5), "quantity": -3},
             {**_event(tenant, "bad-2", 5), "occurred_at": "2024-11-05T10:00:00"}]

    refused = client.post("/v1/usage-events", headers=bearer(keys, "meter"),
                          json={"events": batch})

    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert [error["field"] for error in problem["errors"]] == [
        "events.1.quantity", "events.2.occurred_at"]
    assert problem["detail"].startswith("The batch was not imported (2 problems, nothing was "
                                        "stored)")
    assert _rows(api_db, "SELECT count(*) FROM usage_events") == before


def test_a_batch_holds_at_most_ten_thousand_events(client, keys):
    event = _event("ent-any", "e", 1)
    too_many = client.post("/v1/usage-events", headers=bearer(keys, "meter"),
                           json={"events": [event] * (MAX_USAGE_BATCH + 1)})
    assert too_many.status_code == 422 and too_many.json()["field"] == "events"
    assert "at most 10000" in too_many.json()["detail"]


def test_a_month_means_the_tenants_billing_period_starting_in_it(finance_http, plans):
    tenant = f"ent-mid-month-{uuid.uuid4().hex[:6]}"
    finance_http.post("/v1/tenants", json={"tenant_id": tenant, "name": "Mid Month",
                                           "currency": "USD", "billing_anchor_day": 15})
    finance_http.post(f"/v1/tenants/{tenant}/plan-changes",
                      json={"starts_on": "2024-01-01", "plan_id": "flow-compute-600"})

    made = finance_http.post("/v1/invoices", json={"tenant": tenant, "period": "2024-01"})

    assert made.status_code == 201, made.text
    invoice = finance_http.get(f"/v1/invoices/{tenant}/{made.json()['invoice_id']}").json()
    assert (invoice["period_start"], invoice["period_end"]) == ("2024-01-15", "2024-02-15")


def _chunked(body: dict):
    """The body sent without a length (chunked): the usage lane leaves it to the route."""
    yield json.dumps(body).encode()


def test_a_plain_batch_is_answered_alike_ahead_of_fastapi_and_through_it(client, keys,
                                                                           finance_http, api_db,
                                                                           plans):
    tenant = _new_tenant(finance_http, "smb-lane")
    finance_http.post(f"/v1/tenants/{tenant}/plan-changes",
                      json={"starts_on": "2024-11-01", "plan_id": "flow-compute-600"})
    meter = {**bearer(keys, "meter"), "Content-Type": "application/json"}
    batch = {"events": [_event(tenant, "lane-1", 5), _event(tenant, "lane-2", 7)]}

    by_lane = client.post("/v1/usage-events", headers=meter, json=batch)
    by_route = client.post("/v1/usage-events", headers=meter, content=_chunked(batch))
    unknown = {"events": [_event(tenant, "lane-3", 1), _event("ent-nobody-here", "lane-4", 1)]}
    refused_by_lane = client.post("/v1/usage-events", headers=meter, json=unknown)
    refused_by_route = client.post("/v1/usage-events", headers=meter, content=_chunked(unknown))

    assert by_lane.status_code == by_route.status_code == 200, by_lane.text
    first, again = by_lane.json(), by_route.json()
    assert first["import_id"] != again["import_id"]
    assert [r["outcome"] for r in first["results"]] == ["stored", "stored"]
    assert {**again, "import_id": 0} == {
        **first, "import_id": 0, "counts": {"received": 2, "new": 0, "duplicate": 2,
                                            "conflict": 0, "late": 0},
        "results": [{**r, "outcome": "duplicate"} for r in first["results"]]}
    assert refused_by_lane.status_code == refused_by_route.status_code == 422
    assert refused_by_lane.json() == refused_by_route.json()
    assert refused_by_lane.json()["field"] == "events.1.tenant_id"


def test_an_idempotency_key_holds_whichever_way_the_batch_came(client, keys, finance_http,
                                                               api_db, plans):
    tenant = _new_tenant(finance_http, "smb-lane-key")
    finance_http.post(f"/v1/tenants/{tenant}/plan-changes",
                      json={"starts_on": "2024-11-01", "plan_id": "flow-compute-600"})
    headers = {**bearer(keys, "meter"), "Content-Type": "application/json",
               "Idempotency-Key": f"meter-batch-{tenant}"}
    batch = {"events": [_event(tenant, "k-1", 5)]}

    first = client.post("/v1/usage-events", headers=headers, json=batch)
    again = client.post("/v1/usage-events", headers=headers, content=_chunked(batch))
    other = client.post("/v1/usage-events", headers=headers,
                        json={"events": [_event(tenant, "k-2", 5)]})

    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    assert (again.status_code, again.content) == (200, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409, other.text
    assert _rows(api_db, "SELECT count(*) FROM usage_imports i WHERE EXISTS (SELECT FROM "
                         "usage_events e WHERE e.import_id = i.import_id AND e.tenant_id = :t)",
                 t=tenant) == [(1,)]
