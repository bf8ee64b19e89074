"""API keys and idempotency keys of the billing HTTP API (issue 15).

- `api_keys`: one row per key a client (a platform job, a meter) was given: a
  unique `name` (the actor the audit log records), one role of
  `billing_core.access.Role` (`ck_api_keys_role_known`, including the machine-only
  'meter'), and the key's SHA-256 as 64 hex digits (`uq_api_keys_key_hash`): the
  key itself is shown once and never stored. `revoked_at`/`revoked_by` end it.
- `api_idempotency_keys`: the first response to a request sent with an
  `Idempotency-Key` header, per API key (SPEC 13): the fingerprint of what was
  asked (method, path, body) and the status and body answered, replayed as they
  were; the same key with another fingerprint is refused. Kept at least 30 days
  (`ix_api_idempotency_keys_created_at` finds the expired ones). A row without a
  response exists only inside the transaction that is answering it
  (`ck_api_idempotency_keys_response_whole`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("api_key_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.CheckConstraint("role IN ('finance', 'customer_success', 'manager', 'meter')", name=op.f("ck_api_keys_role_known")),
        sa.CheckConstraint("key_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_api_keys_key_hash_is_sha256")),
        sa.CheckConstraint("(revoked_at IS NULL) = (revoked_by IS NULL)", name=op.f("ck_api_keys_revoked_names_who")),
        sa.PrimaryKeyConstraint("api_key_id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_keys_name")),
    )
    op.create_table(
        "api_idempotency_keys",
        sa.Column("api_key_id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("(response_status IS NULL) = (response_body IS NULL)", name=op.f("ck_api_idempotency_keys_response_whole")),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.api_key_id"], name=op.f("fk_api_idempotency_keys_api_key_id_api_keys")),
        sa.PrimaryKeyConstraint("api_key_id", "idempotency_key", name=op.f("pk_api_idempotency_keys")),
    )
    op.create_index(op.f("ix_api_idempotency_keys_created_at"), "api_idempotency_keys", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_idempotency_keys_created_at"), table_name="api_idempotency_keys")
    op.drop_table("api_idempotency_keys")
    op.drop_table("api_keys")
