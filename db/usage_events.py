"""Storing usage events: one batch, one transaction, every event exactly once (SPEC 12).

Three doors lead here, and they all call `import_usage`: a file uploaded on the
Usage screen (`import_usage_file`), the command `python -m db.usage import FILE`
(`db.usage`), and the billing API (`import_usage_events`, per-event results).

A batch is first tried the straight way (`db.usage_straight`): one COPY into
`usage_events`, its day totals rolled up later (`db.usage_days`). That fits a batch of new
events, for metered tenants and metrics, in days no invoice covers, which is what a meter
sends nearly always. Any other batch (or one the straight way cannot read twice) goes the
way described here, which writes its day totals at once.

A batch is all or nothing. Its events are checked one by one as they stream in
(`billing_core.usage_files.read_usage_rows`: `check_event`'s rules) and copied into a
temporary table;
then the database checks what needs it (the tenant exists, one of its plans
meters the metric). Any bad line refuses the whole batch, naming every bad line
(up to `MAX_PROBLEMS_LISTED`, then how many more), and nothing is stored. That
check, once per tenant and metric of the batch, is also what stands for
`usage_events`' foreign keys: it has none (migration 0015), so ten million rows
are not ten million trigger calls.

A good batch, in the caller's transaction:
1. locks its tenants (`db.credit_ledger.lock_tenants_selected_by`, the documented order), so
   an import and the generation of a tenant's draft take turns: the draft is
   either generated after the events are stored, or re-priced by them;
2. stores the new events and classifies every line against what is stored: the
   same content is a duplicate, other content a conflict (reported, the stored
   event unchanged). An id sent twice in one batch with different content refuses
   the batch: which of the two is the event cannot be known. Three ways, the
   cheapest that fits: a plain INSERT of every line (most batches are all new;
   tried in a savepoint, given up at the first key already stored); else one key
   probe per line finds a batch sent again (all stored, unchanged: nothing to
   write); else `INSERT ... ON CONFLICT DO NOTHING` and a comparison per line;
3. adds the new events' daily totals to `usage_records` (one row per tenant,
   metric and day of this import), which pricing, allocation and the tenant
   story read, so month-end sums days, never events;
4. locks the invoices whose periods got events: events for a period whose
   invoice is finalized, paid or void (and that has no draft) are late: they go
   on the late-usage list (`late_usage`) with the reason, not into the day
   totals, so no invoice ever includes them unbilled; drafts are re-priced
   (`db.repricing.reprice_drafts`);
5. records the import (`usage_imports`) and one audit row with its counts.

Two imports of overlapping events at once: the tenant locks make the second
wait for the first, and the key makes any event stored once regardless.

A file whose bytes (SHA-256) an earlier import took without a conflict is every line a
duplicate (stored events never change: 0017), as long as its tenants' plans still meter
its metrics: it is recorded as a repeat of that import, with the counts the way above
would give, and its events are not read into the database (`_repeat_of`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.periods import Period
from billing_core.plain_batch import PlainBatch
from billing_core.usage_events import (
    MAX_PROBLEMS_LISTED,
    EventOutcome,
    ImportCounts,
    LineProblem,
    UsageBatchRefused,
    UsageEvent,
    UsageSource,
)
from billing_core.usage_files import (
    UsageRow,
    check_file_size,
    event_object_rows,
    read_usage_rows,
    refuse_batch,
)
from db.audit import AuditRecord, record_audit
from db.bulk import copy_from_stdin, work_memory
from db.credit_ledger import lock_tenants_selected_by
from db.repricing import reprice_drafts
from db.usage_straight import StraightImport, store_straight

SORT_MEMORY = "256MB"
"""Memory of the sort that puts a batch in key order (`_STORE_EVENTS`): a million events sort
in memory, ten million in a few runs on disk; the statement's own, set back after it."""
SMALL_BATCH = 10_000
"""A batch of at most this many events (an API call's most) is planned without statistics and
sorted in the default memory."""
CONFLICTS_KEPT = 100
"""How many conflicting lines an import's history row lists (all are counted)."""
_COPY_CHUNK_ROWS = 8192
# Each line's stored event, found by one probe of the key per line (LATERAL ... OFFSET 0). The
# planner's statistics of usage_events lag behind a batch that just added millions of rows, and
# a plan built on them (a scan of usage_events per line, or a hash of all of it for ten lines
# of an API call) costs far more than a probe each, whatever the sizes.
STORED_EVENT = """LATERAL (SELECT e.metric, e.quantity_base_units, e.occurred_at, e.import_id,
                                  e.late_usage_id
                           FROM usage_events e
                           WHERE e.tenant_id = i.tenant_id AND e.event_id = i.event_id
                           OFFSET 0) AS e"""


