"""Bulk writes with PostgreSQL's COPY, inside the caller's transaction.

Month-end writes hundreds of thousands of invoice lines and audit rows; COPY
moves them an order of magnitude faster than INSERT statements. It runs on
the session's own connection, so it commits or rolls back with everything
else the caller does, and triggers and constraints apply exactly as for
INSERT.

The rows go to the server from a writer thread (psycopg's `QueuedLibpqWriter`),
so the server stores one batch while Python builds the next (row building is
where the lines' explanations get written) instead of the two taking turns. At
most `QUEUED_CHUNKS` chunks wait to be sent: where Python outpaces the server (a
usage file of ten million events), the rest waits in the file, not in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from queue import Queue
from typing import Any

from psycopg import Copy
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import text
from sqlalchemy.orm import Session

QUEUED_CHUNKS = 32
"""COPY chunks waiting for the writer thread, at most (psycopg's own bound is 1,024)."""


class _BoundedWriter(QueuedLibpqWriter):
    def __init__(self, cursor: Any) -> None:
        super().__init__(cursor)
        # psycopg's own attribute, made in its __init__ with the larger bound
        self._queue = Queue(maxsize=QUEUED_CHUNKS)  # type: ignore[assignment]


@contextmanager
def copy_from_stdin(session: Session, statement: str) -> Iterator[Copy]:
    """`statement` (`COPY ... FROM STDIN`) on the session's connection, its data sent from the
    writer thread; the COPY ends when the block does."""
    driver_connection = session.connection().connection.driver_connection
    if driver_connection is None:
        raise RuntimeError("the session's connection was closed before COPY")
    with driver_connection.cursor() as cursor, cursor.copy(
            statement, writer=_BoundedWriter(cursor)) as copy:
        yield copy


def copy_rows(session: Session, table_name: str, columns: Sequence[str],
              rows: Iterable[Sequence[object]]) -> None:
    """COPY `rows` (tuples in `columns` order) into the table `table_name` on the session's
    connection."""
    column_list = ", ".join(f'"{name}"' for name in columns)
    with copy_from_stdin(session, f'COPY "{table_name}" ({column_list}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


@contextmanager
def work_memory(session: Session, memory: str) -> Iterator[None]:
    """`work_mem` at `memory` for the statements inside (one large sort or aggregation), then
    the transaction's own setting again."""
    previous = session.execute(text("SELECT current_setting('work_mem')")).scalar_one()
    session.execute(text("SELECT set_config('work_mem', :memory, true)"), {"memory": memory})
    yield
    session.execute(text("SELECT set_config('work_mem', :memory, true)"), {"memory": previous})
