"""Every endpoint against every caller: each role of `billing_core.access`, no key, a revoked key
and a key never issued. A role gets exactly what the role table allows it (the table itself is
held to the issue's words by tests/unit/test_access.py); anyone else gets 401, a role without the
permission 403; and a refused request writes nothing at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from billing_core.access import Actor, Permission, PermissionDenied, Role, is_allowed
from billing_core.periods import calendar_month
from db.invoicing import generate_invoice
from tests.actors import finance
from tests.integration.api.conftest import bearer
from tests.integration.factories import add_plan, add_tenant

WRITTEN = ("audit_log", "invoices", "invoice_lines", "credits", "credit_ledger",
           "api_idempotency_keys", "tenants", "subscriptions", "usage_events", "usage_imports",
           "usage_records")
CALLERS = [role.value for role in Role] + ["nobody", "revoked", "wrong"]
# Storage metered in TB (10**12 bytes), 1 TB included, $23 per TB beyond.
STORAGE_TERMS = ("storage", "TB", "byte", 10**12, 10**12, Decimal("23.00"))


@dataclass(frozen=True)
class Books:
    tenant: str
    draft: int


@dataclass(frozen=True)
class Endpoint:
    permission: Permission
    method: str
    path: str
    body: dict | None = None
    success: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    writes: bool = True


def endpoints(books: Books) -> dict[str, Endpoint]:
    t, draft = books.tenant, books.draft
    return {
        "generate invoice": Endpoint(Permission.GENERATE_INVOICES, "POST", "/v1/invoices",
                                     {"tenant": t, "period": "2024-12"}, 201),
        "list invoices": Endpoint(Permission.VIEW_BILLING, "GET", f"/v1/invoices?tenant={t}",
                                  writes=False),
        "read invoice": Endpoint(Permission.VIEW_BILLING, "GET", f"/v1/invoices/{t}/{draft}",
                                 writes=False),
        "finalize invoice": Endpoint(Permission.FINALIZE_INVOICES, "POST",
                                     f"/v1/invoices/{t}/{draft}/finalize", {"price_version": 1}),
        "issue credit": Endpoint(Permission.ISSUE_CREDITS, "POST", "/v1/credits",
                                 {"tenant": t, "amount": "10.00", "currency": "USD",
                                  "reason": "Outage"}, 201, (("Idempotency-Key", "roles-1"),)),
        "read tenant": Endpoint(Permission.VIEW_BILLING, "GET", f"/v1/tenants/{t}",
                                writes=False),
        "create tenant": Endpoint(Permission.MANAGE_TENANTS, "POST", "/v1/tenants",
                                  {"tenant_id": f"{t}-new", "name": "New Co", "currency": "USD"},
                                  201),
        "change plan": Endpoint(Permission.CHANGE_SUBSCRIPTIONS, "POST",
                                f"/v1/tenants/{t}/plan-changes",
                                {"starts_on": "2024-11-16", "plan_id": "roles-compute-2000"},
                                201),
        "preview plan change": Endpoint(Permission.CHANGE_SUBSCRIPTIONS, "POST",
                                        f"/v1/tenants/{t}/plan-changes?preview=true",
                                        {"starts_on": "2024-11-16",
                                         "plan_id": "roles-compute-2000"}, writes=False),
        "send usage events": Endpoint(Permission.SEND_USAGE, "POST", "/v1/usage-events", {
            "events": [{"tenant_id": t, "event_id": "evt-1", "metric": "storage",
                        "quantity": 10**12, "occurred_at": "2024-11-05T10:00:00Z"}]}),
    }


ENDPOINT_NAMES = list(endpoints(Books("t", 1)))
CASES = [(name, caller) for name in ENDPOINT_NAMES for caller in CALLERS]


@pytest.fixture
def books(api_db, new_tenant_id) -> Books:
    with api_db.begin() as session:
        add_plan(session, "roles-compute-1000", 100000, usage=STORAGE_TERMS)
        add_plan(session, "roles-compute-2000", 200000, usage=STORAGE_TERMS)
        tenant = add_tenant(session, new_tenant_id("api-roles"),
                            plans=[(date(2024, 1, 1), "roles-compute-1000")])
        draft = generate_invoice(session, tenant, calendar_month("2024-11"),
                                 actor=finance("setup@test")).invoice_id
    return Books(tenant, draft)


def _counts(db) -> dict[str, int]:
    with db.begin() as session:
        return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in WRITTEN}


def _expected(caller: str, permission: Permission) -> int | None:
    """None: allowed; else the refusal's status."""
    if caller in ("nobody", "revoked", "wrong"):
        return 401
    return None if is_allowed(Actor("someone", Role(caller)), permission) else 403


@pytest.mark.parametrize("endpoint, caller", CASES, ids=[f"{e}-{c}" for e, c in CASES])
def test_each_caller_gets_exactly_what_the_role_table_allows(client, api_db, keys, key_suffix,
                                                             books, endpoint, caller):
    call = endpoints(books)[endpoint]
    refusal = _expected(caller, call.permission)
    before = _counts(api_db)

    answer = client.request(call.method, call.path, json=call.body,
                            headers={**bearer(keys, caller), **dict(call.headers)})

    if refusal is None:
        assert answer.status_code == call.success, answer.text
        assert (_counts(api_db) != before) is call.writes
        return
    assert answer.status_code == refusal, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == refusal
    if refusal == 401:
        assert answer.headers["www-authenticate"] == "Bearer"
    else:
        # The key's name is the actor: "Meter — meter-3f2a9c may not generate invoices".
        actor = Actor(f"{caller}-{key_suffix}", Role(caller))
        assert problem["detail"] == str(PermissionDenied(actor, call.permission))
    assert _counts(api_db) == before  # a refused request writes nothing