class EventResult(NamedTuple):
    """What became of the event on `line_no` (an API batch: its position, from 1). (A tuple:
    an API batch all stored answers a thousand of them.)"""

    line_no: int
    tenant_id: str
    event_id: str
    outcome: EventOutcome


@dataclass(frozen=True, slots=True)
class UsageImportResult:
    import_id: int
    counts: ImportCounts
    conflicts: tuple[EventResult, ...]
    repriced_drafts: int
    results: tuple[EventResult, ...] = ()


def import_usage_events(session: Session, events: Sequence[UsageEvent | Mapping[str, Any]], *,
                        actor: Actor, plain: PlainBatch | None = None) -> UsageImportResult:
    """The API's door: one batch of events, as decoded JSON objects (checked here, each bad
    one named by its position: "line 3, quantity: ...") or `UsageEvent`s; `results` has each
    event's outcome (stored / duplicate / conflict / late), in the order sent. `plain`: the
    same events by column, when the caller has found them all plain (`plain_batch`)."""
    if plain is None:
        batch = list(event_object_rows(events))
        result = import_usage(session, iter(batch), actor=actor, source=UsageSource.API,
                              read_again=lambda: iter(batch))
    else:
        result = import_usage(session, plain, actor=actor, source=UsageSource.API,
                              read_again=plain.rows)
    counts = result.counts
    if counts.new == counts.received and not counts.late:
        # Every event stored, none late: the answer is known without asking the database.
        keys = ((plain.tenant_ids, plain.event_ids) if plain is not None
                else zip(*map(_key, events), strict=True))
        # tuple.__new__ in C: a NamedTuple's own constructor is a Python call per event.
        return replace(result, results=tuple(map(
            partial(tuple.__new__, EventResult),
            zip(range(1, len(events) + 1), *keys, repeat(EventOutcome.STORED)))))
    return replace(result, results=_per_event_results(session, result.import_id))


def _key(event: UsageEvent | Mapping[str, Any]) -> tuple[str, str]:
    if isinstance(event, UsageEvent):
        return event.tenant_id, event.event_id
    return event["tenant_id"], event["event_id"]


def import_usage_file(session: Session, stream: BinaryIO, name: str, size_bytes: int, *,
                      actor: Actor, source: UsageSource = UsageSource.FILE) -> UsageImportResult:
    """A CSV or JSON Lines file, refused by its `size_bytes` before anything is read.

    The same bytes imported before (`_repeat_of`) are every one a duplicate: nothing of them
    is read into the database. Any other file goes event by event (`import_usage`)."""
    require(actor, Permission.SEND_USAGE)
    check_file_size(size_bytes)
    digest = _file_digest(stream)
    if digest is not None:
        repeated = _repeat_of(session, digest, actor=actor, source=source, file_name=name)
        if repeated is not None:
            return repeated
    reader: BinaryIO = stream
    read_again = None
    if stream.seekable():
        # Read first through a lent stream (closing it leaves `stream` open), so that a batch
        # the straight way does not fit is read again from where it started.
        start = stream.tell()
        reader = _LentStream.reader(stream)

        def read_again() -> Iterator[UsageRow]:
            stream.seek(start)
            return read_usage_rows(stream, name)

    return import_usage(session, read_usage_rows(reader, name), actor=actor, source=source,
                        file_name=name, file_sha256=digest, read_again=read_again)


def import_usage_path(session: Session, path: Path, *, actor: Actor) -> UsageImportResult:
    """The command line's door: a file on disk, its size taken from the file system."""
    with path.open("rb") as stream:
        size = Path(path).stat().st_size
        return import_usage_file(session, stream, path.name, size, actor=actor,
                                 source=UsageSource.COMMAND)


