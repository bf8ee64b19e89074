"""The month-end run: a draft invoice for every active tenant, in batches.

Month-end for month M invoices each active tenant for its billing period that
starts in M (for the usual anchor day 1, the calendar month M; for anchor 15,
[M-15, M+1-15)). Tenants are taken in tenant-id order, `batch_size` at a time,
each batch in its own transaction through `db.invoicing.generate_invoices`.
`workers` batches (default two) are in flight at once, each on a connection of
its own: batches hold disjoint tenants, so they never wait on each other's
locks, and any mix of committed and lost batches is what a resume expects.

Unlike the single operations this is a job, not an operation: it owns its
transactions (one per batch, so a crash loses at most the batches in flight),
which is why it takes an Engine, not a Session. Running it twice, or again
after a crash, never duplicates an invoice: existing invoices are found and
counted as already present, and the unique index stands behind that.

Each run is recorded in `month_end_runs`, updated in the same transaction as
each batch, so the row always matches what was committed. A session-level
advisory lock lets one run per month proceed at a time; a run that finds a
'running' row it does not hold the lock for marks it 'interrupted' (its
process died), with an audit row. A dry run takes no lock and writes nothing,
not even its record.

A run that fails records 'failed' and why, with an audit row
(`month_end.failed`), then re-raises the error. Every role reads why, so it is
a sentence for people (`failure_message`): never the SQL and parameters a
database error carries, which go to the server log. If recording the failure
fails too (the database went away), that second error is logged and the
original one still propagates: the caller learns why the run stopped, not
merely that its bookkeeping did.

Screens and the command line never call `run_month_end` themselves: a click
would stop it with the page's script. They enqueue it (`db.month_end_jobs`) and
a worker runs it (`db.jobs`); progress is read back from `month_end_runs`.
`python -m db.month_end run 2024-12` enqueues a run and waits for it, printing
its progress; `python -m db.month_end worker` runs a worker (see `main`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, Row, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.month_end_runs import MonthEndRunStatus, check_run_move, statuses_moving_to
from billing_core.periods import Period, calendar_month, monthly_period
from db.audit import AuditRecord, record_audit
from db.command_line import command_parser
from db.errors import NotFound, RunInProgress
from db.invoicing import GeneratedInvoice, GenerationResult, generate_invoice, generate_invoices
from db.usage_days import roll_up_pending_days

ProgressCallback = Callable[[int, int], None]

_log = logging.getLogger("ledgerline.month_end")


@dataclass(frozen=True, slots=True)
class MonthEndSummary:
    """What a run did (or, for a dry run, would do). `skipped` maps tenant id -> reason."""

    run_id: int | None
    period_label: str
    dry_run: bool
    tenants_in_scope: int
    invoices_created: int
    already_present: int
    skipped: dict[str, str] = field(default_factory=dict)


def run_month_end(engine: Engine, period_label: str, *, actor: Actor, batch_size: int = 1000,
                  workers: int = 2, dry_run: bool = False,
                  on_progress: ProgressCallback | None = None) -> MonthEndSummary:
    """Invoice every active tenant for month `period_label` ("2024-11"); see the module docstring.

    `workers` batches are in flight at once, each on its own connection. `on_progress(done,
    total)` is called after each committed batch, in batch order, on the calling thread.
    Finance only (a dry run too); scheduled runs act as a finance system actor such as
    `Actor("month-end", "finance")`.
    """
    require(actor, Permission.RUN_MONTH_END)
    month = calendar_month(period_label)
    for name, value in (("batch_size", batch_size), ("workers", workers)):
        if type(value) is not int or value < 1:
            raise ValueError(f"{name} must be a positive int")
    if dry_run:
        return _run_batches(engine, month, actor, batch_size, workers, True, on_progress)
    with engine.connect() as lock_connection:
        _take_run_lock(lock_connection, month.label)
        try:
            # Usage stored the straight way is read from its events until rolled up; month-end
            # prices every tenant, so it rolls them up first and sums day rows only.
            with Session(engine) as session, session.begin():
                roll_up_pending_days(session)
            return _run_batches(engine, month, actor, batch_size, workers, False, on_progress)
        finally:
            lock_connection.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"),
                                    {"key": _lock_key(month.label)})
            lock_connection.commit()


DEACTIVATED = "deactivated: month-end does not bill it"
"""Why a deactivated tenant is skipped."""


def billing_period_in_month(anchor_day: int, month: Period) -> Period:
    """The tenant's billing period that starts in `month` (anchor day clamped, SPEC 2)."""
    return monthly_period(anchor_day, month.last_day)


