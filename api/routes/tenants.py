"""/v1/tenants: a tenant as the platform needs it (plans, balance, invoices)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.door import json_response
from api.routes.common import Credentials, door_of
from api.schemas import TenantOut
from api.views import tenant as tenant_view
from billing_core.access import Permission
from db.reads.tenants import tenant_story

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


@router.get("/{tenant}", response_model=TenantOut)
def read(tenant: str, request: Request, credentials: Credentials) -> Response:
    """The tenant, its plan history, its credit balance and its invoices."""
    with door_of(request).reading(credentials, Permission.VIEW_BILLING) as session:
        story = tenant_story(session, tenant)
    return json_response(200, tenant_view(story))
