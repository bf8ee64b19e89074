"""The job queue: work that must finish runs in a worker, never inside a page.

Streamlit stops a page's script at the next interaction, so a job run inside
the page (month-end over ten thousand tenants) stopped when its user clicked
anything. Such work is enqueued instead, in this database, on procrastinate's
queue (its tables come with revision 0008), and a worker runs it:

- every Streamlit process runs one worker in a background thread
  (`start_background_worker`, once per process), so `streamlit run app.py`
  alone runs month-end, and no click, closed tab or second browser reaches it;
- `python -m db.month_end worker` runs one in the foreground (`run_worker`), for
  machines that only work the queue. Any number of workers may run; each job is
  taken by one of them.

A worker owns its connections: procrastinate's pool for the queue, and an
Engine of its own that the jobs receive in their context (`ENGINE`), shared
with no screen.

A worker that dies (a killed process, a lost machine) leaves its job 'doing'.
Workers record a heartbeat; when a worker starts, and every minute (the
`retry_stalled_jobs` task), the jobs of workers silent for
`STALLED_AFTER_SECONDS` go back in the queue, at most `MAX_ATTEMPTS` times in
all: a month-end cut short by a restart resumes by itself, and resuming never
duplicates an invoice (db.month_end).

Finished jobs that succeeded are deleted; the month-end record is
`month_end_runs`, not the queue. Failed ones stay, for `procrastinate` tooling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, exceptions
from procrastinate.jobs import Status
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from billing_core.access import Actor, Role
from db.database import make_engine
from db.month_end import run_month_end
from db.usage_days import roll_up_pending_days

MONTH_END_TASK = "month_end"
RETRY_STALLED_TASK = "retry_stalled_jobs"
ROLL_UP_TASK = "roll_up_usage_days"
ENGINE = "engine"
"""The job context's key for the worker's Engine."""
STALLED_AFTER_SECONDS = 30.0
"""A worker whose heartbeat (every 10 s) is this old is taken for dead, and its jobs with it."""
MAX_ATTEMPTS = 3
"""How often a job may be started in all: the first run and two resumes after a dead worker."""
RESTART_DELAY_SECONDS = 10.0

_log = logging.getLogger("ledgerline.jobs")
# By database URL: each thread, and the event that stops it.
_background_workers: dict[str, tuple[threading.Thread, threading.Event]] = {}
_background_lock = threading.Lock()


def libpq_conninfo(url: URL) -> str:
    """The libpq connection string for a SQLAlchemy URL (procrastinate speaks libpq).

    `postgresql+psycopg://user:pw@db:5432/ledgerline` becomes
    `host=db port=5432 user=user password=pw dbname=ledgerline`; query options such as
    the embedded server's `host=/its/socket/dir` or `sslmode` are kept.
    """
    options: dict[str, Any] = {"host": url.host, "port": url.port, "user": url.username,
                               "password": url.password, "dbname": url.database}
    options.update(url.query)
    return make_conninfo(**{name: value for name, value in options.items() if value is not None})


def job_app(url: URL) -> App:
    """A procrastinate App on the database at `url` that knows every task (not yet open)."""
    app = App(connector=PsycopgConnector(conninfo=libpq_conninfo(url), min_size=1, max_size=4))
    app.task(name=MONTH_END_TASK, pass_context=True)(_month_end)
    retry_stalled = app.task(name=RETRY_STALLED_TASK, queueing_lock=RETRY_STALLED_TASK,
                             pass_context=True)(_retry_stalled_jobs)
    app.periodic(cron="* * * * *", periodic_id=RETRY_STALLED_TASK)(retry_stalled)
    roll_up = app.task(name=ROLL_UP_TASK, queueing_lock=ROLL_UP_TASK,
                       pass_context=True)(_roll_up_usage_days)
    app.periodic(cron="* * * * *", periodic_id=ROLL_UP_TASK)(roll_up)
    return app


def defer(url: URL, task_name: str, *, queueing_lock: str | None = None, **task_kwargs: Any) -> int:
    """Put one job in the queue; returns its id.

    Raises procrastinate's `AlreadyEnqueued` when a job with `queueing_lock` is still waiting.
    """
    with job_app(url).open() as app:
        return app.configure_task(task_name, queueing_lock=queueing_lock).defer(**task_kwargs)


def run_worker(url: URL, *, wait: bool = True) -> None:
    """Work the queue on this thread: forever (`wait`), or until no job is left.

    Signals (Ctrl+C, SIGTERM) stop it gracefully when this is the main thread: the
    running job is finished first.
    """
    on_main_thread = threading.current_thread() is threading.main_thread()
    asyncio.run(_work(url, wait=wait, install_signal_handlers=on_main_thread))


def start_background_worker(url: URL) -> threading.Thread:
    """Start this process's worker thread for the database at `url`, once; later calls
    return the running thread.

    The thread outlives every page's script. If the worker stops (the database
    went away), it starts again after `RESTART_DELAY_SECONDS`.
    """
    key = url.render_as_string(hide_password=False)
    with _background_lock:
        running = _background_workers.get(key)
        if running is None or not running[0].is_alive():
            stop = threading.Event()
            thread = threading.Thread(target=_work_until, args=(url, stop),
                                      name="ledgerline-jobs", daemon=True)
            thread.start()
            running = _background_workers[key] = (thread, stop)
        return running[0]


def stop_background_workers(timeout: float = 60) -> None:
    """Stop this process's worker threads (each finishes its running job first).

    The app never calls it (its threads end with the process); tests do, before
    their database server goes away.
    """
    with _background_lock:
        running = list(_background_workers.values())
        _background_workers.clear()
    for _, stop in running:
        stop.set()
    for thread, _ in running:
        thread.join(timeout)


def _work_until(url: URL, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            asyncio.run(_work(url, wait=True, install_signal_handlers=False, stop=stop))
        except Exception:
            _log.exception("the job worker stopped; starting again in %s s",
                           RESTART_DELAY_SECONDS)
        stop.wait(RESTART_DELAY_SECONDS)


async def _work(url: URL, *, wait: bool, install_signal_handlers: bool,
                stop: threading.Event | None = None) -> None:
    engine = make_engine(url)
    try:
        async with job_app(url).open_async() as app:
            await _requeue_stalled_jobs(app)  # a restart resumes what the last process left
            working = app.run_worker_async(
                wait=wait, install_signal_handlers=install_signal_handlers,
                additional_context={ENGINE: engine}, delete_jobs="successful",
                stalled_worker_timeout=STALLED_AFTER_SECONDS)
            if stop is None:
                await working
                return
            worker = asyncio.create_task(working)
            while not stop.is_set() and not worker.done():
                await asyncio.wait({worker}, timeout=0.5)
            if worker.done():
                worker.result()  # the worker's own error, if it stopped with one
            else:
                worker.cancel()  # procrastinate stops gracefully: the running job finishes
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
    finally:
        engine.dispose()


# --- tasks ------------------------------------------------------------------------------


def _month_end(context: JobContext, period_label: str, actor_id: str, actor_role: str,
               batch_size: int) -> None:
    """Run month-end (db.month_end.run_month_end) as the actor who asked for it."""
    run_month_end(context.additional_context[ENGINE], period_label,
                  actor=Actor(actor_id, Role(actor_role)), batch_size=batch_size)


def _roll_up_usage_days(context: JobContext, timestamp: int) -> None:
    """Every minute: the day totals of usage stored the straight way (db.usage_days)."""
    with Session(context.additional_context[ENGINE]) as session, session.begin():
        rolled = roll_up_pending_days(session)
    if rolled.imports:
        _log.info("usage days rolled up: %s imports, %s day rows", rolled.imports, rolled.days)


async def _retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    await _requeue_stalled_jobs(context.app)


async def _requeue_stalled_jobs(app: App) -> None:
    """Queue again the jobs of dead workers; a job started `MAX_ATTEMPTS` times fails instead."""
    manager = app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        if job.attempts + 1 < MAX_ATTEMPTS:
            try:
                await manager.retry_job(job)
                _log.warning("job %s (%s) was left by a dead worker; queued again", job.id,
                             job.task_name)
                continue
            except exceptions.UniqueViolation:
                # Another job with its queueing lock is waiting already: that one will run.
                pass
        await manager.finish_job(job, status=Status.FAILED, delete_job=False)
        _log.error("job %s (%s) was left by a dead worker; marked failed", job.id, job.task_name)
