"""The job queue: procrastinate's tables, so month-end runs as a job outside any page.

A job that must finish never runs inside a page's script (Streamlit stops a script
when the user clicks): the screen and `python -m db.month_end run` enqueue it, and a
worker runs it (`db.jobs`). The queue is procrastinate's, kept in this database so
that enqueuing, running and recording a run share one server and survive restarts.

This applies procrastinate's own schema migrations, the SQL files its package
ships, in order, up to and including `LAST_MIGRATION`. Released files never
change, so this revision builds the same schema whichever procrastinate 3.x is
installed. A procrastinate release that ships a newer file needs a new revision
applying the newer files (tests/integration/test_month_end_jobs.py checks that
none is missing). The tables are procrastinate's, not db.models': migrations/env.py
leaves `procrastinate_*` out of `alembic check`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LAST_MIGRATION = "03.04.00_50_post_add_retry_failed_job_procedure.sql"


def procrastinate_migrations() -> list[Path]:
    """procrastinate's files up to `LAST_MIGRATION`, oldest first (names sort by version)."""
    folder = Path(SchemaManager.get_migrations_path())
    files = sorted(path for path in folder.glob("*.sql") if path.name <= LAST_MIGRATION)
    if not files or files[-1].name != LAST_MIGRATION:
        raise RuntimeError(f"procrastinate in {folder.parent.parent} lacks {LAST_MIGRATION}; "
                           "install the version requirements.txt names")
    return files


def upgrade() -> None:
    # psycopg itself, in Alembic's transaction: given no parameters it sends each file as
    # it is (several statements; the '%' in its messages is no placeholder).
    driver_connection = op.get_bind().connection.driver_connection
    if driver_connection is None:
        raise RuntimeError("Alembic's connection was closed before the job queue's schema")
    for path in procrastinate_migrations():
        driver_connection.execute(path.read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute("""
        DROP TABLE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
                   procrastinate_workers CASCADE;
        DO $$
        DECLARE routine regprocedure;
        BEGIN
            FOR routine IN SELECT oid::regprocedure FROM pg_proc
                           WHERE proname LIKE 'procrastinate\\_%'
                             AND pronamespace = current_schema()::regnamespace
            LOOP
                EXECUTE 'DROP ROUTINE ' || routine;
            END LOOP;
        END $$;
        DROP TYPE procrastinate_job_to_defer_v1, procrastinate_job_status,
                  procrastinate_job_event_type;
    """)
