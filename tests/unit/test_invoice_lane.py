"""The invoice lane (`api.invoice_lane`) answers only `GET /v1/invoices/{tenant}/{whole number}`
and passes everything else on; an error nobody planned for is a 500 problem without a trace, as
behind FastAPI. (Its answers over a real server and database: tests/integration/api.)"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from api.door import Door
from api.invoice_lane import InvoiceLane, bearer_token


class _Failing:
    """A door whose invoice read fails as a dropped database connection would."""

    async def read_invoice(self, key: str | None, tenant_id: str, invoice_id: int) -> bytes:
        raise RuntimeError("connection string postgresql://secret@db")


async def _inner(scope: Scope, receive: Receive, send: Send) -> None:
    """The app behind the lane: answers 299 and names the path, so a test sees it was reached."""
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


def _ask(method: str, path: str, **kwargs: Any) -> httpx.Response:
    lane = InvoiceLane(_inner, cast(Door, _Failing()))

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(lane, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            return await http.request(method, path, **kwargs)

    # In a thread of its own: a browser test earlier in the process may leave this thread's
    # event loop running, and asyncio.run refuses to start inside one.
    with ThreadPoolExecutor(1) as runner:
        return runner.submit(asyncio.run, ask()).result()


def test_an_unexpected_error_is_a_problem_without_a_trace(caplog):
    with caplog.at_level(logging.ERROR, logger="api"):
        answer = _ask("GET", "/v1/invoices/ent-acme/7", headers={"Authorization": "Bearer k"})

    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"].startswith("Something went wrong on our side; nothing was "
                                              "changed.")
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert "GET /v1/invoices/ent-acme/7 failed" in caplog.text
    assert "connection string" in caplog.text


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/invoices/ent-acme/abc"),                  # not a whole number: FastAPI's 422
    ("GET", "/v1/invoices/ent-acme/1234567890123456789"),  # more than 18 digits
    ("GET", "/v1/invoices/ent-acme/7/finalize"),
    ("GET", "/v1/invoices/ent-acme"),
    ("GET", "/v1/invoices"),
    ("POST", "/v1/invoices/ent-acme/7"),
    ("HEAD", "/v1/invoices/ent-acme/7"),
])
def test_everything_else_goes_on_to_the_app(method, path):
    answer = _ask(method, path)

    assert answer.status_code == 299
    assert method == "HEAD" or answer.text == path


@pytest.mark.parametrize(("header", "token"), [
    (b"Bearer abc", "abc"),
    (b"bearer abc", "abc"),
    (b"BEARER   abc", "abc"),
    (b"Basic abc", None),
    (b"Bearer", None),
    (b"Bearer ", None),
    (b"abc", None),
])
def test_the_token_is_read_as_fastapis_http_bearer_reads_it(header, token):
    assert bearer_token({"headers": [(b"accept", b"*/*"), (b"authorization", header)]}) == token
    assert bearer_token({"headers": []}) is None
