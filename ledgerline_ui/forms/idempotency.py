"""One request, one key: the idempotency key a form submits with.

A double click, a rerun or the same form sent twice must make one credit, not
two. The key is made once per form and kept in `st.session_state` together
with the values it was made for: sending the same values again reuses the key
(so the database returns the first credit instead of writing a second), while
changed values, or the user starting a new request (`start_new_request`),
get a fresh key.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable

import streamlit as st


def request_key(form: str, values: Hashable) -> str:
    """The key for sending `values` from `form`: the same while the values stay the same."""
    slot = f"_request_key_{form}"
    remembered = st.session_state.get(slot)
    if remembered is None or remembered[0] != values:
        remembered = (values, f"{form}-{uuid.uuid4().hex}")
        st.session_state[slot] = remembered
    return remembered[1]


def start_new_request(form: str) -> None:
    """Forget the form's key: the next send is a new request, even with the same values."""
    st.session_state.pop(f"_request_key_{form}", None)
