"""Legacy reconciliation: imported legacy invoices and allocation shares, and the corrections
finance issued for them (docs/reconciliation.md).

- `legacy_imports`: one row per imported file (name, actor, counts, when);
- `legacy_invoices`, `legacy_allocation_shares`: keyed by tenant first (SPEC 9),
  money as BIGINT minor units beside the currency, rates and weights NUMERIC;
  a legacy invoice's billed figures must add up (`ck_legacy_invoices_billed_adds_up`);
- `legacy_corrections`: one per (tenant, source, legacy id, rule), unique
  (`uq_legacy_corrections_discrepancy`), so issuing twice issues once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('legacy_imports',
    sa.Column('import_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('invoice_count', sa.BigInteger(), nullable=False),
    sa.Column('allocation_count', sa.BigInteger(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('import_id', name=op.f('pk_legacy_imports'))
    )
    op.create_table('legacy_allocation_shares',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('allocation_id', sa.Text(), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.BigInteger(), nullable=False),
    sa.Column('period_label', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('weight', sa.Numeric(), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('billed_share_minor', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_legacy_allocation_shares_currency_format')),
    sa.CheckConstraint('total_minor >= 0 AND billed_share_minor >= 0', name=op.f('ck_legacy_allocation_shares_amounts_not_negative')),
    sa.CheckConstraint('weight >= 0', name=op.f('ck_legacy_allocation_shares_weight_not_negative')),
    sa.ForeignKeyConstraint(['import_id'], ['legacy_imports.import_id'], name=op.f('fk_legacy_allocation_shares_import_id_legacy_imports')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_legacy_allocation_shares_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'allocation_id', name=op.f('pk_legacy_allocation_shares'))
    )
    op.create_index(op.f('ix_legacy_allocation_shares_import_id'), 'legacy_allocation_shares', ['import_id'], unique=False)
    op.create_table('legacy_invoices',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('legacy_id', sa.Text(), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.BigInteger(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('plan_segments', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('discounts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('credits', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('usage_metric', sa.Text(), nullable=True),
    sa.Column('used_base_units', sa.BigInteger(), nullable=True),
    sa.Column('included_base_units', sa.BigInteger(), nullable=True),
    sa.Column('base_units_per_unit', sa.BigInteger(), nullable=True),
    sa.Column('usage_price_per_unit', sa.Numeric(), nullable=True),
    sa.Column('billed_recurring_minor', sa.BigInteger(), nullable=False),
    sa.Column('billed_usage_minor', sa.BigInteger(), nullable=False),
    sa.Column('billed_discount_minor', sa.BigInteger(), nullable=False),
    sa.Column('billed_credit_minor', sa.BigInteger(), nullable=False),
    sa.Column('billed_total_minor', sa.BigInteger(), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_by', sa.Text(), nullable=True),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_legacy_invoices_currency_format')),
    sa.CheckConstraint("status IN ('draft', 'finalized', 'paid', 'void')", name=op.f('ck_legacy_invoices_status_known')),
    sa.CheckConstraint('(voided_at IS NULL) = (voided_by IS NULL)', name=op.f('ck_legacy_invoices_voided_by_with_at')),
    sa.CheckConstraint('billed_recurring_minor >= 0 AND billed_usage_minor >= 0 AND billed_discount_minor >= 0 AND billed_credit_minor >= 0 AND billed_total_minor >= 0', name=op.f('ck_legacy_invoices_billed_not_negative')),
    sa.CheckConstraint('billed_total_minor = billed_recurring_minor + billed_usage_minor - billed_discount_minor - billed_credit_minor', name=op.f('ck_legacy_invoices_billed_adds_up')),
    sa.CheckConstraint('num_nulls(usage_metric, used_base_units, included_base_units, base_units_per_unit, usage_price_per_unit) IN (0, 5)', name=op.f('ck_legacy_invoices_usage_complete')),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_legacy_invoices_period_not_empty')),
    sa.ForeignKeyConstraint(['import_id'], ['legacy_imports.import_id'], name=op.f('fk_legacy_invoices_import_id_legacy_imports')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_legacy_invoices_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'legacy_id', name=op.f('pk_legacy_invoices'))
    )
    op.create_index(op.f('ix_legacy_invoices_import_id'), 'legacy_invoices', ['import_id'], unique=False)
    op.create_table('legacy_corrections',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('correction_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('legacy_id', sa.Text(), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('credit_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'credit') = (credit_id IS NOT NULL)", name=op.f('ck_legacy_corrections_credit_has_credit')),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_legacy_corrections_currency_format')),
    sa.CheckConstraint("kind IN ('credit', 'void')", name=op.f('ck_legacy_corrections_kind_known')),
    sa.CheckConstraint("source IN ('invoice', 'allocation')", name=op.f('ck_legacy_corrections_source_known')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_legacy_corrections_amount_positive')),
    sa.ForeignKeyConstraint(['tenant_id', 'credit_id'], ['credits.tenant_id', 'credits.credit_id'], name=op.f('fk_legacy_corrections_tenant_id_credit_id_credits')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_legacy_corrections_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'correction_id', name=op.f('pk_legacy_corrections'))
    )
    op.create_index('uq_legacy_corrections_discrepancy', 'legacy_corrections', ['tenant_id', 'source', 'legacy_id', 'rule'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_legacy_corrections_discrepancy', table_name='legacy_corrections')
    op.drop_table('legacy_corrections')
    op.drop_index(op.f('ix_legacy_invoices_import_id'), table_name='legacy_invoices')
    op.drop_table('legacy_invoices')
    op.drop_index(op.f('ix_legacy_allocation_shares_import_id'), table_name='legacy_allocation_shares')
    op.drop_table('legacy_allocation_shares')
    op.drop_table('legacy_imports')
