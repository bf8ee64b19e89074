"""The straight way of storing a usage batch: one COPY into `usage_events`, day totals later.

Nearly every batch a meter sends is all new events, for tenants and metrics that are
metered, in days no invoice covers yet (its current month). Such a batch needs none of the
import's comparing (`db.usage_events`): no event can be a duplicate or a conflict, none is
late, no draft is re-priced. So it is tried first, in a savepoint:

1. the rows COPYed straight into `usage_events` under a new import id, while they are read
   (the tenants and metrics, and the first and last day, noted on the way); a bad line
   stops the copying and the batch is refused, naming every bad line, as the other way
   refuses it;
2. the tenants locked, in the documented order (`db.credit_ledger`), and in the same
   statement the tenants and metrics checked (each tenant exists, one of its plans meters
   the metric), but only the pairs this process has not found metered under the metering
   version read first (`db.metered_pairs`, 0019);
3. the import's row (and its audit row) written, with its counts and marked `days_pending`,
   only if no invoice of those tenants covers a day from the batch's first to its last, and
   the metering version is still the one read first (a statement after the locks). Its day
   totals are not in `usage_records` yet: every reader of usage reads `usage_days`, which
   adds those events as they are, until the roll-up (`db.usage_days`) writes their totals.

Anything else gives the way up (None), the savepoint rolled back, nothing of it kept:
a key stored already or sent twice (the COPY fails on it; the first COPY is small, so a
batch sent again fails early), a tenant or metric that does not pass (the other way names
the lines), an invoice covering the batch's days (late usage, drafts to re-price), metering
changed meanwhile, or a lock another transaction holds for longer than `LOCK_WAIT` (another
import storing the same keys, a draft being generated). The caller then reads the batch
again and takes the other way, which waits for its locks in the documented order. This way
never waits long holding keys of its own, so it never deadlocks with the other way.

Measured (10M events, 100,000 tenants, issue 14, docs/usage-events.md "Speed"): a raw COPY
of the file into `usage_events` 37.5 s, this way 43.3 s, the other way 100-120 s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from psycopg import Copy, errors
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from billing_core.access import Actor
from billing_core.plain_batch import PlainBatch
from billing_core.usage_events import ImportCounts, LineProblem, UsageBatchRefused, UsageSource
from billing_core.usage_files import UsageRow, refuse_batch
from db.bulk import copy_from_stdin
from db.credit_ledger import lock_tenants_selected_by
from db.metered_pairs import METERED

LOCK_WAIT = "500ms"
"""How long the straight way waits for a lock (a key another transaction is storing, a tenant
it holds) before it gives up and the batch takes the other way, which waits its turn. Under
PostgreSQL's `deadlock_timeout` (1 s), so that where this way and the other wait for each
other, this way gives up before the server would pick which one to fail. Long enough for
the batches of other senders holding the same tenants to commit (giving up costs the batch
all its work again)."""
FIRST_COPY_ROWS = 10_000
"""The rows of the first COPY: a batch sent again fails on its first key, and the rest of the
file is not sent for nothing."""
_CHUNK_ROWS = 1024
"""Rows a COPY write carries (about 75 kB), and how often the reader yields to the writer
thread (`_copy_rows`): 10M events took 44.0 s in chunks of 8,192 rows, 39.8 s of 2,048,
38.8 s of 512 (`db.bulk` sends them from its writer thread, at most 32 chunks ahead)."""
_GIVE_UP = (errors.UniqueViolation, errors.LockNotAvailable, errors.DeadlockDetected)


def _pairs_in(parameter: str) -> str:
    return f"""(SELECT split_part(pair, ' ', 1) AS tenant_id, split_part(pair, ' ', 2) AS metric
                FROM string_to_table(CAST(:{parameter} AS text), E'\\n') AS pair) AS i"""


_PAIRS = _pairs_in("pairs")
"""The batch's pairs, sent as one text of `tenant_id metric` lines (neither holds a space or a
line break): one parameter, where two arrays of a thousand strings each cost psycopg more to
send than the statements cost the server."""


@dataclass(frozen=True, slots=True)
class StraightImport:
    """What the import row records: where the batch came from and who sent it."""

    source: UsageSource
    file_name: str | None
    file_sha256: bytes | None
    actor: Actor
    batch_name: str


@dataclass(frozen=True, slots=True)
class StoredStraight:
    import_id: int
    counts: ImportCounts


@dataclass(slots=True)
class _Seen:
    """The batch's tenants and metrics, and its first and last day, noted as it is read."""

    pairs: set[tuple[str, str]] = field(default_factory=set)
    first_day: str = "9999-12-31"
    last_day: str = "0000-01-01"
    received: int = 0


