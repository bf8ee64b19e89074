"""/v1/credits: a service credit, once per `Idempotency-Key` (SPEC 5 and 13)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.door import Answer
from api.routes.common import Credentials, door_of
from api.schemas import CreditIn, CreditOut
from api.views import credit
from billing_core.access import Actor, Permission
from billing_core.money_text import parse_money
from db.credits import issue_service_credit

router = APIRouter(prefix="/v1/credits", tags=["credits"])


@router.post("", response_model=CreditOut, status_code=201)
def issue(body: CreditIn, request: Request, credentials: Credentials,
          idempotency_key: Annotated[str, Header(alias="Idempotency-Key")]) -> Response:
    """Grant a service credit: it lands on the tenant's draft, the rest waits on the credit
    balance. The same key and body again answers the first response; the same key with
    another body is 409. Above the approval threshold it is refused (409): a second finance
    user approves large credits on the Credits screen."""

    def operation(session: Session, actor: Actor) -> Answer:
        amount = parse_money(body.amount, body.currency, "amount")
        outcome = issue_service_credit(session, body.tenant, amount, body.reason, actor=actor,
                                       idempotency_key=idempotency_key,
                                       invoice_id=body.invoice_id)
        return (201 if outcome.created else 200), credit(body.tenant, amount, outcome)

    return door_of(request).change(credentials, Permission.ISSUE_CREDITS, operation,
                                   idempotency_key=idempotency_key,
                                   request=f"POST {request.url.path}",
                                   body=body.model_dump_json())
