"""A usage file sent again, byte for byte, is known by its digest (issue 14 speed).

- `usage_imports.file_sha256`: the SHA-256 of a file import's bytes;
  `tenant_metrics`: its tenants and metrics, each `'tenant_id metric'` once (neither
  holds a space), what the batch's check of tenants and plans looked at;
  `repeats_import_id`: for an import that found its file already imported, the
  import it repeats.
- `usage_events` rows are never deleted, nor their content changed (only
  `late_usage_id` is set, by the import that stores them): now a trigger says so.
  TRUNCATE was refused already (0011).

Why it is sound: an earlier import of the same bytes, committed with no conflict,
stored every event of the file (each line was new or a duplicate). Events stay as
stored, so every line of the same bytes is a duplicate now. What can change is
whether a tenant's plans still meter a metric (a subscription can be replaced), so
a repeat is taken only when every `tenant_metrics` pair still passes the check;
otherwise the file goes the per-event way, which names the bad lines.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS_KEPT = """
CREATE FUNCTION ledgerline_usage_event_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'usage event % of % is history: it cannot be deleted or changed',
        OLD.event_id, OLD.tenant_id USING ERRCODE = 'integrity_constraint_violation';
END $$
"""


def upgrade() -> None:
    op.add_column("usage_imports", sa.Column("file_sha256", postgresql.BYTEA(), nullable=True))
    op.add_column("usage_imports", sa.Column("tenant_metrics", postgresql.ARRAY(sa.Text()),
                                             nullable=True))
    op.add_column("usage_imports", sa.Column("repeats_import_id", sa.BigInteger(),
                                             nullable=True))
    op.create_foreign_key(op.f("fk_usage_imports_repeats_import_id_usage_imports"),
                          "usage_imports", "usage_imports", ["repeats_import_id"],
                          ["import_id"])
    op.create_index("ix_usage_imports_file_sha256", "usage_imports", ["file_sha256"],
                    postgresql_where=sa.text("file_sha256 IS NOT NULL"))
    op.execute(EVENTS_KEPT)
    op.execute("CREATE TRIGGER usage_events_kept BEFORE DELETE OR UPDATE OF tenant_id, "
               "event_id, metric, quantity_base_units, occurred_at, import_id ON usage_events "
               "FOR EACH ROW EXECUTE FUNCTION ledgerline_usage_event_kept()")


def downgrade() -> None:
    op.execute("DROP TRIGGER usage_events_kept ON usage_events")
    op.execute("DROP FUNCTION ledgerline_usage_event_kept()")
    op.drop_index("ix_usage_imports_file_sha256", "usage_imports")
    op.drop_constraint(op.f("fk_usage_imports_repeats_import_id_usage_imports"),
                       "usage_imports", type_="foreignkey")
    for column in ("repeats_import_id", "tenant_metrics", "file_sha256"):
        op.drop_column("usage_imports", column)
