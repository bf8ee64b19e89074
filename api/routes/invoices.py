"""/v1/invoices: generate (idempotent by tenant and period), read, list, finalize."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.door import Answer, json_response
from api.routes.common import Credentials, door_of
from api.schemas import (
    FinalizeIn,
    GeneratedOut,
    GenerateInvoiceIn,
    InvoiceOut,
    InvoicePageOut,
    InvoiceStateOut,
)
from api.views import decode_cursor, generated, invoice_page, invoice_state
from billing_core.access import Actor, Permission
from db.month_end import generate_month_invoice
from db.reads.invoices import list_invoices
from db.transitions import finalize_invoice

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


@router.post("", response_model=GeneratedOut, status_code=201,
             responses={200: {"model": GeneratedOut, "description": "It already existed."}})
def generate(body: GenerateInvoiceIn, request: Request, credentials: Credentials,
             idempotency_key: IdempotencyKey = None) -> Response:
    """Generate the tenant's draft invoice for its billing period starting in `period` (the one
    month-end bills for that month), or find it: the same request twice, or fifty at once,
    answers the same `invoice_id`, and the database holds one invoice."""

    def operation(session: Session, actor: Actor) -> Answer:
        made = generate_month_invoice(session, body.tenant, body.period, actor=actor)
        return (201 if made.created else 200), generated(made, body.period)

    return door_of(request).change(credentials, Permission.GENERATE_INVOICES, operation,
                                   idempotency_key=idempotency_key,
                                   request=f"POST {request.url.path}",
                                   body=body.model_dump_json())


@router.get("", response_model=InvoicePageOut)
def list_page(request: Request, credentials: Credentials,
              tenant: Annotated[str | None, Query(max_length=200)] = None,
              period: Annotated[str | None, Query(max_length=7)] = None,
              status: Annotated[str | None, Query(max_length=20)] = None,
              cursor: Annotated[str | None, Query(max_length=400)] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Response:
    """Invoices, newest period first, filtered; pass `next_cursor` back as `cursor`."""
    with door_of(request).reading(credentials, Permission.VIEW_BILLING) as session:
        page = list_invoices(session, tenant_id=tenant, period_label=period, status=status,
                             after=decode_cursor(cursor) if cursor else None, limit=limit,
                             count=False)
    return json_response(200, invoice_page(page))


@router.get("/{tenant}/{invoice_id}", response_model=InvoiceOut)
async def read(tenant: str, invoice_id: int, request: Request,
               credentials: Credentials) -> Response:
    """One invoice with every line and the sentence that explains it."""
    # Served by api.invoice_lane ahead of the router; the lane leaves this route the requests
    # it does not recognize, which the same door answers.
    body = await door_of(request).read_invoice(
        None if credentials is None else credentials.credentials, tenant, invoice_id)
    return Response(body, media_type="application/json")


@router.post("/{tenant}/{invoice_id}/finalize", response_model=InvoiceStateOut)
def finalize(tenant: str, invoice_id: int, body: FinalizeIn, request: Request,
             credentials: Credentials, idempotency_key: IdempotencyKey = None) -> Response:
    """draft -> finalized, numbered INV-YYYY-NNNNNN, if the draft is still the version you
    reviewed (SPEC 13). Finalizing twice is refused (409, "already finalized") unless the
    second carries the first's `Idempotency-Key`."""

    def operation(session: Session, actor: Actor) -> Answer:
        return 200, invoice_state(finalize_invoice(session, tenant, invoice_id, actor=actor,
                                                   reviewed_version=body.price_version))

    return door_of(request).change(credentials, Permission.FINALIZE_INVOICES, operation,
                                   idempotency_key=idempotency_key,
                                   request=f"POST {request.url.path}",
                                   body=body.model_dump_json())