def import_usage(session: Session, rows: Iterable[UsageRow] | PlainBatch, *, actor: Actor,
                 source: UsageSource, file_name: str | None = None,
                 file_sha256: bytes | None = None,
                 read_again: Callable[[], Iterable[UsageRow]] | None = None
                 ) -> UsageImportResult:
    """Store one batch of checked rows (`billing_core.usage_files`) in the caller's
    transaction (see the module's text); raises UsageBatchRefused, having stored nothing,
    when any line is bad. A file's `file_sha256` is recorded with its tenants and metrics,
    so that the same bytes sent again are known (`_repeat_of`).

    With `read_again` (the same rows from the start), the batch is first tried the straight
    way (`db.usage_straight`); when that does not fit, it is read again and goes the way
    described above. `rows` may be a `PlainBatch` (an API batch, checked by column)."""
    require(actor, Permission.SEND_USAGE)
    if read_again is not None:
        stored = store_straight(session, rows, StraightImport(
            source, file_name, file_sha256, actor, _batch_name(source)))
        if stored is not None:
            # Its row and its audit row are written, with its counts.
            return UsageImportResult(stored.import_id, stored.counts, (), 0)
        rows = read_again()
    elif isinstance(rows, PlainBatch):
        rows = rows.rows()
    received = _copy_incoming(session, rows, source)
    _refuse_unknown_tenants_and_metrics(session, source)
    lock_tenants_selected_by(session, "SELECT tenant_id FROM usage_incoming_pairs")
    import_id = session.execute(text("""
        INSERT INTO usage_imports (source, file_name, actor, actor_role, file_sha256,
                                   tenant_metrics)
        SELECT :source, :file_name, :actor, :role, CAST(:digest AS bytea),
               CASE WHEN CAST(:digest AS bytea) IS NOT NULL THEN
                   (SELECT array_agg(tenant_id || ' ' || metric) FROM usage_incoming_pairs)
               END
        RETURNING import_id
    """), {"source": source.value, "file_name": file_name, "actor": actor.user_id,
           "role": actor.role.value, "digest": file_sha256}).scalar_one()
    duplicate, conflict_count = 0, 0
    conflicts: tuple[EventResult, ...] = ()
    if _store_all_as_new(session, import_id, received):
        # Every line stored: no line can be a duplicate or a conflict, nothing to compare.
        new = received
    elif _all_stored_unchanged(session, received):
        # The batch sent again: nothing to store, every line a duplicate.
        new, duplicate = 0, received
    else:
        new = _store_new_events(session, import_id, received)
        duplicate, conflicts, conflict_count = _classify(session, import_id, new, source)
    late, covered = _settle_days(session, import_id)
    # Re-pricing is part of sending usage (SPEC 12), so a meter that may only send usage may
    # cause it; the audit rows name the sender and the import. Most batches (a meter's
    # current month) meet no invoice at all: then no draft to look for.
    drafts = _drafts_with_new_usage(session) if covered else []
    repriced = reprice_drafts(session, drafts, actor=actor,
                              cause=f"usage import #{import_id}",
                              allowed_by=Permission.SEND_USAGE)
    counts = ImportCounts(received, new, duplicate, conflict_count, late)
    _record(session, import_id, counts, conflicts, len(repriced), actor)
    return UsageImportResult(import_id, counts, conflicts, len(repriced))


# --- 0. a file sent again, byte for byte --------------------------------------------------

def _file_digest(stream: BinaryIO) -> bytes | None:
    """The SHA-256 of the stream's bytes from where it stands, which it is then put back to;
    None for a stream that cannot go back (it is read once, by the import)."""
    if not stream.seekable():
        return None
    start = stream.tell()
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    stream.seek(start)
    return digest.digest()


