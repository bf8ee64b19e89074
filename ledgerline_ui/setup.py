"""The one call every screen starts with.

Streamlit runs a file in `pages/` directly on a direct link, without running
`app.py` first, so each page calls `setup_page` before anything else: page
config, the database (migrated, once per process), and the sidebar.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from db.database import ensure_ready, make_sessionmaker


@st.cache_resource(show_spinner="Starting the database…")
def _sessions() -> sessionmaker[Session]:
    # A sessionmaker (never a Session) is safe to share across reruns and users.
    return make_sessionmaker(ensure_ready())


def setup_page(title: str, icon: str) -> sessionmaker[Session]:
    """Configure the page and return the session factory the page works with."""
    st.set_page_config(page_title=f"{title} · Ledgerline", page_icon=icon, layout="wide")
    sessions = _sessions()
    st.sidebar.caption("Ledgerline · every cent explained")
    return sessions


def current_actor() -> str:
    """Who the changes made on this screen are recorded as (the audit log's actor).

    Sign-in with roles arrives later and replaces this body; until then every
    change is made as the finance team's shared identity.
    """
    return "finance@ledgerline"
