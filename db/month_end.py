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

A run that fails records 'failed' and why, then re-raises the error. Every
role reads why, so it is a sentence for people (`failure_message`): never the
SQL and parameters a database error carries, which go to the server log. If
recording the failure fails too (the database went away), that second error is
logged and the original one still propagates: the caller learns why the run
stopped, not merely that its bookkeeping did.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.periods import Period, calendar_month, monthly_period
from db.audit import AuditRecord, record_audit
from db.errors import RunInProgress
from db.invoicing import GenerationResult, generate_invoices

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
            return _run_batches(engine, month, actor, batch_size, workers, False, on_progress)
        finally:
            lock_connection.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"),
                                    {"key": _lock_key(month.label)})
            lock_connection.commit()


def billing_period_in_month(anchor_day: int, month: Period) -> Period:
    """The tenant's billing period that starts in `month` (anchor day clamped, SPEC 2)."""
    return monthly_period(anchor_day, month.last_day)


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
        run_id = None if dry_run else _start_run(session, month.label, actor, len(tenants))
    batches = (tenants[start:start + batch_size] for start in range(0, len(tenants), batch_size))
    done = created = present = 0
    skipped: dict[str, str] = {}
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
                _record_failure(engine, run_id, error)
            raise error
    if run_id is not None:
        with Session(engine) as session, session.begin():
            _finish_run(session, run_id, "completed", None)
            record_audit(session, AuditRecord(
                actor, "month_end.completed", "month_end_run", str(run_id), None, before=None,
                after={"period": month.label, "tenants_in_scope": len(tenants),
                       "invoices_created": created, "already_present": present,
                       "skipped": len(skipped)}))
    return MonthEndSummary(run_id, month.label, dry_run, len(tenants), created, present, skipped)


def _commit_batch(engine: Engine, batch: list, month: Period, actor: Actor,
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


def _record_failure(engine: Engine, run_id: int, error: BaseException) -> None:
    try:
        with Session(engine) as session, session.begin():
            _finish_run(session, run_id, "failed", failure_message(error))
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


def _generate_batch(session: Session, batch: list, month: Period, actor: Actor,
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


def _take_run_lock(connection: Connection, period_label: str) -> None:
    taken = connection.execute(text("SELECT pg_try_advisory_lock(hashtext(:key))"),
                               {"key": _lock_key(period_label)}).scalar_one()
    connection.commit()
    if not taken:
        raise RunInProgress(period_label)


def _start_run(session: Session, period_label: str, actor: Actor, tenants_in_scope: int) -> int:
    # We hold the month's lock, so any 'running' row for it belongs to a dead process.
    interrupted = session.execute(text("""
        UPDATE month_end_runs SET status = 'interrupted', finished_at = now()
        WHERE period_label = :period_label AND status = 'running' AND NOT dry_run
        RETURNING run_id, actor, tenants_done, invoices_created
    """), {"period_label": period_label}).all()
    for run in interrupted:
        record_audit(session, AuditRecord(
            actor, "month_end.interrupted", "month_end_run", str(run.run_id), None,
            before={"status": "running", "actor": run.actor},
            after={"status": "interrupted", "period": period_label,
                   "tenants_done": run.tenants_done, "invoices_created": run.invoices_created}))
    return session.execute(text("""
        INSERT INTO month_end_runs (period_label, dry_run, status, actor, tenants_in_scope,
                                    tenants_done, invoices_created, already_present, skipped)
        VALUES (:period_label, false, 'running', :actor, :tenants_in_scope, 0, 0, 0, '{}')
        RETURNING run_id
    """), {"period_label": period_label, "actor": actor.user_id,
           "tenants_in_scope": tenants_in_scope}).scalar_one()


def _record_progress(session: Session, run_id: int, outcome: _BatchOutcome) -> None:
    session.execute(text("""
        UPDATE month_end_runs
        SET tenants_done = tenants_done + :done, invoices_created = invoices_created + :created,
            already_present = already_present + :present,
            skipped = skipped || CAST(:skipped AS jsonb)
        WHERE run_id = :run_id
    """), {"run_id": run_id, "done": outcome.tenants, "created": outcome.created,
           "present": outcome.present, "skipped": json.dumps(outcome.skipped)})


def _finish_run(session: Session, run_id: int, status: str, error: str | None) -> None:
    session.execute(text("""
        UPDATE month_end_runs SET status = :status, error = :error, finished_at = now()
        WHERE run_id = :run_id
    """), {"run_id": run_id, "status": status, "error": error})