def _repeat_of(session: Session, digest: bytes, *, actor: Actor, source: UsageSource,
               file_name: str) -> UsageImportResult | None:
    """The import of a file whose bytes an earlier import took without a conflict, as the
    event-by-event way would end it: every line a duplicate, nothing stored, no draft
    re-priced; its history row names the import it repeats. None when there is no such
    import, or when one of the file's tenants no longer has a plan metering its metric
    (the event-by-event way names those lines).

    Sound because that earlier import, committed (or this transaction's own), left every
    line's event stored with the line's content, and stored events are never deleted or
    changed (trigger `usage_events_kept`, 0017)."""
    earlier = session.execute(text("""
        SELECT o.import_id, o.received_count FROM usage_imports o
        WHERE o.file_sha256 = :digest AND o.repeats_import_id IS NULL AND o.conflict_count = 0
          AND NOT EXISTS (
              SELECT FROM unnest(o.tenant_metrics) AS m(pair)
              WHERE NOT EXISTS (
                  SELECT FROM subscriptions s JOIN plans p ON p.plan_id = s.plan_id
                  WHERE s.tenant_id = split_part(m.pair, ' ', 1)
                    AND p.usage_metric = split_part(m.pair, ' ', 2)))
        ORDER BY o.import_id LIMIT 1
    """), {"digest": digest}).first()
    if earlier is None:
        return None
    repeats, received = earlier
    import_id = session.execute(text("""
        INSERT INTO usage_imports (source, file_name, actor, actor_role, file_sha256,
                                   repeats_import_id)
        VALUES (:source, :file_name, :actor, :role, :digest, :repeats) RETURNING import_id
    """), {"source": source.value, "file_name": file_name, "actor": actor.user_id,
           "role": actor.role.value, "digest": digest, "repeats": repeats}).scalar_one()
    counts = ImportCounts(received, 0, received, 0, 0)
    _record(session, import_id, counts, (), 0, actor, repeats=repeats)
    return UsageImportResult(import_id, counts, (), 0)


# --- 1. the batch into a temporary table, checked line by line ------------------------------

def _copy_incoming(session: Session, rows: Iterable[UsageRow], source: UsageSource) -> int:
    """COPY the lines into `usage_incoming`; returns how many events came. At the first bad
    line the copying stops, and the batch is refused naming every bad line (`refuse_batch`)."""
    _empty_work_tables(session)
    received = 0
    remaining = iter(rows)
    first_problem: LineProblem | None = None
    with copy_from_stdin(session, "COPY usage_incoming FROM STDIN (FORMAT csv)") as copy:
        chunk: list[str] = []
        for row in remaining:
            if isinstance(row, LineProblem):
                first_problem = row
                break
            received += 1
            chunk.append(row)
            if len(chunk) >= _COPY_CHUNK_ROWS:
                copy.write("".join(chunk))
                chunk.clear()
        if chunk and first_problem is None:
            copy.write("".join(chunk))
    if first_problem is not None:
        refuse_batch(first_problem, remaining, _batch_name(source))
    if not received:
        raise UsageBatchRefused([LineProblem(1, None, "holds no events")], 1,
                                _batch_name(source))
    _note_pairs(session, received)
    return received


def _note_pairs(session: Session, received: int) -> None:
    """`usage_incoming_pairs`: each tenant and metric of the batch once, what the checks and
    the locks need, a fraction of the lines."""
    if received > SMALL_BATCH:
        # Statistics for the plans of a big batch; a small one is planned well without them,
        # and ANALYZE would make every cached plan of the work tables be planned again.
        session.execute(text("ANALYZE usage_incoming"))
    session.execute(text("""
        INSERT INTO usage_incoming_pairs SELECT DISTINCT tenant_id, metric FROM usage_incoming
    """))


# The import's work tables. Temporary, made once per database connection and emptied at each
# commit (ON COMMIT DELETE ROWS), not made and dropped per batch: for an API batch of 1,000
# events, creating and dropping five tables cost more than storing the events, and a table made
# again is a new table to each cached plan.
_WORK_TABLES = """
    CREATE TEMP TABLE IF NOT EXISTS usage_incoming (
        line_no bigint NOT NULL, tenant_id text NOT NULL, event_id text NOT NULL,
        metric text NOT NULL, quantity bigint NOT NULL, occurred_at timestamptz NOT NULL
    ) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS usage_incoming_pairs (
        tenant_id text NOT NULL, metric text NOT NULL
    ) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS usage_new_days (
        tenant_id text NOT NULL, metric text NOT NULL, used_on date NOT NULL,
        quantity bigint NOT NULL, events bigint NOT NULL, late_usage_id bigint
    ) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS usage_covering (
        tenant_id text NOT NULL, invoice_id bigint NOT NULL, period_start date NOT NULL,
        period_end date NOT NULL, period_label text NOT NULL, status text NOT NULL,
        number text, currency text NOT NULL
    ) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS usage_conflicting (
        line_no bigint NOT NULL, tenant_id text NOT NULL, event_id text NOT NULL,
        in_batch boolean NOT NULL
    ) ON COMMIT DELETE ROWS;
    DELETE FROM usage_incoming; DELETE FROM usage_incoming_pairs; DELETE FROM usage_new_days;
    DELETE FROM usage_covering; DELETE FROM usage_conflicting
"""


