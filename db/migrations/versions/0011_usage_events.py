"""Usage events, their imports and late usage (SPEC 12; docs/usage-events.md).

- `usage_imports`: one row per batch (file, command line or API) with its counts;
- `usage_events`: every event once, keyed (tenant_id, event_id);
- `late_usage`: events whose period's invoice was already finalized, paid or void,
  per tenant, period and metric, until billed on a later draft or waived;
- `usage_records.import_id`: the daily totals an import added. Events feed
  `usage_records` (one row per tenant, metric and day of each import), so every
  reader of usage (pricing, allocation, the tenant story) sees them unchanged, and
  month-end sums day rows, never events.

All three new tables refuse TRUNCATE, like every table money is computed from (0007).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("usage_imports", "late_usage", "usage_events")


def upgrade() -> None:
    op.add_column("usage_records", sa.Column("import_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "usage_imports",
        sa.Column("import_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("received_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("new_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("duplicate_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("conflict_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("late_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("repriced_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("conflicts", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("source IN ('file', 'command', 'api')",
                           name=op.f("ck_usage_imports_source_known")),
        sa.CheckConstraint("received_count = new_count + duplicate_count + conflict_count",
                           name=op.f("ck_usage_imports_counts_add_up")),
        sa.CheckConstraint("late_count <= new_count", name=op.f("ck_usage_imports_late_among_new")),
        sa.PrimaryKeyConstraint("import_id", name=op.f("pk_usage_imports")),
    )
    op.create_table(
        "late_usage",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("late_usage_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("period_label", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column("quantity_base_units", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'open'"), nullable=False),
        sa.Column("billed_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("billed_minor", sa.BigInteger(), nullable=True),
        sa.Column("billed_explanation", sa.Text(), nullable=True),
        sa.Column("waive_reason", sa.Text(), nullable=True),
        sa.Column("settled_by", sa.Text(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("status IN ('open', 'billed', 'waived')",
                           name=op.f("ck_late_usage_status_known")),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_late_usage_currency_format")),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_late_usage_period_not_empty")),
        sa.CheckConstraint("event_count > 0 AND quantity_base_units >= 0",
                           name=op.f("ck_late_usage_counts_valid")),
        sa.CheckConstraint("(status = 'billed') = (billed_invoice_id IS NOT NULL AND billed_minor IS NOT NULL)",
                           name=op.f("ck_late_usage_billed_names_invoice")),
        sa.CheckConstraint("billed_minor >= 0", name=op.f("ck_late_usage_billed_not_negative")),
        sa.CheckConstraint("(status = 'waived') = (waive_reason IS NOT NULL)",
                           name=op.f("ck_late_usage_waived_has_reason")),
        sa.CheckConstraint("(status = 'open') = (settled_by IS NULL) AND (settled_by IS NULL) = (settled_at IS NULL)",
                           name=op.f("ck_late_usage_settled_names_who")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"],
                                name=op.f("fk_late_usage_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["tenant_id", "billed_invoice_id"],
                                ["invoices.tenant_id", "invoices.invoice_id"],
                                name=op.f("fk_late_usage_tenant_id_billed_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("tenant_id", "late_usage_id", name=op.f("pk_late_usage")),
    )
    op.create_index("uq_late_usage_open_per_period", "late_usage",
                    ["tenant_id", "period_start", "metric"], unique=True,
                    postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "usage_events",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("quantity_base_units", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("import_id", sa.BigInteger(), nullable=False),
        sa.Column("late_usage_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("quantity_base_units >= 0",
                           name=op.f("ck_usage_events_quantity_not_negative")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"],
                                name=op.f("fk_usage_events_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["import_id"], ["usage_imports.import_id"],
                                name=op.f("fk_usage_events_import_id_usage_imports")),
        sa.ForeignKeyConstraint(["tenant_id", "late_usage_id"],
                                ["late_usage.tenant_id", "late_usage.late_usage_id"],
                                name=op.f("fk_usage_events_tenant_id_late_usage_id_late_usage")),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", name=op.f("pk_usage_events")),
    )
    for table in NEW_TABLES:
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_refuse_truncate()")


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
    op.drop_column("usage_records", "import_id")
