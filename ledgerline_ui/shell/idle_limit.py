"""How long a sign-in may sit unused: `LEDGERLINE_IDLE_MINUTES` (whole minutes, default 30).

The screens' guard (`ledgerline_ui.shell.setup`) and the sign-in cookie's route
(`ledgerline_ui.shell.session_cookie`, which runs outside any Streamlit script) both read it here.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache

IDLE_MINUTES_ENV = "LEDGERLINE_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 30

_log = logging.getLogger("ledgerline.ui")


def idle_limit_seconds() -> int:
    """`LEDGERLINE_IDLE_MINUTES` in seconds. A value that is not a positive whole number
    ("30m") falls back to the default with a logged warning rather than breaking every page."""
    return _idle_minutes(os.environ.get(IDLE_MINUTES_ENV, "").strip()) * 60


@lru_cache(maxsize=8)  # one warning per bad value, not one per rerun
def _idle_minutes(configured: str) -> int:
    if not configured:
        return DEFAULT_IDLE_MINUTES
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    _log.warning("%s=%r is not a positive whole number of minutes; using %d",
                 IDLE_MINUTES_ENV, configured, DEFAULT_IDLE_MINUTES)
    return DEFAULT_IDLE_MINUTES