class _NotStraight(Exception):
    """The batch does not fit the straight way; the savepoint is rolled back."""


def store_straight(session: Session, rows: Iterable[UsageRow] | PlainBatch,
                   batch: StraightImport) -> StoredStraight | None:
    """Store the batch the straight way (see the module's text), or None having stored
    nothing; raises UsageBatchRefused when a line is bad (a `PlainBatch` has none)."""
    try:
        with session.begin_nested():
            return _store(session, rows, batch)
    except (_NotStraight, *_GIVE_UP):
        return None
    except DBAPIError as error:
        if isinstance(error.orig, _GIVE_UP):
            return None
        raise


def _store(session: Session, rows: Iterable[UsageRow] | PlainBatch,
           batch: StraightImport) -> StoredStraight:
    """The steps of the module's text, in three statements and the COPY, the import's audit
    row among them (an API batch's every round trip costs both processes about as much as a
    hundred of its events)."""
    # The import's id comes first, for the COPY; its row is written last, with its counts,
    # and only when no invoice covers the batch's days (step 3): one row, written once.
    import_id, waits, _, metering = session.execute(_BEGIN, {"wait": LOCK_WAIT}).one()
    if isinstance(rows, PlainBatch):
        seen = _copy_plain(session, rows, import_id)
    else:
        seen = _Seen()
        _copy_events(session, rows, import_id, seen, batch.batch_name)
    received = seen.received
    # The batch's tenant and metric pairs travel as a parameter (`_PAIRS`): a few round trips
    # and no temporary table for an API batch, 100,000 pairs as easily for a file. Only the
    # pairs not known metered under the version just read are asked (`db.metered_pairs`).
    pairs = {"pairs": _lines(seen.pairs)}
    unknown = seen.pairs - METERED.known(metering)
    metered = lock_tenants_selected_by(session, _TENANTS, {**pairs, "unknown": _lines(unknown)},
                                       asking=_UNKNOWN_ALL_METERED)
    if not metered:
        raise _NotStraight("a tenant or metric the other way names")
    # After the locks, in a statement of its own: it must see a draft committed while this
    # import waited for them; and the metering version read first, unchanged since (the
    # pairs known by it still metered).
    counts = ImportCounts(received, received, 0, 0, 0)  # every event new, none late
    recorded = session.execute(_RECORD, {
        **pairs, "import_id": import_id, "source": batch.source.value,
        "file_name": batch.file_name, "actor": batch.actor.user_id,
        "role": batch.actor.role.value, "digest": batch.file_sha256, "received": received,
        "audit_after": json.dumps(counts.audit_view(0)), "first_day": seen.first_day,
        "last_day": seen.last_day, "metering": metering, "waits": waits}).first()
    if recorded is None:
        raise _NotStraight("an invoice covers the batch's days, or metering changed")
    METERED.learn(metering, unknown)
    return StoredStraight(import_id, counts)


# The statements, made once: SQLAlchemy reads a text's bind parameters with a regular
# expression each time one is made, about 0.1 ms for each of these.
_BEGIN = text("""
    SELECT nextval(pg_get_serial_sequence('usage_imports', 'import_id')),
           current_setting('lock_timeout'), set_config('lock_timeout', :wait, true),
           (SELECT version FROM metering_version)
""")
_TENANTS = f"SELECT i.tenant_id FROM {_PAIRS}"
_UNKNOWN_ALL_METERED = f"""
    NOT EXISTS (
        SELECT FROM {_pairs_in("unknown")} WHERE NOT EXISTS (
            SELECT FROM subscriptions s JOIN plans p ON p.plan_id = s.plan_id
            WHERE s.tenant_id = i.tenant_id AND p.usage_metric = i.metric))"""
