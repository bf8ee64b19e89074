"""The entry point: `streamlit run app.py` serves the screens (`Home.py` and `pages/`).

Streamlit runs `Home.py` for the home screen and finds `pages/` beside it; this file
only wraps them in an ASGI app so that every response carries the anti-framing
headers (ledgerline_ui/response_headers.py), which Streamlit has no setting for.
"""

import streamlit as st
from starlette.middleware import Middleware

from ledgerline_ui.response_headers import NoFramingMiddleware

app = st.App("Home.py", middleware=[Middleware(NoFramingMiddleware)])
