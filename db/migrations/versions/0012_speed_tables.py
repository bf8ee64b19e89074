"""Speed tables: the stored reconciliation report, and the audit log's filter choices.

- `legacy_discrepancies`: every discrepancy `billing_core.reconciliation.reconcile`
  finds in the imported legacy records, one row per (tenant, source, legacy id,
  rule), in report order (`position`). Written by `db.reconciliation` in each
  import's transaction (the whole report again, so it is exactly what
  `reconcile` gives), so the Reconciliation screen reads counts, totals and
  pages in SQL instead of reconciling 100,000 invoices on every rerun; a
  database with imports from before this revision gets its report here. Derived
  from `legacy_invoices` and `legacy_allocation_shares`, which change only by
  importing; it holds money in minor units, so TRUNCATE is refused like the
  tables it is computed from.
- `audit_filter_choices`: the actors and actions that occur in `audit_log`, for
  the Audit log's pickers, kept by a statement-level trigger on every insert
  into the log (COPY included) instead of a DISTINCT over the whole log. The
  trigger adds only values not there yet and has no unique index to wait on,
  so two transactions writing a new actor at once never wait for each other;
  such a race can leave a value twice, which the reader's DISTINCT folds. The
  audit log is append-only, so a value never has to leave.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEEP_AUDIT_FILTER_CHOICES = """
CREATE FUNCTION ledgerline_keep_audit_filter_choices() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_filter_choices (kind, value)
    SELECT DISTINCT added.kind, added.value
    FROM (SELECT 'actor' AS kind, actor AS value FROM new_audit_rows
          UNION SELECT 'action', action FROM new_audit_rows) AS added
    WHERE NOT EXISTS (SELECT 1 FROM audit_filter_choices known
                      WHERE known.kind = added.kind AND known.value = added.value);
    RETURN NULL;
END $$;
CREATE TRIGGER audit_log_keeps_filter_choices AFTER INSERT ON audit_log
REFERENCING NEW TABLE AS new_audit_rows
FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_keep_audit_filter_choices();
"""


def upgrade() -> None:
    op.create_table('legacy_discrepancies',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('legacy_id', sa.Text(), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.BigInteger(), nullable=False),
    sa.Column('period_label', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('billed_minor', sa.BigInteger(), nullable=False),
    sa.Column('correct_minor', sa.BigInteger(), nullable=False),
    sa.Column('difference_minor', sa.BigInteger(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_legacy_discrepancies_currency_format')),
    sa.CheckConstraint("rule IN ('proration', 'discount_order', 'overage_at_limit', 'credit_on_finalized', 'duplicate_invoice', 'allocation_rounding', 'unexplained')", name=op.f('ck_legacy_discrepancies_rule_known')),
    sa.CheckConstraint("source IN ('invoice', 'allocation')", name=op.f('ck_legacy_discrepancies_source_known')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_legacy_discrepancies_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'source', 'legacy_id', 'rule', name=op.f('pk_legacy_discrepancies'))
    )
    op.create_index('uq_legacy_discrepancies_position', 'legacy_discrepancies', ['position'], unique=True)
    op.create_index('ix_legacy_discrepancies_rule_position', 'legacy_discrepancies', ['rule', 'position'], unique=False)
    op.execute("CREATE TRIGGER legacy_discrepancies_no_truncate BEFORE TRUNCATE ON legacy_discrepancies "
               "FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_refuse_truncate()")
    _store_the_report_of_earlier_imports()

    op.create_table('audit_filter_choices',
    sa.Column('choice_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('actor', 'action')", name=op.f('ck_audit_filter_choices_kind_known')),
    sa.PrimaryKeyConstraint('choice_id', name=op.f('pk_audit_filter_choices'))
    )
    op.create_index('ix_audit_filter_choices_kind_value', 'audit_filter_choices', ['kind', 'value'], unique=False)
    op.execute("""
        INSERT INTO audit_filter_choices (kind, value)
        SELECT DISTINCT 'actor', actor FROM audit_log
        UNION SELECT DISTINCT 'action', action FROM audit_log
    """)
    op.execute(KEEP_AUDIT_FILTER_CHOICES)


def _store_the_report_of_earlier_imports() -> None:
    """A database that imported legacy files before this revision gets its stored report now
    (the reconciliation rules are Python: `db.reconciliation.store_reconciliation_report`)."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT EXISTS (SELECT 1 FROM legacy_imports)")).scalar():
        from sqlalchemy.orm import Session

        from db.reconciliation import store_reconciliation_report

        store_reconciliation_report(Session(bind=bind))


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_keeps_filter_choices ON audit_log")
    op.execute("DROP FUNCTION ledgerline_keep_audit_filter_choices()")
    op.drop_index('ix_audit_filter_choices_kind_value', table_name='audit_filter_choices')
    op.drop_table('audit_filter_choices')
    op.execute("DROP TRIGGER legacy_discrepancies_no_truncate ON legacy_discrepancies")
    op.drop_index('ix_legacy_discrepancies_rule_position', table_name='legacy_discrepancies')
    op.drop_index('uq_legacy_discrepancies_position', table_name='legacy_discrepancies')
    op.drop_table('legacy_discrepancies')
