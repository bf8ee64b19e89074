"""Bodies above `MAX_BODY_BYTES` are refused with 413 before they are read whole.

The largest request the API takes is a batch of 10,000 usage events, about 2 MB
of JSON with generous ids; 4 MiB leaves room and keeps one request from holding
hundreds of megabytes in a worker. A declared `Content-Length` above the limit
is refused at once; a body sent without one (chunked) is counted as it arrives
and refused the moment it passes the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem

MAX_BODY_BYTES = 4 * 1024 * 1024
TOO_LARGE = (f"The body is larger than {MAX_BODY_BYTES:,} bytes, the most this API accepts; "
             "send fewer events per batch.")


def declared_over_limit(content_length: str | bytes) -> bool:
    """A declared `Content-Length` that is no length, or above the limit."""
    return not content_length.isdigit() or int(content_length) > MAX_BODY_BYTES


class BodyTooLarge(HTTPException):
    """Raised while the body is read: FastAPI passes an HTTPException on as it is."""

    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE, headers={"Connection": "close"})


class BodyLimit:
    """ASGI middleware: a 413 problem document for a body above `MAX_BODY_BYTES`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared_over_limit(declared):
            response = problem(413, TOO_LARGE, field="body", headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    raise BodyTooLarge
            return message

        await self.app(scope, counted_receive, send)
