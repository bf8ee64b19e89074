"""Turning errors into messages: the one place the UI does it.

A finance user must never see a stack trace. Domain errors already carry a
sentence that names the field or the invoice and the problem, so they are shown
as they are, escaped: the sentence often quotes what was typed ("amount: '12,3x'
is not a number"), and typed text is never Markdown (`ledgerline_ui.tables.plain_text`).
When the database cannot be reached the screen says so instead, and stops
(`ledgerline_ui.shell.outage`). Anything else is logged with a reference the user can
quote, and the screen says that nothing was changed: operations run inside one
transaction, so an unexpected error rolls everything back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from billing_core.errors import BillingError
from ledgerline_ui.shell.outage import stop_if_unreachable
from ledgerline_ui.tables.plain_text import escape_markdown

T = TypeVar("T")
_log = logging.getLogger("ledgerline.ui")


def run_action(action: Callable[[], T]) -> tuple[bool, T | None]:
    """Run `action`; on failure show why and return (False, None). When the database cannot
    be reached, show that and stop the script (the rest of the screen would fail alike)."""
    try:
        return True, action()
    except BillingError as error:
        st.error(escape_markdown(error), icon=":material/block:")
    except Exception as error:
        stop_if_unreachable(error)
        reference = uuid.uuid4().hex[:8]
        _log.exception("unexpected error (reference %s)", reference)
        st.error(
            f"Something went wrong and nothing was changed. Reference: {reference}.",
            icon=":material/error:",
        )
    return False, None
