"""Initial schema: tables, keys and checks from db/models.py, plus the triggers
that keep invariants the models cannot express.

- `invoices_freeze`: once an invoice leaves draft, nothing but its status and
  paid_at/voided_at may change, and only forward (finalized -> paid/void); paid
  and void invoices do not change at all; only drafts may be deleted.
- `invoice_lines_freeze_*`: lines of a non-draft invoice cannot be inserted,
  updated or deleted (statement-level, with transition tables, so bulk inserts
  of drafts cost one check per statement, not one per row).
- `audit_log_append_only`, `credit_ledger_append_only`: UPDATE, DELETE and
  TRUNCATE are refused.

Every refusal raises SQLSTATE 23000 (integrity_constraint_violation), which
psycopg and SQLAlchemy report as IntegrityError.

Revision ID: 0001
Revises:
Create Date: 2024-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('allocation_runs',
    sa.Column('run_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('metric', sa.Text(), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(method = 'usage') = (metric IS NOT NULL AND period_start IS NOT NULL AND period_end IS NOT NULL)", name=op.f('ck_allocation_runs_usage_run_names_metric_and_period')),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_allocation_runs_currency_format')),
    sa.CheckConstraint("method IN ('usage', 'weights')", name=op.f('ck_allocation_runs_method_known')),
    sa.CheckConstraint('total_minor >= 0', name=op.f('ck_allocation_runs_total_not_negative')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_allocation_runs'))
    )
    op.create_table('audit_log',
    sa.Column('audit_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Text(), nullable=True),
    sa.Column('entity', sa.Text(), nullable=False),
    sa.Column('entity_id', sa.Text(), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('audit_id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_actor_time', 'audit_log', ['actor', 'occurred_at'], unique=False)
    op.create_index('ix_audit_log_entity', 'audit_log', ['entity', 'entity_id'], unique=False)
    op.create_index('ix_audit_log_tenant_time', 'audit_log', ['tenant_id', 'occurred_at'], unique=False)
    op.create_index('ix_audit_log_time', 'audit_log', ['occurred_at'], unique=False)
    op.create_table('document_number_counters',
    sa.Column('series', sa.Text(), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('last_number', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("series IN ('INV', 'CN')", name=op.f('ck_document_number_counters_series_known')),
    sa.CheckConstraint('last_number >= 0', name=op.f('ck_document_number_counters_last_number_not_negative')),
    sa.PrimaryKeyConstraint('series', 'year', name=op.f('pk_document_number_counters'))
    )
    op.create_table('month_end_runs',
    sa.Column('run_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('period_label', sa.Text(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('tenants_in_scope', sa.BigInteger(), nullable=False),
    sa.Column('tenants_done', sa.BigInteger(), nullable=False),
    sa.Column('invoices_created', sa.BigInteger(), nullable=False),
    sa.Column('already_present', sa.BigInteger(), nullable=False),
    sa.Column('skipped', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('running', 'completed', 'failed', 'interrupted')", name=op.f('ck_month_end_runs_status_known')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_month_end_runs'))
    )
    op.create_table('plans',
    sa.Column('plan_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('recurring_price_minor', sa.BigInteger(), nullable=False),
    sa.Column('usage_metric', sa.Text(), nullable=True),
    sa.Column('usage_unit_name', sa.Text(), nullable=True),
    sa.Column('usage_base_unit_name', sa.Text(), nullable=True),
    sa.Column('usage_base_units_per_unit', sa.BigInteger(), nullable=True),
    sa.Column('usage_included_base_units', sa.BigInteger(), nullable=True),
    sa.Column('usage_price_per_unit', sa.Numeric(precision=20, scale=10), nullable=True),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_plans_currency_format')),
    sa.CheckConstraint('num_nulls(usage_metric, usage_unit_name, usage_base_unit_name, usage_base_units_per_unit, usage_included_base_units, usage_price_per_unit) IN (0, 6)', name=op.f('ck_plans_usage_terms_complete')),
    sa.CheckConstraint('recurring_price_minor >= 0', name=op.f('ck_plans_recurring_price_not_negative')),
    sa.CheckConstraint('usage_base_units_per_unit > 0', name=op.f('ck_plans_usage_unit_positive')),
    sa.CheckConstraint('usage_included_base_units >= 0', name=op.f('ck_plans_usage_included_not_negative')),
    sa.CheckConstraint('usage_price_per_unit >= 0', name=op.f('ck_plans_usage_price_not_negative')),
    sa.PrimaryKeyConstraint('plan_id', name=op.f('pk_plans'))
    )
    op.create_table('tenants',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('billing_anchor_day', sa.SmallInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_tenants_currency_format')),
    sa.CheckConstraint("tenant_id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name=op.f('ck_tenants_tenant_id_slug')),
    sa.CheckConstraint('billing_anchor_day BETWEEN 1 AND 31', name=op.f('ck_tenants_anchor_day_range')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_tenants'))
    )
    op.create_table('allocation_shares',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('weight', sa.Numeric(), nullable=False),
    sa.Column('quota', sa.Numeric(), nullable=False),
    sa.Column('floor_minor', sa.BigInteger(), nullable=False),
    sa.Column('extra_minor', sa.BigInteger(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_minor = floor_minor + extra_minor', name=op.f('ck_allocation_shares_amount_adds_up')),
    sa.CheckConstraint('extra_minor IN (0, 1)', name=op.f('ck_allocation_shares_extra_is_zero_or_one')),
    sa.CheckConstraint('weight >= 0', name=op.f('ck_allocation_shares_weight_not_negative')),
    sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.run_id'], name=op.f('fk_allocation_shares_run_id_allocation_runs')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_allocation_shares_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'run_id', name=op.f('pk_allocation_shares'))
    )
    op.create_index(op.f('ix_allocation_shares_run_id'), 'allocation_shares', ['run_id'], unique=False)
    op.create_table('invoices',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('invoice_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('period_label', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'draft'"), nullable=False),
    sa.Column('number', sa.Text(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal_minor', sa.BigInteger(), nullable=False),
    sa.Column('discount_minor', sa.BigInteger(), nullable=False),
    sa.Column('credit_minor', sa.BigInteger(), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('unused_discount_minor', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'paid') = (paid_at IS NOT NULL)", name=op.f('ck_invoices_paid_at_iff_paid')),
    sa.CheckConstraint("(status = 'void') = (voided_at IS NOT NULL)", name=op.f('ck_invoices_voided_at_iff_void')),
    sa.CheckConstraint("CASE status WHEN 'draft' THEN number IS NULL WHEN 'void' THEN true ELSE number IS NOT NULL END", name=op.f('ck_invoices_number_matches_status')),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_invoices_currency_format')),
    sa.CheckConstraint("status IN ('draft', 'finalized', 'paid', 'void')", name=op.f('ck_invoices_status_known')),
    sa.CheckConstraint('(number IS NULL) = (finalized_at IS NULL)', name=op.f('ck_invoices_number_with_finalized_at')),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_invoices_period_not_empty')),
    sa.CheckConstraint('subtotal_minor >= 0 AND discount_minor >= 0 AND credit_minor >= 0 AND total_minor >= 0 AND unused_discount_minor >= 0', name=op.f('ck_invoices_amounts_not_negative')),
    sa.CheckConstraint('total_minor = subtotal_minor - discount_minor - credit_minor', name=op.f('ck_invoices_totals_add_up')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_invoices_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'invoice_id', name=op.f('pk_invoices'))
    )
    op.create_index('ix_invoices_period_tenant', 'invoices', ['period_start', 'tenant_id', 'invoice_id'], unique=False)
    op.create_index('ix_invoices_status_period_tenant', 'invoices', ['status', 'period_start', 'tenant_id', 'invoice_id'], unique=False)
    op.create_index('uq_invoices_number', 'invoices', ['number'], unique=True, postgresql_where=sa.text('number IS NOT NULL'))
    op.create_index('uq_invoices_open_per_period', 'invoices', ['tenant_id', 'period_start'], unique=True, postgresql_where=sa.text("status <> 'void'"))
    op.create_table('subscriptions',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('plan_id', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.plan_id'], name=op.f('fk_subscriptions_plan_id_plans')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_subscriptions_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'starts_on', name=op.f('pk_subscriptions'))
    )
    op.create_index(op.f('ix_subscriptions_plan_id'), 'subscriptions', ['plan_id'], unique=False)
    op.create_table('tenant_discounts',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('percent', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_tenant_discounts_currency_format')),
    sa.CheckConstraint('(amount_minor IS NULL) = (currency IS NULL)', name=op.f('ck_tenant_discounts_amount_has_currency')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_tenant_discounts_amount_positive')),
    sa.CheckConstraint('num_nonnulls(percent, amount_minor) = 1', name=op.f('ck_tenant_discounts_percent_or_amount')),
    sa.CheckConstraint('percent > 0 AND percent <= 100', name=op.f('ck_tenant_discounts_percent_range')),
    sa.CheckConstraint('valid_until > valid_from', name=op.f('ck_tenant_discounts_valid_range')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_tenant_discounts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'position', name=op.f('pk_tenant_discounts'))
    )
    op.create_table('usage_records',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('usage_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('metric', sa.Text(), nullable=False),
    sa.Column('used_on', sa.Date(), nullable=False),
    sa.Column('quantity_base_units', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('quantity_base_units >= 0', name=op.f('ck_usage_records_quantity_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_usage_records_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'usage_id', name=op.f('pk_usage_records'))
    )
    op.create_index('ix_usage_records_tenant_metric_day', 'usage_records', ['tenant_id', 'metric', 'used_on'], unique=False, postgresql_include=['quantity_base_units'])
    op.create_table('credit_notes',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('credit_note_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('invoice_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('idempotency_key', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_credit_notes_currency_format')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_credit_notes_amount_positive')),
    sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.invoice_id'], name=op.f('fk_credit_notes_tenant_id_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_credit_notes_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'credit_note_id', name=op.f('pk_credit_notes')),
    sa.UniqueConstraint('number', name=op.f('uq_credit_notes_number'))
    )
    op.create_index('uq_credit_notes_tenant_idempotency_key', 'credit_notes', ['tenant_id', 'idempotency_key'], unique=True)
    op.create_table('credits',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('credit_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('idempotency_key', sa.Text(), nullable=False),
    sa.Column('invoice_id', sa.BigInteger(), nullable=True),
    sa.Column('applied_minor', sa.BigInteger(), nullable=False),
    sa.Column('to_balance_minor', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_credits_currency_format')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_credits_amount_positive')),
    sa.CheckConstraint('applied_minor + to_balance_minor = amount_minor', name=op.f('ck_credits_parts_add_up')),
    sa.CheckConstraint('applied_minor >= 0 AND to_balance_minor >= 0', name=op.f('ck_credits_parts_not_negative')),
    sa.CheckConstraint('invoice_id IS NOT NULL OR applied_minor = 0', name=op.f('ck_credits_applied_needs_invoice')),
    sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.invoice_id'], name=op.f('fk_credits_tenant_id_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_credits_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'credit_id', name=op.f('pk_credits'))
    )
    op.create_index('uq_credits_tenant_idempotency_key', 'credits', ['tenant_id', 'idempotency_key'], unique=True)
    op.create_table('invoice_lines',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('invoice_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.SmallInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('exact_amount', sa.Numeric(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('recurring', 'usage', 'discount', 'credit')", name=op.f('ck_invoice_lines_kind_known')),
    sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.invoice_id'], name=op.f('fk_invoice_lines_tenant_id_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('tenant_id', 'invoice_id', 'line_no', name=op.f('pk_invoice_lines'))
    )
    op.create_table('credit_ledger',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('entry_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('entry_kind', sa.Text(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('balance_after_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('credit_id', sa.BigInteger(), nullable=True),
    sa.Column('invoice_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(entry_kind = 'credit_added') = (amount_minor > 0)", name=op.f('ck_credit_ledger_sign_matches_kind')),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_credit_ledger_currency_format')),
    sa.CheckConstraint("entry_kind IN ('credit_added', 'consumed')", name=op.f('ck_credit_ledger_entry_kind_known')),
    sa.CheckConstraint('balance_after_minor >= 0', name=op.f('ck_credit_ledger_balance_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id', 'credit_id'], ['credits.tenant_id', 'credits.credit_id'], name=op.f('fk_credit_ledger_tenant_id_credit_id_credits')),
    sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.invoice_id'], name=op.f('fk_credit_ledger_tenant_id_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_credit_ledger_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'entry_id', name=op.f('pk_credit_ledger'))
    )

    for statement in TRIGGERS_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in TRIGGERS_DOWN:
        op.execute(statement)
    op.drop_table('credit_ledger')
    op.drop_table('invoice_lines')
    op.drop_index('uq_credits_tenant_idempotency_key', table_name='credits')
    op.drop_table('credits')
    op.drop_index('uq_credit_notes_tenant_idempotency_key', table_name='credit_notes')
    op.drop_table('credit_notes')
    op.drop_index('ix_usage_records_tenant_metric_day', table_name='usage_records', postgresql_include=['quantity_base_units'])
    op.drop_table('usage_records')
    op.drop_table('tenant_discounts')
    op.drop_index(op.f('ix_subscriptions_plan_id'), table_name='subscriptions')
    op.drop_table('subscriptions')
    op.drop_index('uq_invoices_open_per_period', table_name='invoices', postgresql_where=sa.text("status <> 'void'"))
    op.drop_index('uq_invoices_number', table_name='invoices', postgresql_where=sa.text('number IS NOT NULL'))
    op.drop_index('ix_invoices_status_period_tenant', table_name='invoices')
    op.drop_index('ix_invoices_period_tenant', table_name='invoices')
    op.drop_table('invoices')
    op.drop_index(op.f('ix_allocation_shares_run_id'), table_name='allocation_shares')
    op.drop_table('allocation_shares')
    op.drop_table('tenants')
    op.drop_table('plans')
    op.drop_table('month_end_runs')
    op.drop_table('document_number_counters')
    op.drop_index('ix_audit_log_time', table_name='audit_log')
    op.drop_index('ix_audit_log_tenant_time', table_name='audit_log')
    op.drop_index('ix_audit_log_entity', table_name='audit_log')
    op.drop_index('ix_audit_log_actor_time', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('allocation_runs')


TRIGGERS_UP = [
    """
    CREATE FUNCTION ledgerline_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION ledgerline_refuse_change()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_refuse_change()
    """,
    """
    CREATE TRIGGER credit_ledger_append_only BEFORE UPDATE OR DELETE ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION ledgerline_refuse_change()
    """,
    """
    CREATE TRIGGER credit_ledger_no_truncate BEFORE TRUNCATE ON credit_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_refuse_change()
    """,
    # Columns a finalized invoice may still change are listed; every other column,
    # including any added later, is frozen by default.
    """
    CREATE FUNCTION ledgerline_freeze_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status = 'draft' THEN
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END IF;
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'invoice % is %: it cannot be deleted', OLD.invoice_id, OLD.status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF OLD.status IN ('paid', 'void') AND NEW IS DISTINCT FROM OLD THEN
            RAISE EXCEPTION 'invoice % is %: it cannot change', OLD.invoice_id, OLD.status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF NEW.status NOT IN ('finalized', 'paid', 'void')
           OR (to_jsonb(NEW) - 'status' - 'paid_at' - 'voided_at')
              IS DISTINCT FROM (to_jsonb(OLD) - 'status' - 'paid_at' - 'voided_at') THEN
            RAISE EXCEPTION 'invoice % is finalized: its lines and totals cannot change',
                OLD.invoice_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER invoices_freeze BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION ledgerline_freeze_invoice()
    """,
    """
    CREATE FUNCTION ledgerline_freeze_invoice_lines() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        frozen_id bigint;
        frozen_status text;
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            SELECT i.invoice_id, i.status INTO frozen_id, frozen_status
            FROM new_lines l JOIN invoices i USING (tenant_id, invoice_id)
            WHERE i.status <> 'draft' LIMIT 1;
        END IF;
        IF frozen_id IS NULL AND TG_OP IN ('UPDATE', 'DELETE') THEN
            SELECT i.invoice_id, i.status INTO frozen_id, frozen_status
            FROM old_lines l JOIN invoices i USING (tenant_id, invoice_id)
            WHERE i.status <> 'draft' LIMIT 1;
        END IF;
        IF frozen_id IS NOT NULL THEN
            RAISE EXCEPTION 'invoice % is %: its lines cannot change', frozen_id, frozen_status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER invoice_lines_freeze_insert AFTER INSERT ON invoice_lines
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_freeze_invoice_lines()
    """,
    """
    CREATE TRIGGER invoice_lines_freeze_update AFTER UPDATE ON invoice_lines
    REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_freeze_invoice_lines()
    """,
    """
    CREATE TRIGGER invoice_lines_freeze_delete AFTER DELETE ON invoice_lines
    REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_freeze_invoice_lines()
    """,
]

TRIGGERS_DOWN = [
    "DROP TRIGGER invoice_lines_freeze_delete ON invoice_lines",
    "DROP TRIGGER invoice_lines_freeze_update ON invoice_lines",
    "DROP TRIGGER invoice_lines_freeze_insert ON invoice_lines",
    "DROP FUNCTION ledgerline_freeze_invoice_lines()",
    "DROP TRIGGER invoices_freeze ON invoices",
    "DROP FUNCTION ledgerline_freeze_invoice()",
    "DROP TRIGGER credit_ledger_no_truncate ON credit_ledger",
    "DROP TRIGGER credit_ledger_append_only ON credit_ledger",
    "DROP TRIGGER audit_log_no_truncate ON audit_log",
    "DROP TRIGGER audit_log_append_only ON audit_log",
    "DROP FUNCTION ledgerline_refuse_change()",
]
