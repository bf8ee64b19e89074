"""Headers on every HTTP response the app serves: no other site may show Ledgerline in a frame.

A page that another site can frame can be clicked through without its user seeing it
(clickjacking: a transparent "Approve" under a harmless button). Browsers refuse to frame
a response that says `Content-Security-Policy: frame-ancestors 'none'` (and, for older
browsers, `X-Frame-Options: DENY`). Streamlit has no setting for response headers, so
`app.py` serves the screens through `st.App` with this middleware in front; a reverse
proxy may add the same headers again (docs/deployment.md), which is harmless.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_FRAMING_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
)


class NoFramingMiddleware:
    """Adds `NO_FRAMING_HEADERS` to every HTTP response (a pure ASGI middleware, so
    streamed responses and the WebSocket pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in NO_FRAMING_HEADERS if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
