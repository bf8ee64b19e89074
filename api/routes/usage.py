"""/v1/usage-events: a meter's batch of up to 10,000 events, each answered stored, duplicate,
conflict or late (SPEC 12), through the metering operation the files and the command use."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.door import Answer
from api.routes.common import Credentials, door_of
from api.schemas import UsageBatchIn, UsageBatchOut, canonical_usage_batch
from api.views import usage_batch
from billing_core.access import Actor, Permission
from billing_core.errors import InvalidInput
from billing_core.usage_events import LineProblem, UsageBatchRefused, UsageEvent, check_event
from db.usage_events import import_usage_events

router = APIRouter(prefix="/v1/usage-events", tags=["usage"])


@router.post("", response_model=UsageBatchOut)
def send(body: UsageBatchIn, request: Request, credentials: Credentials,
         idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
         ) -> Response:
    """Store a batch of usage events in one transaction, all or nothing (a batch of plain
    events is served the same way ahead of this route: `api.usage_lane`): any bad event refuses
    the batch (422, every bad event named by its position). Sending an event again is a
    duplicate, never counted twice; the same id with other content is a conflict, reported and
    never written over; an event for a finalized period is late (kept for finance)."""

    def operation(session: Session, actor: Actor) -> Answer:
        return 200, usage_batch(import_usage_events(session, _checked(body), actor=actor))

    return door_of(request).change(
        credentials, Permission.SEND_USAGE, operation, idempotency_key=idempotency_key,
        request=f"POST {request.url.path}",
        body=canonical_usage_batch([event.model_dump() for event in body.events])
        if idempotency_key is not None else "")


def _checked(body: UsageBatchIn) -> list[UsageEvent]:
    """Each event through `check_event`, the one door every source passes; every bad event is
    named (position from 1, as in the answer's results)."""
    events: list[UsageEvent] = []
    problems: list[LineProblem] = []
    for position, sent in enumerate(body.events, start=1):
        try:
            events.append(check_event(sent.tenant_id, sent.event_id, sent.metric, sent.quantity,
                                      sent.occurred_at))
        except InvalidInput as wrong:
            problems.append(LineProblem(position, wrong.field, wrong.problem))
    if problems:
        raise UsageBatchRefused(problems, len(problems), "The batch")
    return events
