"""The usage lane (`api.usage_lane`) answers only a plain batch the route's schema takes, and
passes everything else on to FastAPI with its body as it came; it answers through the door as
the route does. (Its answers over a real server and database: tests/integration/api.)"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from api.body_limit import MAX_BODY_BYTES
from api.door import Door
from api.schemas import MAX_USAGE_BATCH
from api.usage_lane import UsageLane
from db.idempotency import StoredResponse

EVENT = {"tenant_id": "smb-wayne-tech", "event_id": "evt-1", "metric": "storage",
         "quantity": 5, "occurred_at": "2024-11-05T10:00:00Z"}


class _Door:
    """Records what the lane asks of the door, and answers as the operation would."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.asked: list[dict[str, Any]] = []
        self.failure = failure

    def answer_change(self, key: str | None, permission: Any, operation: Any,
                      **request: Any) -> tuple[StoredResponse, bool]:
        self.asked.append({"key": key, "permission": permission, **request})
        if self.failure is not None:
            raise self.failure
        return StoredResponse(200, '{"import_id":1}'), request["idempotency_key"] == "again"


async def _inner(scope: Scope, receive: Receive, send: Send) -> None:
    """FastAPI's place: answers 299 with the body it was given, so a test sees it got it."""
    body = b""
    while True:
        message: Message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _post(door: _Door, content: bytes | list[bytes], headers: dict[str, str] | None = None
          ) -> httpx.Response:
    lane = UsageLane(_inner, cast(Door, door))

    async def chunks() -> Any:
        for chunk in content:
            yield chunk

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(lane, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            sent = content if isinstance(content, bytes) else chunks()
            return await http.post("/v1/usage-events", content=sent, headers={
                "Content-Type": "application/json", "Authorization": "Bearer k",
                **(headers or {})})

    # In a thread of its own: a browser test earlier in the process may leave this thread's
    # event loop running, and asyncio.run refuses to start inside one.
    with ThreadPoolExecutor(1) as runner:
        return runner.submit(asyncio.run, ask()).result()


def _body(events: list[Any], **more: Any) -> bytes:
    return json.dumps({"events": events, **more}).encode()


def test_a_plain_batch_is_answered_by_the_door_as_the_route_asks_it():
    door = _Door()
    answer = _post(door, _body([EVENT, {**EVENT, "event_id": "evt-2"}]),
                   {"Idempotency-Key": "again", "Content-Type": "application/json; charset=utf-8"})
    assert (answer.status_code, answer.json()) == (200, {"import_id": 1})
    assert answer.headers["Idempotent-Replayed"] == "true"
    [asked] = door.asked
    assert (asked["key"], asked["idempotency_key"], asked["request"]) == (
        "k", "again", "POST /v1/usage-events")
    assert json.loads(asked["body"]) == {"events": [EVENT, {**EVENT, "event_id": "evt-2"}]}


@pytest.mark.parametrize(("content", "headers"), [
    (_body([{**EVENT, "quantity": "5"}]), {}),                       # a text quantity
    (_body([EVENT, {**EVENT, "occurred_at": "2024-11-05T10:00:00"}]), {}),  # no offset
    (_body([{**EVENT, "tenant_id": "t" * 201}]), {}),                # longer than the schema
    (_body([{**EVENT, "extra": 1}]), {}),
    (_body([]), {}),
    (_body([EVENT] * (MAX_USAGE_BATCH + 1)), {}),
    (_body([EVENT], more=1), {}),
    (json.dumps([EVENT]).encode(), {}),
    (b'{"events": [', {}),
    (b"\xff\xfe", {}),
    (_body([EVENT]).replace(b"5", b"NaN", 1), {}),                    # json reads it, orjson not
    (_body([EVENT]), {"Content-Type": "text/plain"}),
    ([_body([EVENT])[:9], _body([EVENT])[9:]], {}),                   # chunked: no length
], ids=["text quantity", "no offset", "long tenant", "extra field", "no events", "too many",
        "extra key", "a list", "not JSON", "not UTF-8", "NaN", "not JSON by its type", "chunked"])
def test_anything_else_goes_on_with_its_body_as_it_came(content, headers):
    door = _Door()
    answer = _post(door, content, headers)
    sent = content if isinstance(content, bytes) else _body([EVENT])
    assert (answer.status_code, answer.content) == (299, sent)
    assert door.asked == []


def test_a_declared_body_above_the_limit_is_left_to_the_limit_behind():
    door = _Door()
    answer = _post(door, b" " * (MAX_BODY_BYTES + 1) + _body([EVENT]))
    assert answer.status_code == 299 and door.asked == []


def test_an_unexpected_error_is_a_problem_without_a_trace(caplog):
    with caplog.at_level(logging.ERROR, logger="api"):
        answer = _post(_Door(RuntimeError("connection string postgresql://secret@db")),
                       _body([EVENT]))
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert "POST /v1/usage-events failed" in caplog.text