def generate_month_invoice(session: Session, tenant_id: str, month_label: str, *,
                           actor: Actor) -> GeneratedInvoice:
    """The tenant's draft for its billing period starting in `month_label` ("2024-01"), the
    period month-end bills for that month: generated, or found (`generate_invoice`)."""
    require(actor, Permission.GENERATE_INVOICES)
    month = calendar_month(month_label)
    anchor_day = session.execute(text(
        "SELECT billing_anchor_day FROM tenants WHERE tenant_id = :tenant_id"),
        {"tenant_id": tenant_id}).scalar()
    if anchor_day is None:
        raise NotFound("tenant", tenant_id)
    return generate_invoice(session, tenant_id, billing_period_in_month(anchor_day, month),
                            actor=actor)


@dataclass(frozen=True, slots=True)
class _BatchOutcome:
    tenants: int
    created: int
    present: int
    skipped: dict[str, str]


def _run_batches(engine: Engine, month: Period, actor: Actor, batch_size: int, workers: int,
                 dry_run: bool, on_progress: ProgressCallback | None) -> MonthEndSummary:
    with Session(engine) as session, session.begin():
        tenants = session.execute(text("""
            SELECT tenant_id, billing_anchor_day FROM tenants WHERE is_active ORDER BY tenant_id
        """)).all()
        # Deactivated tenants are not billed, and the run says so (db.tenants).
        deactivated = dict.fromkeys(session.execute(text(
            "SELECT tenant_id FROM tenants WHERE NOT is_active ORDER BY tenant_id")).scalars(),
            DEACTIVATED)
        run_id = None if dry_run else _start_run(session, month.label, actor, len(tenants),
                                                 deactivated)
    batches = (tenants[start:start + batch_size] for start in range(0, len(tenants), batch_size))
    done = created = present = 0
    skipped: dict[str, str] = dict(deactivated)
    # Pricing is Python and writing is the server: with several batches in flight, one
    # batch is priced while another is written, so both cores work.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="month-end") as pool:
        in_flight: deque[Future[_BatchOutcome]] = deque(
            pool.submit(_commit_batch, engine, batch, month, actor, run_id, dry_run)
            for batch in islice(batches, workers))
        try:
            while in_flight:
                outcome = in_flight.popleft().result()
                following = next(batches, None)
                if following is not None:
                    in_flight.append(pool.submit(_commit_batch, engine, following, month, actor,
                                                 run_id, dry_run))
                done += outcome.tenants
                created += outcome.created
                present += outcome.present
                skipped.update(outcome.skipped)
                if on_progress is not None:
                    on_progress(done, len(tenants))
        except BaseException as error:
            for future in in_flight:
                future.cancel()
            # Batches already running finish (commit or roll back) before the run is
            # marked failed, so the record counts exactly what was committed.
            wait(in_flight)
            if run_id is not None:
                _record_failure(engine, run_id, month, actor, error)
            raise error
    if run_id is not None:
        with Session(engine) as session, session.begin():
            _finish_run(session, run_id, MonthEndRunStatus.COMPLETED, None)
            record_audit(session, AuditRecord(
                actor, "month_end.completed", "month_end_run", str(run_id), None, before=None,
                after={"period": month.label, "tenants_in_scope": len(tenants),
                       "invoices_created": created, "already_present": present,
                       "skipped": len(skipped)}))
    return MonthEndSummary(run_id, month.label, dry_run, len(tenants), created, present, skipped)


