"""What one person gave away alone in the last 24 hours, found by user: `db/four_eyes.py`.

Every credit and credit note a user issues alone reads the user's grants of the
last 24 hours across all tenants (`actor = :user AND created_at > now() - 24 h`);
without these indexes that read scans both tables on every grant. (The tenant's
grants are found through the primary keys, which lead with `tenant_id`.)

- `ix_credits_actor_created_at`, `ix_credit_notes_actor_created_at`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_credits_actor_created_at', 'credits', ['actor', 'created_at'])
    op.create_index('ix_credit_notes_actor_created_at', 'credit_notes', ['actor', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_credit_notes_actor_created_at', table_name='credit_notes')
    op.drop_index('ix_credits_actor_created_at', table_name='credits')