def _empty_work_tables(session: Session) -> None:
    """The work tables, made if this connection has none yet, and empty: they are empty at the
    start of each transaction; the DELETEs are for a second import in the same transaction."""
    session.connection().exec_driver_sql(_WORK_TABLES)


def _batch_name(source: UsageSource) -> str:
    return "The batch" if source is UsageSource.API else "The file"


def _refuse_unknown_tenants_and_metrics(session: Session, source: UsageSource) -> None:
    # A tenant that does not exist has no subscription: one anti-join answers for both, and
    # only a batch it refuses pays for naming every bad line.
    if session.execute(text("""
        SELECT NOT EXISTS (
            SELECT FROM usage_incoming_pairs i
            WHERE NOT EXISTS (SELECT FROM subscriptions s JOIN plans p ON p.plan_id = s.plan_id
                              WHERE s.tenant_id = i.tenant_id AND p.usage_metric = i.metric))
    """)).scalar_one():
        return
    rows = session.execute(text("""
        WITH metered AS (
            SELECT s.tenant_id, array_agg(DISTINCT p.usage_metric ORDER BY p.usage_metric)
                   AS metrics
            FROM subscriptions s JOIN plans p ON p.plan_id = s.plan_id
            WHERE p.usage_metric IS NOT NULL
              AND s.tenant_id IN (SELECT tenant_id FROM usage_incoming_pairs)
            GROUP BY s.tenant_id
        ), pairs AS (
            SELECT i.tenant_id, i.metric, (t.tenant_id IS NOT NULL) AS known,
                   coalesce(m.metrics, '{}') AS metrics
            FROM usage_incoming_pairs i
            LEFT JOIN tenants t ON t.tenant_id = i.tenant_id
            LEFT JOIN metered m ON m.tenant_id = i.tenant_id
            WHERE t.tenant_id IS NULL OR NOT i.metric = ANY(coalesce(m.metrics, '{}'))
        )
        SELECT i.line_no, p.tenant_id, p.metric, p.known, p.metrics, count(*) OVER ()
        FROM usage_incoming i JOIN pairs p USING (tenant_id, metric)
        ORDER BY i.line_no LIMIT :limit
    """), {"limit": MAX_PROBLEMS_LISTED}).all()
    if not rows:
        return
    problems = [_tenant_problem(line_no, tenant_id, metric, known, metrics)
                for line_no, tenant_id, metric, known, metrics, _ in rows]
    raise UsageBatchRefused(problems, rows[0][-1], _batch_name(source))


def _tenant_problem(line_no: int, tenant_id: str, metric: str, known: bool,
                    metrics: list[str]) -> LineProblem:
    if not known:
        return LineProblem(line_no, "tenant_id", f"{tenant_id!r} is not a tenant")
    metered = (f"its plans meter {', '.join(repr(m) for m in metrics)}" if metrics
               else "none of its plans meters usage")
    return LineProblem(line_no, "metric",
                       f"{metric!r} is not metered by any plan of {tenant_id} ({metered})")


# --- 2. new, duplicate, conflict --------------------------------------------------------------

# Insert the batch's events and put the day totals (tenant, metric, day) of those stored in
# `usage_new_days`; {}
# is the conflict clause. In key order: the key's index then grows page by page instead of
# at a random page a row, which once it outgrows the buffer cache is a page written out and
# read back per row (10M events: 103 s in file order, 46 s sorted).
_STORE_EVENTS = """
    WITH stored AS (
        INSERT INTO usage_events (tenant_id, event_id, metric, quantity_base_units,
                                  occurred_at, import_id)
        SELECT i.tenant_id, i.event_id, i.metric, i.quantity, i.occurred_at, :import_id
        FROM usage_incoming i
        ORDER BY i.tenant_id, i.event_id
        {}
        RETURNING tenant_id, metric, occurred_at, quantity_base_units
    )
    INSERT INTO usage_new_days (tenant_id, metric, used_on, quantity, events)
    SELECT tenant_id, metric, (occurred_at AT TIME ZONE 'UTC')::date,
           sum(quantity_base_units), count(*)
    FROM stored GROUP BY 1, 2, 3
"""
_UNIQUE_VIOLATION = "23505"