def _commit_batch(engine: Engine, batch: Sequence[Any], month: Period, actor: Actor,
                  run_id: int | None, dry_run: bool) -> _BatchOutcome:
    """Generate one batch's invoices in a transaction of its own, with the run's progress."""
    with Session(engine) as session, session.begin():
        results = _generate_batch(session, batch, month, actor, dry_run)
        outcome = _BatchOutcome(
            len(batch), sum(len(result.created) for result in results),
            sum(len(result.already_present) for result in results),
            {tenant_id: str(reason) for result in results
             for tenant_id, reason in result.skipped.items()})
        if run_id is not None:
            _record_progress(session, run_id, outcome)
    return outcome


def _record_failure(engine: Engine, run_id: int, month: Period, actor: Actor,
                    error: BaseException) -> None:
    message = failure_message(error)
    try:
        with Session(engine) as session, session.begin():
            run = _finish_run(session, run_id, MonthEndRunStatus.FAILED, message)
            record_audit(session, AuditRecord(
                actor, "month_end.failed", "month_end_run", str(run_id), None,
                before={"status": MonthEndRunStatus.RUNNING},
                after={"status": MonthEndRunStatus.FAILED, "period": month.label, "error": message,
                       "tenants_in_scope": run.tenants_in_scope, "tenants_done": run.tenants_done,
                       "invoices_created": run.invoices_created}))
    except Exception:
        # Never let the bookkeeping's error replace the run's own.
        _log.exception("month-end run %s could not be recorded as failed", run_id)
    else:
        _log.error("month-end run %s failed", run_id, exc_info=error)


_MESSAGE_LIMIT = 200


def failure_message(error: BaseException) -> str:
    """Why a run failed, as its record and audit row keep it: never SQL or its parameters.

    Every role reads the record on the home screen. A database error's text holds the
    statement and its parameters (tenant ids, amounts), and even its first line may quote
    a value, so it is stored as its kind ("database error (UniqueViolation); the details
    are in the server log"), the whole error going to the log. Any other error keeps its
    first line ("disk full"), cut at 200 characters, or its class name when it has none.
    """
    if isinstance(error, StatementError):
        kind = type(error.orig if error.orig is not None else error).__name__
        return f"database error ({kind}); the details are in the server log"
    first_line = str(error).strip().split("\n", 1)[0].strip()
    if len(first_line) > _MESSAGE_LIMIT:
        return first_line[:_MESSAGE_LIMIT] + "…"
    return first_line or type(error).__name__


def _generate_batch(session: Session, batch: Sequence[Any], month: Period, actor: Actor,
                    dry_run: bool) -> list[GenerationResult]:
    periods: dict[int, Period] = {}  # one billing period per distinct anchor day
    by_period: dict[Period, list[str]] = defaultdict(list)
    for tenant_id, anchor_day in batch:
        if anchor_day not in periods:
            periods[anchor_day] = billing_period_in_month(anchor_day, month)
        by_period[periods[anchor_day]].append(tenant_id)
    return [generate_invoices(session, tenant_ids, period, actor=actor, dry_run=dry_run)
            for period, tenant_ids in by_period.items()]


def _lock_key(period_label: str) -> str:
    return f"ledgerline.month_end:{period_label}"


