"""A voided invoice gives its credit back: the `returned_on_void` credit ledger entry.

Voiding an invoice that carried credit (the balance it consumed when generated,
service credits applied while it was a draft: its `credit_minor`) puts that credit
back on the tenant's balance with a positive `returned_on_void` entry naming the
invoice, so a void and a regeneration lose nothing (SPEC 5).

- `ck_credit_ledger_entry_kind_known` and `ck_credit_ledger_sign_matches_kind`
  admit the new kind (positive, like `credit_added`);
- `ck_credit_ledger_return_names_invoice`: a return names its invoice;
- `uq_credit_ledger_one_return_per_invoice`: an invoice gives its credit back once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f('ck_credit_ledger_entry_kind_known'), 'credit_ledger', type_='check')
    op.drop_constraint(op.f('ck_credit_ledger_sign_matches_kind'), 'credit_ledger', type_='check')
    op.create_check_constraint(
        op.f('ck_credit_ledger_entry_kind_known'), 'credit_ledger',
        "entry_kind IN ('credit_added', 'consumed', 'returned_on_void')")
    op.create_check_constraint(
        op.f('ck_credit_ledger_sign_matches_kind'), 'credit_ledger',
        "(entry_kind IN ('credit_added', 'returned_on_void')) = (amount_minor > 0)")
    op.create_check_constraint(
        op.f('ck_credit_ledger_return_names_invoice'), 'credit_ledger',
        "entry_kind <> 'returned_on_void' OR invoice_id IS NOT NULL")
    op.create_index('uq_credit_ledger_one_return_per_invoice', 'credit_ledger',
                    ['tenant_id', 'invoice_id'], unique=True,
                    postgresql_where=sa.text("entry_kind = 'returned_on_void'"))


def downgrade() -> None:
    # Refused by the old CHECKs while any `returned_on_void` entry exists: the ledger is
    # append-only, so those entries cannot be removed, and the old schema cannot hold them.
    op.drop_index('uq_credit_ledger_one_return_per_invoice', table_name='credit_ledger',
                  postgresql_where=sa.text("entry_kind = 'returned_on_void'"))
    op.drop_constraint(op.f('ck_credit_ledger_return_names_invoice'), 'credit_ledger',
                       type_='check')
    op.drop_constraint(op.f('ck_credit_ledger_sign_matches_kind'), 'credit_ledger', type_='check')
    op.drop_constraint(op.f('ck_credit_ledger_entry_kind_known'), 'credit_ledger', type_='check')
    op.create_check_constraint(
        op.f('ck_credit_ledger_entry_kind_known'), 'credit_ledger',
        "entry_kind IN ('credit_added', 'consumed')")
    op.create_check_constraint(
        op.f('ck_credit_ledger_sign_matches_kind'), 'credit_ledger',
        "(entry_kind = 'credit_added') = (amount_minor > 0)")