def _store_all_as_new(session: Session, import_id: int, received: int) -> bool:
    """Store every line as a new event, or nothing (False) when any key is stored already.

    A plain INSERT, tried first because most batches are all new: `ON CONFLICT DO NOTHING`
    costs a speculative insertion per row (1M events: 3.9 s plain, 5.6 s so). A batch
    holding any stored key (or one key twice) fails on it, is rolled back to the savepoint,
    and goes the other way (`_store_new_events`). The tenants are locked: no other import
    can store their events meanwhile."""
    try:
        with session.begin_nested(), _sort_memory(session, received):
            session.execute(text(_STORE_EVENTS.format("")), {"import_id": import_id})
    except IntegrityError as error:
        diagnosis = getattr(error.orig, "diag", None)
        if (getattr(error.orig, "sqlstate", None) != _UNIQUE_VIOLATION
                or getattr(diagnosis, "constraint_name", None) != "pk_usage_events"):
            raise
        return False
    return True


@contextmanager
def _sort_memory(session: Session, rows: int) -> Iterator[None]:
    """`SORT_MEMORY` for the statements inside, then the transaction's own setting again; a
    batch of up to `SMALL_BATCH` rows sorts in the default memory (three round trips saved)."""
    if rows <= SMALL_BATCH:
        yield
        return
    with work_memory(session, SORT_MEMORY):
        yield


def _all_stored_unchanged(session: Session, received: int) -> bool:
    """Whether every line's event is stored already with the same content (a batch sent
    again): one probe of the key per line, nothing written."""
    # In key order, as `_STORE_EVENTS` stored them: the probes walk the index and the table
    # page after page instead of a random page each (10M events sent again, same session:
    # 33 s sorted, 62 s in file order).
    with _sort_memory(session, received):
        stored, changed = session.execute(text(f"""
            SELECT count(*), count(*) FILTER (
                WHERE (e.metric, e.quantity_base_units, e.occurred_at)
                      IS DISTINCT FROM (i.metric, i.quantity, i.occurred_at))
            FROM (SELECT * FROM usage_incoming ORDER BY tenant_id, event_id OFFSET 0) AS i,
                 {STORED_EVENT}
        """)).one()
    return bool(stored == received and changed == 0)


def _store_new_events(session: Session, import_id: int, received: int) -> int:
    """Insert the events not stored yet (a batch mixing new and stored ones)."""
    with _sort_memory(session, received):
        session.execute(text(_STORE_EVENTS.format(
            "ON CONFLICT (tenant_id, event_id) DO NOTHING")), {"import_id": import_id})
    return int(session.execute(text(
        "SELECT coalesce(sum(events), 0) FROM usage_new_days")).scalar_one())


def _classify(session: Session, import_id: int, new: int,
              source: UsageSource) -> tuple[int, tuple[EventResult, ...], int]:
    """(duplicates, the first conflicts, conflict count). Every line now has its stored event:
    one of this import (it or an identical line is the one stored) or an earlier one."""
    session.execute(text(f"""
        INSERT INTO usage_conflicting
        SELECT i.line_no, i.tenant_id, i.event_id, e.import_id = :import_id AS in_batch
        FROM usage_incoming i, {STORED_EVENT}
        WHERE (e.metric, e.quantity_base_units, e.occurred_at)
              IS DISTINCT FROM (i.metric, i.quantity, i.occurred_at)
    """), {"import_id": import_id})
    conflicts = session.execute(text("""
        SELECT line_no, tenant_id, event_id, in_batch, count(*) OVER ()
        FROM usage_conflicting ORDER BY in_batch DESC, line_no LIMIT :limit
    """), {"limit": MAX_PROBLEMS_LISTED}).all()
    if conflicts and conflicts[0].in_batch:
        _refuse_ids_sent_twice(session, source)
    conflict_count = conflicts[0][-1] if conflicts else 0
    received = session.execute(text("SELECT count(*) FROM usage_incoming")).scalar_one()
    return (received - new - conflict_count,
            tuple(EventResult(line_no, tenant_id, event_id, EventOutcome.CONFLICT)
                  for line_no, tenant_id, event_id, _, _ in conflicts[:CONFLICTS_KEPT]),
            conflict_count)


