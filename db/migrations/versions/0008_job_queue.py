"""The job queue: procrastinate's tables, so month-end runs as a job outside any page.

A job that must finish never runs inside a page's script (Streamlit stops a script
when the user clicks): the screen and `python -m db.month_end run` enqueue it, and a
worker runs it (`db.jobs`). The queue is procrastinate's, kept in this database so
that enqueuing, running and recording a run share one server and survive restarts.

This applies procrastinate's whole schema (`schema.sql`, what its own
`apply_schema` runs) as of its migration `LAST_MIGRATION`, in one statement
batch. Not its migration files one after another: a later file uses enum values
an earlier one adds, and PostgreSQL before 18 refuses a new enum value until it
is committed, while this revision runs inside Alembic's one transaction (and its
advisory lock). The revision refuses a procrastinate whose newest migration is
not `LAST_MIGRATION`, since its schema.sql would then be another schema: such a
release needs a revision applying its newer migration files
(tests/integration/test_month_end_jobs.py checks this). The tables are procrastinate's, not db.models': migrations/env.py
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
    """procrastinate's migration files, oldest first (names sort by version)."""
    folder = Path(SchemaManager.get_migrations_path())
    files = sorted(folder.glob("*.sql"))
    if LAST_MIGRATION not in {path.name for path in files}:
        raise RuntimeError(f"procrastinate in {folder.parent.parent} lacks {LAST_MIGRATION}; "
                           "install the version requirements.txt names")
    return files


def upgrade() -> None:
    shipped = procrastinate_migrations()
    if shipped[-1].name != LAST_MIGRATION:
        raise RuntimeError(f"procrastinate ships {shipped[-1].name}, newer than "
                           f"{LAST_MIGRATION}: install the version requirements.txt names")
    # psycopg itself, in Alembic's transaction: given no parameters it sends the file as
    # it is (several statements; the '%' in its messages is no placeholder).
    driver_connection = op.get_bind().connection.driver_connection
    if driver_connection is None:
        raise RuntimeError("Alembic's connection was closed before the job queue's schema")
    driver_connection.execute(SchemaManager.get_schema())


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
