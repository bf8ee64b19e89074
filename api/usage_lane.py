"""`POST /v1/usage-events` with a plain batch, served ahead of FastAPI.

A meter's batch of 1,000 events cost the API process about 23 ms of CPU through FastAPI, and
half of that was the body read three times over: pydantic's 1,000 objects (the route's
schema), `check_event` on each, then each event printed as the CSV row the database loads.
This ASGI app (uvicorn serves it in front of the invoice lane, `api.app.serving_app`) takes a
batch whose every event is plain (`billing_core.plain_batch`: exactly the five
fields, texts and a whole-number quantity, each in the form a meter sends) from the decoded
JSON straight to its rows, and stores them through the same door and operation as the route
(`Door.answer_change`, `db.usage_events.import_usage_events`): the same key lookup and
`require(actor, Permission.SEND_USAGE)`, the same transaction, idempotency and answer.

It takes only what the route would take as it is: a body declared `application/json` with a
`Content-Length` within the limit, `{"events": [...]}` of 1 to `MAX_USAGE_BATCH` plain events
whose tenant ids fit the schema. Anything else (a bad or odd event, a chunked body, another
shape) goes on to FastAPI with the body as it came, where the route checks it field by field
and names what is wrong, as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body_limit import declared_over_limit
from api.door import REPLAYED, Answer, Door
from api.invoice_lane import bearer_token, send_json
from api.problems import problem_of
from api.schemas import MAX_ID_CHARS, MAX_USAGE_BATCH, canonical_usage_batch
from api.views import usage_batch
from billing_core.access import Actor, Permission
from billing_core.plain_batch import PlainBatch, plain_batch
from db.usage_events import import_usage_events

PATH = "/v1/usage-events"


class UsageLane:
    """The plain usage batch in front of `app` (which gets everything else)."""

    def __init__(self, app: ASGIApp, door: Door) -> None:
        self.app = app
        self.door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH
                or not _declared_json_within_limit(scope["headers"])):
            await self.app(scope, receive, send)
            return
        body = await _whole_body(receive)
        if body is None:  # the client went away
            return
        batch = _plain_batch(body)
        if batch is None:
            await self.app(scope, _replaying(body, receive), send)
            return
        events, plain = batch
        idempotency_key = _header(scope["headers"], b"idempotency-key")

        def operation(session: Session, actor: Actor) -> Answer:
            return 200, usage_batch(import_usage_events(session, events, actor=actor,
                                                        plain=plain))

        try:
            answer, replayed = await run_in_threadpool(
                self.door.answer_change, bearer_token(scope), Permission.SEND_USAGE, operation,
                idempotency_key=idempotency_key, request=f"POST {PATH}",
                body=canonical_usage_batch(events) if idempotency_key is not None else "")
        except Exception as error:
            await problem_of(error, "POST", PATH)(scope, receive, send)
            return
        await send_json(send, answer.status, answer.body.encode(),
                        ((REPLAYED.lower().encode(), b"true"),) if replayed else ())


def _plain_batch(body: bytes) -> tuple[list[Mapping[str, Any]], PlainBatch] | None:
    """The events, and the same by column, when the body is `{"events": [...]}` of plain events the
    route's schema takes (`api.schemas.UsageBatchIn`); else None."""
    # orjson: half the time of json.loads. What it refuses (not JSON, not UTF-8, NaN, a number
    # beyond 64 bits) goes to the route, which reads it with json as before.
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(decoded) is not dict or len(decoded) != 1:
        return None
    events = decoded.get("events")
    if type(events) is not list or not 1 <= len(events) <= MAX_USAGE_BATCH:
        return None
    plain = plain_batch(events)
    if plain is None or max(map(len, plain.tenant_ids)) > MAX_ID_CHARS:
        return None
    return events, plain


def _declared_json_within_limit(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    declared = _header(headers, b"content-length")
    media_type = (_header(headers, b"content-type") or "").partition(";")[0].strip().lower()
    return (media_type == "application/json" and declared is not None
            and not declared_over_limit(declared))


def _header(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


async def _whole_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app behind: the body read already, then the connection's own."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