def _refuse_ids_sent_twice(session: Session, source: UsageSource) -> None:
    rows = session.execute(text("""
        SELECT tenant_id, event_id, array_agg(line_no ORDER BY line_no) AS lines,
               count(*) OVER () AS ids
        FROM usage_incoming
        WHERE (tenant_id, event_id) IN (SELECT tenant_id, event_id FROM usage_conflicting
                                        WHERE in_batch)
        GROUP BY tenant_id, event_id ORDER BY min(line_no) LIMIT :limit
    """), {"limit": MAX_PROBLEMS_LISTED}).all()
    problems = [LineProblem(row.lines[1], "event_id", (
        f"{row.event_id!r} of {row.tenant_id} is sent on lines "
        f"{', '.join(f'{n:,}' for n in row.lines[:10])} with different content; "
        "send each event once")) for row in rows]
    raise UsageBatchRefused(problems, rows[0].ids, _batch_name(source))


# --- 3 and 4. day totals, late usage, drafts ------------------------------------------------

def _settle_days(session: Session, import_id: int) -> tuple[int, bool]:
    """Put the new days on the late-usage list or into `usage_records`; returns the late
    events, and whether any invoice covers a new day (`usage_covering`).

    Invoices covering the new days are locked first (tenants are held already): a draft
    cannot be finalized between this decision and the re-pricing."""
    covering = session.connection().execute(text("""
        INSERT INTO usage_covering
        WITH spans AS (
            SELECT tenant_id, min(used_on) AS first_day, max(used_on) AS last_day
            FROM usage_new_days GROUP BY tenant_id
        )
        SELECT i.tenant_id, i.invoice_id, i.period_start, i.period_end, i.period_label,
               i.status, i.number, i.currency
        FROM spans s JOIN invoices i
          ON i.tenant_id = s.tenant_id AND i.period_start <= s.last_day
         AND i.period_end > s.first_day
        ORDER BY i.tenant_id, i.invoice_id
        FOR UPDATE OF i
    """)).rowcount
    late_groups = [] if not covering else session.execute(text("""
        WITH day_periods AS (
            SELECT d.tenant_id, d.metric, d.used_on, d.quantity, d.events,
                   c.period_start, c.period_end, c.period_label, c.currency,
                   bool_or(c.status = 'draft') AS has_draft,
                   string_agg(CASE WHEN c.status <> 'draft' THEN
                       c.period_label || ' is ' || c.status || ' ('
                       || coalesce(c.number, 'invoice #' || c.invoice_id) || ')' END, '; '
                       ORDER BY c.invoice_id) AS reason
            FROM usage_new_days d JOIN usage_covering c
              ON c.tenant_id = d.tenant_id AND c.period_start <= d.used_on
             AND d.used_on < c.period_end
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        ), late AS (
            SELECT tenant_id, metric, period_start, period_end, period_label, currency,
                   max(reason) AS reason, sum(events) AS events, sum(quantity) AS quantity
            FROM day_periods WHERE NOT has_draft
            GROUP BY 1, 2, 3, 4, 5, 6
        )
        INSERT INTO late_usage AS g (tenant_id, metric, period_start, period_end, period_label,
                                     currency, reason, event_count, quantity_base_units)
        SELECT tenant_id, metric, period_start, period_end, period_label, currency,
               'arrived after its invoice: ' || reason, events, quantity
        FROM late ORDER BY tenant_id, period_start, metric
        ON CONFLICT (tenant_id, period_start, metric) WHERE status = 'open' DO UPDATE
        SET event_count = g.event_count + excluded.event_count,
            quantity_base_units = g.quantity_base_units + excluded.quantity_base_units,
            reason = excluded.reason
        RETURNING tenant_id, late_usage_id, metric, period_start, period_end
    """)).all()
    if late_groups:
        _mark_late(session, import_id, late_groups)
    session.execute(text("""
        INSERT INTO usage_records (tenant_id, metric, used_on, quantity_base_units, import_id)
        SELECT tenant_id, metric, used_on, quantity, :import_id FROM usage_new_days
        WHERE late_usage_id IS NULL ORDER BY tenant_id, metric, used_on
    """), {"import_id": import_id})
    if not late_groups:
        return 0, bool(covering)
    return int(session.execute(text(
        "SELECT coalesce(sum(events), 0) FROM usage_new_days WHERE late_usage_id IS NOT NULL"
    )).scalar_one()), True


