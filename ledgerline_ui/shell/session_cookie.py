"""The sign-in cookie: how a browser proves, on a reload or a typed link, that it signed in.

A script run cannot set a cookie (Streamlit answers over a WebSocket; `st.context.cookies`
only reads what the browser sent when it connected), and a cookie that JavaScript writes
cannot be HttpOnly. So the app's ASGI server (`app.py`, `st.App(routes=...)`) carries three
small routes of its own, and the page makes the browser call them with an invisible image
(an `<img>` request is same-origin and carries cookies; no script runs in the page):

- `/_ledgerline/session/begin?handoff=...`: after a sign-in, trades the session's one-time
  handoff (`db.web_sessions`) for a random token and sets it as the cookie;
- `/_ledgerline/session/refresh?at=...`: while the session holds, sets the same cookie again
  with a full idle limit (the page asks every few minutes, so an active person's cookie
  never lapses; an idle one's does, with the session);
- `/_ledgerline/session/end`: removes the cookie (signing out already deleted the session).

The cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's link or form
carries it; a link typed into the address bar does), Path=/, Max-Age = the idle limit,
and Secure when the request came over HTTPS (through a proxy uvicorn trusts). The routes
answer only requests from the app's own pages (`Sec-Fetch-Site: same-origin` where the
browser sends it), so another site cannot plant a session (login CSRF). With single
sign-on, none of this is used: Streamlit's own identity cookie keeps that sign-in.
"""

from __future__ import annotations

import base64
import time

import streamlit as st
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db.database import get_engine, make_sessionmaker
from db.web_sessions import redeem_handoff, signed_in_by_token
from ledgerline_ui.shell.idle_limit import idle_limit_seconds

COOKIE_NAME = "ledgerline_session"
ROUTE_PREFIX = "/_ledgerline/session"
# A transparent 1x1 GIF: the routes answer the page's invisible image with an image.
_PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_IMAGE = '<img src="{src}" alt="" width="1" height="1" style="position:absolute;opacity:0">'


def cookie_token() -> str:
    """The token the browser sent when this Streamlit session connected ("" without one)."""
    try:
        token = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # no browser behind this run
        return ""
    return token if isinstance(token, str) else ""  # AppTest's context holds no real cookies


def hand_off(handoff: str) -> None:
    """Make the browser trade `handoff` for the cookie (once; a later run draws the same
    image, which the browser does not fetch again)."""
    st.html(_IMAGE.format(src=f"{ROUTE_PREFIX}/begin?handoff={handoff}"))


def keep_fresh() -> None:
    """Make the browser renew the cookie's lifetime, at most once per quarter idle limit."""
    bucket = int(time.time()) // max(60, idle_limit_seconds() // 4)
    st.html(_IMAGE.format(src=f"{ROUTE_PREFIX}/refresh?at={bucket}"))


def forget() -> None:
    """Make the browser drop the cookie (after signing out)."""
    st.html(_IMAGE.format(src=f"{ROUTE_PREFIX}/end"))


def _sessions():
    return make_sessionmaker(get_engine(), Session)


def _redeem(handoff: str) -> str | None:
    with _sessions().begin() as session:
        return redeem_handoff(session, handoff)


def _holds(token: str) -> bool:
    with _sessions().begin() as session:
        return signed_in_by_token(session, token, idle_limit_seconds()) is not None


def _pixel(request: Request, token: str | None) -> Response:
    """The image, setting the cookie to `token` (None: removing it)."""
    response = Response(_PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})
    secure = request.url.scheme == "https"
    if token is None:
        response.delete_cookie(COOKIE_NAME, path="/", secure=secure, httponly=True,
                               samesite="strict")
    else:
        response.set_cookie(COOKIE_NAME, token, max_age=idle_limit_seconds(), path="/",
                            secure=secure, httponly=True, samesite="strict")
    return response


def _from_own_page(request: Request) -> bool:
    return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"


async def _begin(request: Request) -> Response:
    handoff = request.query_params.get("handoff", "")
    if not _from_own_page(request) or not handoff or len(handoff) > 100:
        return Response(status_code=403)
    token = await run_in_threadpool(_redeem, handoff)
    return _pixel(request, token) if token else Response(status_code=403)


async def _refresh(request: Request) -> Response:
    token = request.cookies.get(COOKIE_NAME, "")
    if not _from_own_page(request) or not token or len(token) > 100:
        return Response(status_code=403)
    holds = await run_in_threadpool(_holds, token)
    return _pixel(request, token if holds else None)


async def _end(request: Request) -> Response:
    return _pixel(request, None)


ROUTES = [Route(f"{ROUTE_PREFIX}/begin", _begin), Route(f"{ROUTE_PREFIX}/refresh", _refresh),
          Route(f"{ROUTE_PREFIX}/end", _end)]
