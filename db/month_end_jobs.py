"""Month-end as a job: queue a run for a worker, see what is queued, follow a run.

The Month end screen and `python -m db.month_end run` queue month-end
(`enqueue_month_end`) instead of running it, so nothing they do afterwards (a
click, a closed tab) can stop it: a worker runs it (db.jobs) and records its
progress in `month_end_runs`, where anyone reads it.

One run per month at a time, however many people ask: while the month has a
job waiting or running, or a run holding its lock (db.month_end), a request is
refused with RunInProgress. Requests for one month take turns on an advisory
lock, so the second of two simultaneous clicks sees the job the first queued;
the queue's own queueing lock (one waiting job per month) stands behind that,
and the run's lock behind both.
"""

from __future__ import annotations

from dataclasses import dataclass

from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.periods import calendar_month
from db.errors import RunInProgress
from db.jobs import MONTH_END_TASK, defer
from db.month_end import run_lock_held

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class QueuedMonthEnd:
    """A month-end job not finished yet: waiting for a worker, or taken by one (`started`)."""

    job_id: int
    period_label: str
    actor: str
    started: bool


def enqueue_month_end(engine: Engine, period_label: str, *, actor: Actor,
                      batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Queue month-end for month `period_label` ("2024-12") for a worker; returns the job id.

    Finance only. InvalidInput names "period" for a label that is not a month;
    RunInProgress while the month has a job queued or running, or a run under way.
    """
    require(actor, Permission.RUN_MONTH_END)
    month = calendar_month(period_label)
    if type(batch_size) is not int or batch_size < 1:
        raise ValueError("batch_size must be a positive int")
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                           {"key": f"ledgerline.month_end.enqueue:{month.label}"})
        if run_lock_held(connection, month.label) or _unfinished_jobs(connection, month.label):
            raise RunInProgress(month.label)
        try:
            job_id = defer(engine.url, MONTH_END_TASK, queueing_lock=f"month_end:{month.label}",
                           period_label=month.label, actor_id=actor.user_id,
                           actor_role=actor.role.value, batch_size=batch_size)
        except AlreadyEnqueued:
            raise RunInProgress(month.label) from None
        connection.commit()  # only now may the next request for the month look
    return job_id


def queued_month_ends(session: Session) -> list[QueuedMonthEnd]:
    """Month-end jobs waiting for a worker or running, oldest first."""
    rows = session.execute(text("""
        SELECT id, args ->> 'period_label', args ->> 'actor_id', status = 'doing'
        FROM procrastinate_jobs
        WHERE task_name = :task AND status IN ('todo', 'doing')
        ORDER BY id
    """), {"task": MONTH_END_TASK}).all()
    return [QueuedMonthEnd(*row) for row in rows]


def month_end_job_finished(session: Session, job_id: int) -> bool:
    """Whether the job is done, one way or the other (a job that succeeded is deleted)."""
    return not session.execute(text("""
        SELECT EXISTS (SELECT 1 FROM procrastinate_jobs
                       WHERE id = :job_id AND status IN ('todo', 'doing'))
    """), {"job_id": job_id}).scalar_one()


def _unfinished_jobs(connection: Connection, period_label: str) -> bool:
    # A job left 'doing' by a dead worker counts: db.jobs queues it again, to resume.
    return connection.execute(text("""
        SELECT EXISTS (SELECT 1 FROM procrastinate_jobs
                       WHERE task_name = :task AND status IN ('todo', 'doing')
                         AND args ->> 'period_label' = :period_label)
    """), {"task": MONTH_END_TASK, "period_label": period_label}).scalar_one()
