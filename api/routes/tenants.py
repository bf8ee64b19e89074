"""/v1/tenants: create a tenant, read one, change its plan (with a preview that saves nothing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.door import Answer, json_response
from api.routes.common import Credentials, door_of
from api.schemas import (
    NewTenantOut,
    PlanChangeIn,
    PlanChangeOut,
    PlanChangePreviewOut,
    TenantIn,
    TenantOut,
)
from api.views import new_tenant, plan_change, plan_change_preview
from api.views import tenant as tenant_view
from billing_core.access import Actor, Permission
from db.change_preview import preview_change
from db.reads.tenants import tenant_story
from db.subscriptions import PlanChangeResult, change_plan
from db.tenants import create_tenant

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


@router.post("", response_model=NewTenantOut, status_code=201)
def create(body: TenantIn, request: Request, credentials: Credentials,
           idempotency_key: IdempotencyKey = None) -> Response:
    """A new tenant, without a plan yet (give it one with a plan change). An id already taken
    is refused (422 on `tenant_id`), unless this is a replay of the same `Idempotency-Key`."""

    def operation(session: Session, actor: Actor) -> Answer:
        return 201, new_tenant(create_tenant(session, body.tenant_id, body.name, body.currency,
                                             body.billing_anchor_day, actor=actor))

    return door_of(request).change(credentials, Permission.MANAGE_TENANTS, operation,
                                   idempotency_key=idempotency_key,
                                   request=f"POST {request.url.path}",
                                   body=body.model_dump_json())


@router.get("/{tenant}", response_model=TenantOut)
def read(tenant: str, request: Request, credentials: Credentials) -> Response:
    """The tenant, its plan history, its credit balance and its invoices."""
    with door_of(request).reading(credentials, Permission.VIEW_BILLING) as session:
        story = tenant_story(session, tenant)
    return json_response(200, tenant_view(story))


@router.post("/{tenant}/plan-changes", response_model=PlanChangeOut,
             responses={200: {"model": PlanChangePreviewOut,
                              "description": "preview=true: the bill before and after."}},
             status_code=201)
def change(tenant: str, body: PlanChangeIn, request: Request, credentials: Credentials,
           preview: Annotated[bool, Query()] = False,
           idempotency_key: IdempotencyKey = None) -> Response:
    """Put the tenant on `plan_id` from `starts_on` (null cancels). A change inside a finalized
    period is refused (422 on `starts_on`: correct it with a credit note); drafts it reaches
    are re-priced in the same transaction. With
    `preview=true` nothing is saved: the answer is the period's bill before and after (200)."""
    starts_on = body.starts_on

    def changing(session: Session, actor: Actor) -> PlanChangeResult:
        return change_plan(session, tenant, starts_on, body.plan_id, actor=actor)

    if preview:
        def previewing(session: Session, actor: Actor) -> Answer:
            shown = preview_change(session, tenant, starts_on,
                                   lambda s: changing(s, actor), actor=actor)
            return 200, plan_change_preview(shown)

        return door_of(request).dry_run(credentials, Permission.CHANGE_SUBSCRIPTIONS, previewing)

    def operation(session: Session, actor: Actor) -> Answer:
        return 201, plan_change(tenant, starts_on, body.plan_id, changing(session, actor))

    return door_of(request).change(credentials, Permission.CHANGE_SUBSCRIPTIONS, operation,
                                   idempotency_key=idempotency_key,
                                   request=f"POST {request.url.path}",
                                   body=body.model_dump_json())
