"""`GET /v1/invoices/{tenant}/{id}`, the API's busiest read, served ahead of FastAPI.

FastAPI's per-request path (its telemetry check, five middleware layers, route matching over
every route, the dependency solver for the bearer header and the path parameters, the
endpoint's wrapper) cost about 0.5 ms of CPU per read, twice the read itself. This ASGI app,
the one uvicorn serves (`api.__main__`), recognizes the one path by a regular expression and
answers it with `Door.read_invoice` directly: the same key lookup, the same
`require(actor, Permission.VIEW_BILLING)`, the same problem documents (`api.problems`) for a
missing, unknown or revoked key (401), a role that may not (403), an unknown invoice (404),
anything unexpected (500, logged, no trace to the client). A GET has no body to limit.
Anything else, an id that is not a whole number included, goes on to FastAPI, where the
route `api.routes.invoices.read` documents this endpoint in `/openapi.json` and answers
such requests (422) by the same door.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from api.door import Door
from api.problems import problem_of

_PATH = re.compile(r"/v1/invoices/([^/]+)/([0-9]{1,18})")
"""What FastAPI's `/v1/invoices/{tenant}/{invoice_id}` matches with an int id (18 digits always
fit a bigint)."""


class InvoiceLane:
    """The invoice read in front of `app` (the FastAPI app, which gets everything else)."""

    def __init__(self, app: ASGIApp, door: Door) -> None:
        self.app = app
        self.door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not (
                match := _PATH.fullmatch(scope["path"])):
            await self.app(scope, receive, send)
            return
        try:
            body = await self.door.read_invoice(bearer_token(scope), match[1], int(match[2]))
        except Exception as error:
            await problem_of(error, "GET", scope["path"])(scope, receive, send)
            return
        await send_json(send, 200, body)


async def send_json(send: Send, status: int, body: bytes,
                    headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


def bearer_token(scope: Scope) -> str | None:
    """The token of `Authorization: Bearer <token>` (the scheme in any case), as FastAPI's
    `HTTPBearer(auto_error=False)` reads it; None without one."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if token and scheme.lower() == "bearer" else None
    return None
