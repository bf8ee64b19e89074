"""The entry point: `streamlit run app.py` serves the screens (`Home.py` and `pages/`).

Streamlit runs `Home.py` for the home screen and finds `pages/` beside it; this file
wraps them in an ASGI app so that every response carries the anti-framing headers
(ledgerline_ui/shell/response_headers.py), which Streamlit has no setting for, and so that the
sign-in cookie has the routes that set it (ledgerline_ui/shell/session_cookie.py).
"""

import streamlit as st
from starlette.middleware import Middleware

from ledgerline_ui.shell.response_headers import NoFramingMiddleware
from ledgerline_ui.shell.session_cookie import ROUTES as SESSION_COOKIE_ROUTES

app = st.App("Home.py", routes=SESSION_COOKIE_ROUTES, middleware=[Middleware(NoFramingMiddleware)])