def run_lock_held(connection: Connection | Session, period_label: str) -> bool:
    """Whether a run for the month holds its lock right now, in any process.

    Read from `pg_locks` without trying the lock: a probe that took it for a moment
    could make a starting run fail with RunInProgress. A one-key advisory lock keeps
    its key's high 32 bits in `classid` and its low 32 bits in `objid`.
    """
    return connection.execute(text("""
        SELECT EXISTS (
            SELECT 1 FROM pg_locks, (SELECT hashtext(:key)::bigint AS k) AS lock_key
            WHERE locktype = 'advisory' AND granted AND objsubid = 1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND classid = ((lock_key.k >> 32) & 4294967295)::oid
              AND objid = (lock_key.k & 4294967295)::oid)
    """), {"key": _lock_key(period_label)}).scalar_one()


def _take_run_lock(connection: Connection, period_label: str) -> None:
    taken = connection.execute(text("SELECT pg_try_advisory_lock(hashtext(:key))"),
                               {"key": _lock_key(period_label)}).scalar_one()
    connection.commit()
    if not taken:
        raise RunInProgress(period_label)


def _start_run(session: Session, period_label: str, actor: Actor, tenants_in_scope: int,
               skipped: dict[str, str]) -> int:
    # We hold the month's lock, so any 'running' row for it belongs to a dead process.
    interrupted = session.execute(text("""
        UPDATE month_end_runs r SET status = :interrupted, finished_at = now()
        FROM month_end_runs was
        WHERE was.run_id = r.run_id AND r.period_label = :period_label
          AND r.status = ANY(:interruptible) AND NOT r.dry_run
        RETURNING r.run_id, r.actor, r.tenants_done, r.invoices_created, was.status AS was
    """), {"period_label": period_label, "interrupted": MonthEndRunStatus.INTERRUPTED,
           "interruptible": list(statuses_moving_to(MonthEndRunStatus.INTERRUPTED))}).all()
    for run in interrupted:
        record_audit(session, AuditRecord(
            actor, "month_end.interrupted", "month_end_run", str(run.run_id), None,
            before={"status": run.was, "actor": run.actor},
            after={"status": MonthEndRunStatus.INTERRUPTED, "period": period_label,
                   "tenants_done": run.tenants_done, "invoices_created": run.invoices_created}))
    return session.execute(text("""
        INSERT INTO month_end_runs (period_label, dry_run, status, actor, tenants_in_scope,
                                    tenants_done, invoices_created, already_present, skipped)
        VALUES (:period_label, false, :running, :actor, :tenants_in_scope, 0, 0, 0,
                CAST(:skipped AS jsonb))
        RETURNING run_id
    """), {"period_label": period_label, "running": MonthEndRunStatus.RUNNING,
           "actor": actor.user_id, "tenants_in_scope": tenants_in_scope,
           "skipped": json.dumps(skipped)}).scalar_one()


def _record_progress(session: Session, run_id: int, outcome: _BatchOutcome) -> None:
    session.execute(text("""
        UPDATE month_end_runs
        SET tenants_done = tenants_done + :done, invoices_created = invoices_created + :created,
            already_present = already_present + :present,
            skipped = skipped || CAST(:skipped AS jsonb)
        WHERE run_id = :run_id
    """), {"run_id": run_id, "done": outcome.tenants, "created": outcome.created,
           "present": outcome.present, "skipped": json.dumps(outcome.skipped)})


def _finish_run(session: Session, run_id: int, status: MonthEndRunStatus,
                error: str | None) -> Row:
    """End the run's record as `status`: lock it, check the move (running -> completed or
    failed, IllegalRunMove otherwise), then write it."""
    current = session.execute(text("""
        SELECT status FROM month_end_runs WHERE run_id = :run_id FOR UPDATE
    """), {"run_id": run_id}).scalar_one()
    check_run_move(str(run_id), current, status)
    return session.execute(text("""
        UPDATE month_end_runs SET status = :status, error = :error, finished_at = now()
        WHERE run_id = :run_id
        RETURNING tenants_in_scope, tenants_done, invoices_created
    """), {"run_id": run_id, "status": status, "error": error}).one()


