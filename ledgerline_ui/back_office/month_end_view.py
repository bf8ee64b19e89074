"""The month end run as the screen shows it: what it would do, what it is doing, what it did.

A confirmed run is queued for a worker (`db.month_end_jobs`), never run in the
page: Streamlit stops a page's script at the next interaction, and a run inside
it stopped with it (a click on "Dry run" once left 7,118 of 10,196 tenants
without an invoice). The screen reads the run back from `month_end_runs`, live
while it goes on, then in plain sentences: tenants in scope, invoices created,
already present (a second run creates none), and every skipped tenant with its
reason. A dry run writes nothing and takes seconds, so it still runs in the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from billing_core.access import Actor
from billing_core.month_end_runs import MonthEndRunStatus
from billing_core.periods import calendar_month
from db.month_end import MonthEndSummary, run_lock_held, run_month_end
from db.month_end_jobs import QueuedMonthEnd, enqueue_month_end, queued_month_ends
from db.reads.month_end_runs import MonthEndRunView, month_end_runs
from ledgerline_ui.tables.formatting import iso_date

BATCH_SIZE = 500
"""Small enough that the progress bar moves for a few thousand tenants, big enough to be fast."""


def check_period(text: str) -> str:
    """The month label typed ("2024-11"), checked; InvalidInput naming "period" otherwise."""
    return calendar_month(text).label


def dry_run(sessions: sessionmaker[Session], period_label: str, *,
            actor: Actor) -> MonthEndSummary:
    """What month end would do for the month; writes nothing (so it may run in the page).

    Month end owns its transactions, so it takes the Engine behind the screens' sessions.
    """
    return run_month_end(sessions.kw["bind"], check_period(period_label), actor=actor,
                         batch_size=BATCH_SIZE, dry_run=True)


def enqueue(sessions: sessionmaker[Session], period_label: str, *, actor: Actor) -> int:
    """Queue month end for the month for a worker; returns the job id (see db.month_end_jobs)."""
    return enqueue_month_end(sessions.kw["bind"], check_period(period_label), actor=actor,
                             batch_size=BATCH_SIZE)


@dataclass(frozen=True, slots=True)
class MonthEndActivity:
    """The jobs not finished yet, and the latest run: `live` while a process runs it."""

    queued: list[QueuedMonthEnd]
    latest: MonthEndRunView | None
    live: bool

    @property
    def in_progress(self) -> bool:
        return bool(self.queued) or self.live

    @property
    def waiting(self) -> list[QueuedMonthEnd]:
        """Queued jobs other than the one whose run is showing its progress."""
        running = self.latest.period_label if self.live and self.latest else None
        return [job for job in self.queued if job.period_label != running]


def month_end_activity(session: Session) -> MonthEndActivity:
    runs = month_end_runs(session, limit=1)
    latest = runs[0] if runs else None
    # A 'running' row whose lock nobody holds was left by a process that died.
    live = (latest is not None and latest.status == MonthEndRunStatus.RUNNING
            and run_lock_held(session, latest.period_label))
    return MonthEndActivity(queued_month_ends(session), latest, live)


def queued_text(job: QueuedMonthEnd) -> str:
    if job.started:
        return f"Month end {job.period_label} is starting…"
    return f"Month end {job.period_label} is queued; it starts as soon as a worker is free."


def progress(run: MonthEndRunView, live: bool) -> tuple[float, str]:
    """The progress bar of a run: (fraction done, its caption)."""
    fraction = run.tenants_done / run.tenants_in_scope if run.tenants_in_scope else 1.0
    counted = f"{run.tenants_done:,} of {run.tenants_in_scope:,} tenants"
    if run.status == MonthEndRunStatus.COMPLETED:
        return 1.0, f"Month end {run.period_label}: done, {counted}"
    if live:
        return fraction, f"Month end {run.period_label}: {counted}"
    return fraction, f"Month end {run.period_label}: stopped at {counted}"


def stopped_text(run: MonthEndRunView) -> str:
    """Why a run that is neither completed nor live ended, and what to do (plain text)."""
    counted = f"after {run.tenants_done:,} of {run.tenants_in_scope:,} tenants"
    if run.status == MonthEndRunStatus.FAILED:
        why = failure_text(run.error) or "no reason was recorded"
        opening = f"Month end {run.period_label} failed {counted}: {why}."
    else:  # interrupted, or 'running' with nobody holding its lock: its process ended
        opening = f"Month end {run.period_label} stopped {counted}: its process ended."
    return (f"{opening} The {run.invoices_created:,} invoices it created are kept; run "
            "month end again to finish the month.")


def summary_of(run: MonthEndRunView) -> MonthEndSummary:
    """A recorded run as the summary `headline` reads."""
    return MonthEndSummary(run.run_id, run.period_label, False, run.tenants_in_scope,
                           run.invoices_created, run.already_present, dict(run.skipped))


def headline(summary: MonthEndSummary) -> str:
    """One sentence: what the run did (or would do)."""
    month = summary.period_label
    skipped = len(summary.skipped)
    if summary.dry_run:
        return (f"Dry run for {month}: {summary.invoices_created:,} invoices would be created, "
                f"{summary.already_present:,} already exist, {skipped:,} tenants would be "
                "skipped. Nothing was written.")
    skipped_text = f" {skipped:,} tenants skipped (see why below)." if skipped else ""
    if summary.invoices_created == 0 and summary.already_present:
        return (f"Month end {month}: all {summary.already_present:,} invoices were already "
                f"present; 0 created, nothing duplicated.{skipped_text}")
    return (f"Month end {month}: {summary.invoices_created:,} invoices created, "
            f"{summary.already_present:,} already present.{skipped_text}")


def skipped_rows(skipped: dict[str, str]) -> list[dict[str, str]]:
    return [{"Tenant": tenant_id, "Why it was skipped": reason}
            for tenant_id, reason in sorted(skipped.items())]


def run_rows(runs: list[MonthEndRunView]) -> list[dict[str, object]]:
    """Recent runs as table rows (newest first)."""
    return [{
        "Run": run.run_id, "Month": run.period_label, "Status": run.status,
        "Tenants": f"{run.tenants_done:,} of {run.tenants_in_scope:,}",
        "Created": run.invoices_created, "Already present": run.already_present,
        "Skipped": len(run.skipped), "By": run.actor, "Started": iso_date(run.started_at),
        "Finished": iso_date(run.finished_at), "Error": failure_text(run.error),
    } for run in runs]


# A database error as SQLAlchemy words it: "(psycopg.errors.UniqueViolation) duplicate ...".
_DATABASE_ERROR = re.compile(r"^\((?:[\w]+\.)*(\w+)\)")


def failure_text(stored: str | None) -> str:
    """Why a run failed, as every role may read it: one line, never SQL or parameters.

    Runs store a sentence (`db.month_end.failure_message`). A run recorded before that
    may hold a database error's whole text (statement and parameters included), and
    even its first line may quote a value, so such a text shows only the error's kind.
    """
    first_line = (stored or "").strip().split("\n", 1)[0].strip()
    database_error = _DATABASE_ERROR.match(first_line)
    if database_error or "[SQL:" in first_line:
        kind = database_error.group(1) if database_error else "unknown"
        return f"database error ({kind}); the details are in the server log"
    return first_line
