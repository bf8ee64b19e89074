"""Sign-in and roles (issue #5): users, sign-in throttling, credit requests, the actor's role.

- `users`: local accounts (argon2 hash) or single-sign-on users (no hash), one role each;
- `sign_in_throttle`: wrong passwords in a row per email and the wait they impose;
- `credit_requests`: credits asked for by customer success (or by finance above the
  approval threshold), approved or rejected by a second finance user;
- `audit_log.actor_role`: the role the actor acted in (NULL on rows written before roles).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sign_in_throttle',
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('email', name=op.f('pk_sign_in_throttle'))
    )
    op.create_table('users',
    sa.Column('user_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_sign_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("email = lower(email) AND email LIKE '%%_@_%%'", name=op.f('ck_users_email_lower_case')),
    sa.CheckConstraint("role IN ('finance', 'customer_success', 'manager')", name=op.f('ck_users_role_known')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('credit_requests',
    sa.Column('tenant_id', sa.Text(), nullable=False),
    sa.Column('request_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('idempotency_key', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.Text(), nullable=False),
    sa.Column('requested_by_role', sa.Text(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('decided_by', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('credit_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("(status = 'approved') = (credit_id IS NOT NULL)", name=op.f('ck_credit_requests_credit_iff_approved')),
    sa.CheckConstraint("(status = 'pending') = (decided_by IS NULL)", name=op.f('ck_credit_requests_decided_iff_not_pending')),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_credit_requests_currency_format')),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_credit_requests_status_known')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_credit_requests_amount_positive')),
    sa.ForeignKeyConstraint(['tenant_id', 'credit_id'], ['credits.tenant_id', 'credits.credit_id'], name=op.f('fk_credit_requests_tenant_id_credit_id_credits')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_credit_requests_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'request_id', name=op.f('pk_credit_requests'))
    )
    op.create_index('ix_credit_requests_status_time', 'credit_requests', ['status', 'requested_at'], unique=False)
    op.create_index('uq_credit_requests_tenant_idempotency_key', 'credit_requests', ['tenant_id', 'idempotency_key'], unique=True)
    op.add_column('audit_log', sa.Column('actor_role', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('audit_log', 'actor_role')
    op.drop_index('uq_credit_requests_tenant_idempotency_key', table_name='credit_requests')
    op.drop_index('ix_credit_requests_status_time', table_name='credit_requests')
    op.drop_table('credit_requests')
    op.drop_table('users')
    op.drop_table('sign_in_throttle')
