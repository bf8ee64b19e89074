"""The month-end run as the screen shows it: what it will do, what it did, and why.

`db.month_end.run_month_end` is a job over all active tenants (its own
transactions, one per batch), so the screen hands it the Engine and a progress
callback, then reads the summary back in plain sentences: tenants in scope,
invoices created, already present (a second run creates none), and every
skipped tenant with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from billing_core.access import Actor
from billing_core.periods import calendar_month
from db.month_end import MonthEndSummary, run_month_end
from db.queries import MonthEndRunView
from ledgerline_ui.formatting import iso_date

BATCH_SIZE = 500
"""Small enough that the progress bar moves for a few thousand tenants, big enough to be fast."""


def check_period(text: str) -> str:
    """The month label typed ("2024-11"), checked; InvalidInput naming "period" otherwise."""
    return calendar_month(text).label


def run(sessions: sessionmaker[Session], period_label: str, *, actor: Actor, dry_run: bool,
        on_progress: Callable[[int, int], None] | None = None) -> MonthEndSummary:
    """Run (or dry-run) month-end for the month on the screens' database; see `db.month_end`.

    The run owns its transactions (one per batch), so it takes the Engine behind the
    screens' session factory rather than a session.
    """
    return run_month_end(sessions.kw["bind"], check_period(period_label), actor=actor,
                         batch_size=BATCH_SIZE, dry_run=dry_run, on_progress=on_progress)


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
        return (f"Month-end {month}: all {summary.already_present:,} invoices were already "
                f"present; 0 created, nothing duplicated.{skipped_text}")
    return (f"Month-end {month}: {summary.invoices_created:,} invoices created, "
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