def _mark_late(session: Session, import_id: int, groups: Sequence[Any]) -> None:
    params = {"tenant_ids": [g.tenant_id for g in groups],
              "ids": [g.late_usage_id for g in groups], "metrics": [g.metric for g in groups],
              "starts": [g.period_start for g in groups], "ends": [g.period_end for g in groups],
              "import_id": import_id}
    groups_sql = """unnest(CAST(:tenant_ids AS text[]), CAST(:ids AS bigint[]),
                           CAST(:metrics AS text[]), CAST(:starts AS date[]),
                           CAST(:ends AS date[])) AS g(tenant_id, late_usage_id, metric,
                                                       period_start, period_end)"""
    session.execute(text(f"""
        UPDATE usage_new_days d SET late_usage_id = g.late_usage_id FROM {groups_sql}
        WHERE d.tenant_id = g.tenant_id AND d.metric = g.metric
          AND d.used_on >= g.period_start AND d.used_on < g.period_end
    """), params)
    session.execute(text(f"""
        UPDATE usage_events e SET late_usage_id = g.late_usage_id FROM {groups_sql}
        WHERE e.tenant_id = g.tenant_id AND e.import_id = :import_id AND e.metric = g.metric
          AND (e.occurred_at AT TIME ZONE 'UTC')::date >= g.period_start
          AND (e.occurred_at AT TIME ZONE 'UTC')::date < g.period_end
    """), params)


def _drafts_with_new_usage(session: Session) -> list[tuple[str, Period]]:
    rows = session.execute(text("""
        SELECT DISTINCT c.tenant_id, c.period_start, c.period_end
        FROM usage_covering c JOIN usage_new_days d
          ON d.tenant_id = c.tenant_id AND c.period_start <= d.used_on
         AND d.used_on < c.period_end
        WHERE c.status = 'draft' AND d.late_usage_id IS NULL
    """)).all()
    return [(tenant_id, Period(start, end)) for tenant_id, start, end in rows]


# --- 5. the record ---------------------------------------------------------------------------

def _record(session: Session, import_id: int, counts: ImportCounts,
            conflicts: Sequence[EventResult], repriced: int, actor: Actor,
            repeats: int | None = None) -> None:
    conflict_rows = [{"line": c.line_no, "tenant_id": c.tenant_id, "event_id": c.event_id}
                     for c in conflicts]
    session.execute(text("""
        UPDATE usage_imports
        SET received_count = :received, new_count = :new, duplicate_count = :duplicate,
            conflict_count = :conflict, late_count = :late, repriced_count = :repriced,
            conflicts = CAST(:conflicts AS jsonb)
        WHERE import_id = :import_id
    """), {"received": counts.received, "new": counts.new, "duplicate": counts.duplicate,
           "conflict": counts.conflict, "late": counts.late, "repriced": repriced,
           "conflicts": _json(conflict_rows), "import_id": import_id})
    _audit_import(session, import_id, counts, repriced, actor, repeats)


def _audit_import(session: Session, import_id: int, counts: ImportCounts, repriced: int,
                  actor: Actor, repeats: int | None = None) -> None:
    record_audit(session, AuditRecord(actor, "usage.imported", "usage_import", str(import_id),
                                      after=counts.audit_view(repriced, repeats)))


def _json(values: object) -> str:
    return json.dumps(values, separators=(",", ":"))


def _per_event_results(session: Session, import_id: int) -> tuple[EventResult, ...]:
    rows = session.execute(text(f"""
        SELECT i.line_no, i.tenant_id, i.event_id,
               CASE WHEN (e.metric, e.quantity_base_units, e.occurred_at)
                         IS DISTINCT FROM (i.metric, i.quantity, i.occurred_at) THEN 'conflict'
                    WHEN e.import_id <> :import_id THEN 'duplicate'
                    WHEN i.line_no <> min(i.line_no) OVER (PARTITION BY i.tenant_id, i.event_id)
                         THEN 'duplicate'
                    WHEN e.late_usage_id IS NOT NULL THEN 'late'
                    ELSE 'stored' END
        FROM usage_incoming i, {STORED_EVENT}
        ORDER BY i.line_no
    """), {"import_id": import_id})
    return tuple(EventResult(line_no, tenant_id, event_id, EventOutcome(outcome))
                 for line_no, tenant_id, event_id, outcome in rows)


class _LentStream(io.RawIOBase):
    """A caller's stream lent to a reader: closing it (as a text wrapper does when it is done)
    leaves the caller's stream open, to be read again from where it stood."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream: Any = stream

    @classmethod
    def reader(cls, stream: BinaryIO) -> io.BufferedReader:
        return io.BufferedReader(cls(stream), 1 << 20)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if hasattr(self._stream, "readinto"):
            return int(self._stream.readinto(buffer))
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
