"""The month-end run: a draft invoice for every active tenant, in batches.

Month-end for month M invoices each active tenant for its billing period that
starts in M (for the usual anchor day 1, the calendar month M; for anchor 15,
[M-15, M+1-15)). Tenants are taken in tenant-id order, `batch_size` at a time,
each batch in its own transaction through `db.invoicing.generate_invoices`.

Unlike the single operations this is a job, not an operation: it owns its
transactions (one per batch, so a crash loses at most the batch in flight),
which is why it takes an Engine, not a Session. Running it twice, or again
after a crash, never duplicates an invoice: existing invoices are found and
counted as already present, and the unique index stands behind that.

Each run is recorded in `month_end_runs`, updated in the same transaction as
each batch, so the row always matches what was committed. A session-level
advisory lock lets one run per month proceed at a time; a run that finds a
'running' row it does not hold the lock for marks it 'interrupted' (its
process died), with an audit row. A dry run takes no lock and writes nothing,
not even its record.

A run that fails records 'failed' and the error, then re-raises the error. If
recording the failure fails too (the database went away), that second error is
logged and the original one still propagates: the caller learns why the run
stopped, not merely that its bookkeeping did.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text
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
                  dry_run: bool = False,
                  on_progress: ProgressCallback | None = None) -> MonthEndSummary:
    """Invoice every active tenant for month `period_label` ("2024-11"); see the module docstring.

    `on_progress(done, total)` is called after each committed batch. Finance only (a dry run
    too); scheduled runs act as a finance system actor such as `Actor("month-end", "finance")`.
    """
    require(actor, Permission.RUN_MONTH_END)
    month = calendar_month(period_label)
    if type(batch_size) is not int or batch_size < 1:
        raise ValueError("batch_size must be a positive int")
    if dry_run:
        with Session(engine) as session:
            return _run_batches(session, month, actor, batch_size, True, on_progress)
    with engine.connect() as lock_connection:
        _take_run_lock(lock_connection, month.label)
        try:
            with Session(engine) as session:
                return _run_batches(session, month, actor, batch_size, False, on_progress)
        finally:
            lock_connection.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"),
                                    {"key": _lock_key(month.label)})
            lock_connection.commit()


def billing_period_in_month(anchor_day: int, month: Period) -> Period:
    """The tenant's billing period that starts in `month` (anchor day clamped, SPEC 2)."""
    return monthly_period(anchor_day, month.last_day)


def _run_batches(session: Session, month: Period, actor: Actor, batch_size: int,
                 dry_run: bool, on_progress: ProgressCallback | None) -> MonthEndSummary:
    with session.begin():
        tenants = session.execute(text("""
            SELECT tenant_id, billing_anchor_day FROM tenants WHERE is_active ORDER BY tenant_id
        """)).all()
        run_id = None if dry_run else _start_run(session, month.label, actor, len(tenants))
    created = present = 0
    skipped: dict[str, str] = {}
    try:
        for start in range(0, len(tenants), batch_size):
            batch = tenants[start:start + batch_size]
            with session.begin():
                results = _generate_batch(session, batch, month, actor, dry_run)
                batch_skipped = {tenant_id: str(reason) for result in results
                                 for tenant_id, reason in result.skipped.items()}
                batch_created = sum(len(result.created) for result in results)
                batch_present = sum(len(result.already_present) for result in results)
                if run_id is not None:
                    _record_progress(session, run_id, len(batch), batch_created, batch_present,
                                     batch_skipped)
            created += batch_created
            present += batch_present
            skipped.update(batch_skipped)
            if on_progress is not None:
                on_progress(start + len(batch), len(tenants))
    except BaseException as error:
        if run_id is not None:
            try:
                with session.begin():
                    _finish_run(session, run_id, "failed", str(error) or type(error).__name__)
            except Exception:
                # Never let the bookkeeping's error replace the run's own.
                _log.exception("month-end run %s could not be recorded as failed", run_id)
        raise error
    if run_id is not None:
        with session.begin():
            _finish_run(session, run_id, "completed", None)
            record_audit(session, AuditRecord(
                actor, "month_end.completed", "month_end_run", str(run_id), None, before=None,
                after={"period": month.label, "tenants_in_scope": len(tenants),
                       "invoices_created": created, "already_present": present,
                       "skipped": len(skipped)}))
    return MonthEndSummary(run_id, month.label, dry_run, len(tenants), created, present, skipped)


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


def _record_progress(session: Session, run_id: int, done: int, created: int, present: int,
                     skipped: dict[str, str]) -> None:
    session.execute(text("""
        UPDATE month_end_runs
        SET tenants_done = tenants_done + :done, invoices_created = invoices_created + :created,
            already_present = already_present + :present,
            skipped = skipped || CAST(:skipped AS jsonb)
        WHERE run_id = :run_id
    """), {"run_id": run_id, "done": done, "created": created, "present": present,
           "skipped": json.dumps(skipped)})


def _finish_run(session: Session, run_id: int, status: str, error: str | None) -> None:
    session.execute(text("""
        UPDATE month_end_runs SET status = :status, error = :error, finished_at = now()
        WHERE run_id = :run_id
    """), {"run_id": run_id, "status": status, "error": error})
