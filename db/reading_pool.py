"""Async psycopg connections for the billing API's reads, beside the process's Engine.

A read the API serves often (`GET /v1/invoices/{tenant}/{id}`) runs on one of these
connections from the event loop itself: no hand-off to a worker thread and no Session,
which were about a third of what such a read cost. They read in autocommit, as the
Session-based reads do (each statement its own snapshot), and change nothing: changes go
through the Engine's Sessions, where `require` and the audit row live.

The Engine checks a connection with a ping before lending it; this pool does not (the ping
would double the round trips of a read that is one statement). A connection the server
dropped fails one request (500, logged) and is thrown away; the next one connects anew.
"""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import URL

READERS = 8
"""Connections at most: a read holds one for one short statement, so eight keep up with both
cores while waiting readers queue in the pool rather than in PostgreSQL."""


def reading_pool(url: URL) -> AsyncConnectionPool[AsyncConnection]:
    """A closed pool on `url` (a `postgresql+psycopg://` URL); open it inside the event loop
    that uses it (`await pool.open()`)."""
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return AsyncConnectionPool(conninfo, min_size=2, max_size=READERS, open=False,
                               kwargs={"autocommit": True, "options": "-c timezone=UTC"})
