"""Sign-in sessions kept by the server, so a sign-in survives a reload and a typed link (issue 16).

- `web_sessions`: one row per signed-in browser. The browser holds a random token in an
  HttpOnly cookie; the row holds only its SHA-256 (`token_hash`), so a leaked table signs
  nobody in. A row starts with a one-time `handoff_hash` instead (the sign-in's run cannot
  set a cookie; the browser trades the handoff for the token within a minute:
  `ledgerline_ui/session_cookie.py`). Signing out deletes the row.
- A trigger deletes a user's rows when their role, active flag or password changes, in the
  same transaction: a deactivated user, or one whose role changed, is signed out everywhere
  whichever tool made the change.
- Two indexes let the invoice list sort by total in the database, page after page (lowest
  and highest first, within each currency: `db/reads/invoices.py`).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('session_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('token_hash', sa.LargeBinary(), nullable=True),
    sa.Column('handoff_hash', sa.LargeBinary(), nullable=True),
    sa.Column('handoff_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('finance', 'customer_success', 'manager')", name=op.f('ck_web_sessions_role_known')),
    sa.CheckConstraint('(token_hash IS NULL) <> (handoff_hash IS NULL)', name=op.f('ck_web_sessions_token_or_handoff')),
    sa.CheckConstraint('(handoff_hash IS NULL) = (handoff_expires_at IS NULL)', name=op.f('ck_web_sessions_handoff_expires')),
    sa.CheckConstraint('octet_length(token_hash) = 32 AND octet_length(handoff_hash) = 32', name=op.f('ck_web_sessions_hashes_are_sha256')),
    sa.ForeignKeyConstraint(['email'], ['users.email'], name=op.f('fk_web_sessions_email_users'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('handoff_hash', name=op.f('uq_web_sessions_handoff_hash')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash'))
    )
    op.create_index('ix_web_sessions_email', 'web_sessions', ['email'], unique=False)
    op.create_index('ix_invoices_currency_total', 'invoices', ['currency', 'total_minor', 'tenant_id', 'invoice_id'], unique=False)
    op.create_index('ix_invoices_currency_total_desc', 'invoices', ['currency', sa.text('(-total_minor)'), 'tenant_id', 'invoice_id'], unique=False)
    op.execute("""
        CREATE FUNCTION revoke_web_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM web_sessions WHERE email = OLD.email;
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER users_change_revokes_web_sessions
        AFTER UPDATE OF role, is_active, password_hash, email ON users
        FOR EACH ROW
        WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.is_active IS DISTINCT FROM NEW.is_active
              OR OLD.password_hash IS DISTINCT FROM NEW.password_hash
              OR OLD.email IS DISTINCT FROM NEW.email)
        EXECUTE FUNCTION revoke_web_sessions()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER users_change_revokes_web_sessions ON users")
    op.execute("DROP FUNCTION revoke_web_sessions()")
    op.drop_index('ix_invoices_currency_total_desc', table_name='invoices')
    op.drop_index('ix_invoices_currency_total', table_name='invoices')
    op.drop_index('ix_web_sessions_email', table_name='web_sessions')
    op.drop_table('web_sessions')