# --- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """`python -m db.month_end run 2024-12 [--no-wait] [--actor NAME] [--batch-size N]`, or
    `python -m db.month_end worker`.

    `run` queues month-end for the month, then (unless `--no-wait`) works the queue
    itself until the run is done, printing its progress, so it finishes even where no
    other worker runs; any worker may take the job. Exit status: 0 done (or queued),
    1 the run failed, 2 refused (a bad month, a run already under way). `worker`
    works the queue until stopped (Ctrl+C or SIGTERM finish the running job first).
    The database is `DATABASE_URL`'s, else the embedded one, migrated first.
    """
    from billing_core.access import Role
    from billing_core.errors import BillingError
    from db.database import database_url, make_engine, migrate_to_head

    parser, commands = command_parser("month_end", "Month-end as a job (see db/month_end.py).")
    run = commands.add_parser("run", help="queue month-end for a month and follow it")
    run.add_argument("period", help="the month, YYYY-MM (e.g. 2024-12)")
    run.add_argument("--no-wait", action="store_true",
                     help="queue it and return; a worker runs it")
    run.add_argument("--actor", default="month-end",
                     help="who the audit log names, acting as finance (default: month-end)")
    run.add_argument("--batch-size", type=_positive_int, default=1000,
                     help="tenants per batch (default: 1000)")
    commands.add_parser("worker", help="work the job queue until stopped")
    args = parser.parse_args(argv)

    engine = make_engine(database_url())
    try:
        migrate_to_head(engine)
        if args.command == "worker":
            from db.jobs import run_worker

            run_worker(engine.url)
            return 0
        try:
            return _run_command(engine, args.period, Actor(args.actor, Role.FINANCE),
                                args.batch_size, wait=not args.no_wait)
        except BillingError as refused:
            print(refused, file=sys.stderr)
            return 2
    finally:
        engine.dispose()


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return int(value)


def _run_command(engine: Engine, period_label: str, actor: Actor, batch_size: int, *,
                 wait: bool) -> int:
    import threading

    from db.jobs import run_worker
    from db.month_end_jobs import enqueue_month_end, month_end_job_finished

    with engine.connect() as connection:
        last_run_id = connection.execute(text(
            "SELECT coalesce(max(run_id), 0) FROM month_end_runs")).scalar_one()
    job_id = enqueue_month_end(engine, period_label, actor=actor, batch_size=batch_size)
    label = calendar_month(period_label).label
    print(f"Month-end {label} queued (job {job_id}).", flush=True)
    if not wait:
        return 0
    # Any worker may take the job; this one makes sure one runs, and stops when none is left.
    worker = threading.Thread(target=run_worker, args=(engine.url,), kwargs={"wait": False},
                              name="month-end-command")
    worker.start()
    shown = None
    while True:
        with Session(engine) as session:
            finished = month_end_job_finished(session, job_id)
            run = session.execute(text("""
                SELECT status, tenants_in_scope, tenants_done, invoices_created, already_present,
                       (SELECT count(*) FROM jsonb_object_keys(skipped)) AS skipped, error
                FROM month_end_runs WHERE period_label = :label AND run_id > :after
                ORDER BY run_id DESC LIMIT 1
            """), {"label": label, "after": last_run_id}).one_or_none()
        if run is not None and (run.tenants_done, run.tenants_in_scope) != shown:
            shown = (run.tenants_done, run.tenants_in_scope)
            print(f"Month-end {label}: {run.tenants_done:,} of {run.tenants_in_scope:,} tenants",
                  flush=True)
        if finished:
            break
        worker.join(timeout=0.5)
    worker.join()
    if run is not None and run.status == MonthEndRunStatus.COMPLETED:
        print(f"Month-end {label} completed: {run.invoices_created:,} invoices created, "
              f"{run.already_present:,} already present, {run.skipped:,} tenants skipped.")
        return 0
    reason = f": {run.error}" if run is not None and run.error else " (see the worker's log)"
    print(f"Month-end {label} failed{reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
