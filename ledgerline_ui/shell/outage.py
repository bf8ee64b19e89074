"""When the database cannot be reached: one message on every screen, and a Retry button.

The database may go away under a running app (a restart, a failover, a lost network) or be
away when the app starts. Whatever the screen was doing, the user then sees one message
that says so, that nothing was changed, and a Retry button; never Streamlit's own error box.
Nothing was changed because each operation is one transaction, and a transaction the server
did not commit is rolled back.

A screen meets the database through three doors, and each one leads here:
- the engine start in `setup_page` (a first start while the server is down), which runs
  through `feedback.run_action`;
- every operation run through `run_action` (some use the Engine or the job queue directly);
- every Session the screens open (`ScreenSession`): the sign-in, the guard's check of the
  signed-in user, and each page's reads all run in `with sessions() as session:` blocks.

The message goes to the top of the screen, in a slot `setup_page` keeps there first thing,
not where the failing code happened to be: that may be a hidden tab or a form (where
Streamlit allows no button). Then the script stops; the rest of the screen would fail alike.

Nothing needs restarting once the server is back: the Engine tests a pooled connection
before lending it (`pool_pre_ping`), so the first run after the outage gets a fresh one; a
failed engine start is not cached (`st.cache_resource` keeps results, not errors) and runs
again on Retry; the job worker restarts itself (db.jobs).
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType

import psycopg
import streamlit as st
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner import get_script_run_ctx

OUTAGE_MESSAGE = "The database cannot be reached, so nothing was changed. Try again in a moment."
RETRY_KEY = "database_outage_retry"
# SQLSTATEs of a server that cannot be reached: class 08 (the connection failed or broke),
# 57P (the server shut down or crashed, is still starting, or the database was dropped) and
# 53300 (no connection slot left). Not 57014, a cancelled statement: the server is there.
_UNREACHABLE_SQLSTATES = ("08", "57P", "53300")
# The embedded server's own commands (db.database starts it when DATABASE_URL is unset).
_EMBEDDED_SERVER_COMMANDS = {"initdb", "pg_ctl"}

_log = logging.getLogger("ledgerline.ui")
_message_slot: ContextVar[DeltaGenerator | None] = ContextVar("ledgerline_outage_slot",
                                                              default=None)


def keep_message_slot() -> None:
    """Keep the top of this screen for the outage message: `setup_page` calls it first."""
    _message_slot.set(st.empty())


def stop_if_unreachable(error: BaseException) -> None:
    """If `error` says the database cannot be reached, show the outage message and stop the
    script; otherwise return, and the caller deals with `error` as before."""
    if not is_database_unreachable(error):
        return
    if get_script_run_ctx(suppress_warning=True) is None:
        return  # not a screen's run (a download's data): its own failure says enough
    _log.warning("the database cannot be reached: %s", error)
    slot = _message_slot.get()
    with slot.container() if slot is not None else st.container():
        st.error(OUTAGE_MESSAGE, icon=":material/cloud_off:")
        st.button("Retry", key=RETRY_KEY, icon=":material/refresh:")  # a click runs it again
    st.stop()


def is_database_unreachable(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, says the database server cannot be
    reached: a connection refused, lost or closed by a shutting-down server, the pool
    unable to connect, or the embedded server unable to start."""
    for cause in _causes(error):
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, psycopg.OperationalError) and (
                cause.sqlstate is None or cause.sqlstate.startswith(_UNREACHABLE_SQLSTATES)):
            return True  # no SQLSTATE: the client could not talk to a server at all
        if isinstance(cause, subprocess.CalledProcessError | subprocess.TimeoutExpired):
            command = cause.cmd[0] if isinstance(cause.cmd, list | tuple) else cause.cmd
            if Path(str(command)).name in _EMBEDDED_SERVER_COMMANDS:
                return True
    return False


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what it was raised from or while handling, and so on."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class ScreenSession(Session):
    """The screens' Session: a `with` block whose database cannot be reached shows the outage
    message and stops the script, wherever on the screen it runs."""

    def __exit__(self, type_: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        super().__exit__(type_, value, traceback)
        if value is not None:
            stop_if_unreachable(value)
