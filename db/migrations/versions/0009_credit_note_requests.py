"""Credit notes above the approval threshold are requested and approved, as credits are.

A credit note of any size needed one finance user while a service credit above
the threshold needed two: a side door round four-eyes. Now a large note is a
`credit_requests` row too, which a second finance user approves
(`db.credit_requests`):

- `kind`: 'service_credit' (every row so far) or 'credit_note'
  (`ck_credit_requests_kind_known`);
- `invoice_id`: the invoice a note request corrects, and only a note request
  names one (`ck_credit_requests_note_request_names_invoice`); the foreign key
  carries the tenant id, so a request can only name its own tenant's invoice;
- `credit_note_id`: the note its approval issued, with the tenant id too.
  `ck_credit_requests_credit_iff_approved` becomes one rule per kind: an
  approved service-credit request names its credit and nothing else does
  (`..._credit_iff_approved_credit`), an approved note request names its note
  and nothing else does (`..._note_iff_approved_note`);
- `uq_credit_requests_tenant_id_credit_note_id`: one request per note; also the
  probe `db.four_eyes` makes to leave approved notes out of the 24-hour window.

Credit notes' idempotency keys were already unique per tenant
(`uq_credit_notes_tenant_idempotency_key`, 0001), not per invoice: nothing to
change there; `db.credits` now looks them up the same way.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('credit_requests', sa.Column('kind', sa.Text(), nullable=False,
                                               server_default=sa.text("'service_credit'")))
    op.add_column('credit_requests', sa.Column('invoice_id', sa.BigInteger(), nullable=True))
    op.add_column('credit_requests', sa.Column('credit_note_id', sa.BigInteger(), nullable=True))
    op.create_check_constraint(op.f('ck_credit_requests_kind_known'), 'credit_requests',
                               "kind IN ('service_credit', 'credit_note')")
    op.create_check_constraint(op.f('ck_credit_requests_note_request_names_invoice'),
                               'credit_requests',
                               "(kind = 'credit_note') = (invoice_id IS NOT NULL)")
    op.drop_constraint(op.f('ck_credit_requests_credit_iff_approved'), 'credit_requests',
                       type_='check')
    op.create_check_constraint(
        op.f('ck_credit_requests_credit_iff_approved_credit'), 'credit_requests',
        "(status = 'approved' AND kind = 'service_credit') = (credit_id IS NOT NULL)")
    op.create_check_constraint(
        op.f('ck_credit_requests_note_iff_approved_note'), 'credit_requests',
        "(status = 'approved' AND kind = 'credit_note') = (credit_note_id IS NOT NULL)")
    op.create_foreign_key(op.f('fk_credit_requests_tenant_id_invoice_id_invoices'),
                          'credit_requests', 'invoices', ['tenant_id', 'invoice_id'],
                          ['tenant_id', 'invoice_id'])
    op.create_foreign_key(op.f('fk_credit_requests_tenant_id_credit_note_id_credit_notes'),
                          'credit_requests', 'credit_notes', ['tenant_id', 'credit_note_id'],
                          ['tenant_id', 'credit_note_id'])
    op.create_index('uq_credit_requests_tenant_id_credit_note_id', 'credit_requests',
                    ['tenant_id', 'credit_note_id'], unique=True)


def downgrade() -> None:
    # Without its kind a pending note request would read as a service-credit request for the
    # same amount, approvable onto a draft: refuse rather than delete or reinterpret records.
    op.execute("""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM credit_requests WHERE kind = 'credit_note') THEN
                RAISE EXCEPTION 'credit note requests exist; the schema before 0009 cannot '
                                'hold them';
            END IF;
        END $$
    """)
    op.drop_index('uq_credit_requests_tenant_id_credit_note_id', table_name='credit_requests')
    op.drop_constraint(op.f('fk_credit_requests_tenant_id_credit_note_id_credit_notes'),
                       'credit_requests', type_='foreignkey')
    op.drop_constraint(op.f('fk_credit_requests_tenant_id_invoice_id_invoices'),
                       'credit_requests', type_='foreignkey')
    op.drop_constraint(op.f('ck_credit_requests_note_iff_approved_note'), 'credit_requests',
                       type_='check')
    op.drop_constraint(op.f('ck_credit_requests_credit_iff_approved_credit'), 'credit_requests',
                       type_='check')
    op.create_check_constraint(op.f('ck_credit_requests_credit_iff_approved'), 'credit_requests',
                               "(status = 'approved') = (credit_id IS NOT NULL)")
    op.drop_constraint(op.f('ck_credit_requests_note_request_names_invoice'), 'credit_requests',
                       type_='check')
    op.drop_constraint(op.f('ck_credit_requests_kind_known'), 'credit_requests', type_='check')
    op.drop_column('credit_requests', 'credit_note_id')
    op.drop_column('credit_requests', 'invoice_id')
    op.drop_column('credit_requests', 'kind')