_RECORD = text(f"""
    WITH imported AS (
        INSERT INTO usage_imports (import_id, source, file_name, actor, actor_role,
                                   file_sha256, tenant_metrics, days_pending,
                                   received_count, new_count)
        SELECT :import_id, :source, :file_name, :actor, :role, CAST(:digest AS bytea),
               CASE WHEN CAST(:digest AS bytea) IS NOT NULL THEN
                   string_to_array(CAST(:pairs AS text), E'\\n')
               END,
               true, :received, :received
        WHERE NOT EXISTS (
            SELECT FROM invoices v
            WHERE v.tenant_id IN (SELECT i.tenant_id FROM {_PAIRS})
              AND v.period_start <= CAST(:last_day AS date)
              AND v.period_end > CAST(:first_day AS date))
          AND (SELECT version FROM metering_version)
              IS NOT DISTINCT FROM CAST(:metering AS uuid)
        RETURNING import_id
    ), audited AS (
        -- The row `db.usage_events._audit_import` writes for an import (`ImportCounts
        -- .audit_view`), here in the same round trip.
        INSERT INTO audit_log (actor, actor_role, action, entity, entity_id, after)
        SELECT :actor, :role, 'usage.imported', 'usage_import', import_id::text,
               CAST(:audit_after AS jsonb)
        FROM imported
    )
    SELECT set_config('lock_timeout', :waits, true) FROM imported
""")


_COPY_EVENTS = ("COPY usage_events (tenant_id, event_id, metric, quantity_base_units, "
                "occurred_at, import_id) FROM STDIN (FORMAT csv)")


def _lines(pairs: Iterable[tuple[str, str]]) -> str:
    return "\n".join(map(" ".join, pairs))


def _copy_plain(session: Session, plain: PlainBatch, import_id: int) -> _Seen:
    """COPY a plain batch in one write: its lines, its pairs and days known already."""
    with copy_from_stdin(session, _COPY_EVENTS) as copy:
        copy.write(plain.copy_text(f",{import_id}\n"))
    return _Seen(set(plain.pairs), plain.first_day, plain.last_day, len(plain))


def _copy_events(session: Session, rows: Iterable[UsageRow], import_id: int, seen: _Seen,
                 batch_name: str) -> int:
    """COPY the rows into `usage_events`; returns how many events came. At the first bad
    line the copying stops and the batch is refused, naming every bad line."""
    remaining = iter(rows)
    limit: int | None = FIRST_COPY_ROWS
    while True:
        with copy_from_stdin(session, _COPY_EVENTS) as copy:
            problem = _copy_rows(copy, remaining, f",{import_id}\n", seen, limit)
        if problem is not None or limit is None or seen.received < limit:
            break
        limit = None  # the first COPY took its rows: the second takes the rest
    if problem is not None:
        refuse_batch(problem, remaining, batch_name)
    if not seen.received:
        raise UsageBatchRefused([LineProblem(1, None, "holds no events")], 1, batch_name)
    return seen.received


def _copy_rows(copy: Copy, rows: Iterator[UsageRow], suffix: str, seen: _Seen,
               limit: int | None) -> LineProblem | None:
    """Write rows to the COPY until they end, `limit` events in all, or a bad line (returned),
    noting each event's tenant, metric and day."""
    pairs = seen.pairs
    first_day, last_day, received = seen.first_day, seen.last_day, seen.received
    chunk: list[str] = []
    problem: LineProblem | None = None
    for row in rows:
        if isinstance(row, LineProblem):
            problem = row
            break
        received += 1
        # `line_no,tenant_id,event_id,metric,quantity,occurred_at\n`: only the event id may
        # hold a comma (quoted), so the tenant is the second cell and the metric and the
        # instant are counted from the end.
        line_no, tenant_id, rest = row.split(",", 2)
        _, metric, _, occurred_at = rest.rsplit(",", 3)
        pairs.add((tenant_id, metric))
        day = occurred_at[:10]
        if day < first_day:
            first_day = day
        if day > last_day:
            last_day = day
        chunk.append(row[len(line_no) + 1:-1] + suffix)
        if len(chunk) >= _CHUNK_ROWS:
            copy.write("".join(chunk))
            chunk.clear()
            # Let the writer thread take the interpreter now, not at the next switch (up to
            # 5 ms later), while the server runs out of rows: 10M events in chunks of 8,192
            # rows, 47.7 s without this yield, 43.0 s with it.
            time.sleep(0)
        if received == limit:
            break
    if chunk and problem is None:
        copy.write("".join(chunk))
    seen.first_day, seen.last_day, seen.received = first_day, last_day, received
    return problem
