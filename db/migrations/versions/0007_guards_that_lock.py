"""Guards that lock what they check, credits on drafts only, and no TRUNCATE of money.

The line freeze of 0001 read the invoice's status without a lock, so a line
write racing a finalize, one from a REPEATABLE READ snapshot taken before the
finalize, and a line insert racing a plain-SQL finalize were all accepted: a
finalized invoice whose lines no longer added up to its total. Now:

- `ledgerline_hold_invoices(tenant_ids, invoice_ids, refusal)`: a write that an
  invoice's breakdown depends on holds the invoice first. A draft this
  transaction has not written yet gets an UPDATE that changes nothing: its row
  lock makes the write and a finalize wait for each other (whichever comes
  second sees the other's committed state), and it is a write that a finalize
  working from an older snapshot cannot overlook (REPEATABLE READ: serialization
  failure, SQLSTATE 40001). Then every row is share-locked and anything not a
  draft is refused. Drafts created in the same transaction (month-end) are
  already this transaction's own and cost no extra write. Each invoice is found
  by its key (index probes, never a scan of all invoices): the cost follows the
  statement, not the table (about 30 ms for a 5,000-invoice month-end batch).
- `ledgerline_freeze_invoice_lines` (the `invoice_lines_freeze_*` triggers)
  holds the statement's invoices through it.
- `invoices_finalized_lines_add_up`: when a draft becomes finalized (or paid), its
  lines must add up to its stored breakdown: recurring and usage lines to
  `subtotal_minor`, discount lines to `-discount_minor`, credit lines to
  `-credit_minor`. It runs under the row lock of the finalizing UPDATE, so line
  writes that came first are committed and seen, and later ones wait and are
  refused: the design that needs no race-prone check, on the other side.
  Voiding a draft is not checked: voiding is how a broken draft is put away.
- `credits_apply_to_drafts`: a credit row may name only a draft invoice, and a
  credit that landed on an invoice freezes with it (no UPDATE or DELETE once the
  invoice is finalized, paid or void), held the same way.
- `<table>_no_truncate` on every table that holds money or what money is
  computed from or numbered by (`MONEY_TABLES`; `audit_log` and `credit_ledger`
  refuse TRUNCATE since 0001). TRUNCATE bypasses row triggers, so without this
  it wiped finalized invoices' lines.

Every refusal raises SQLSTATE 23000 (IntegrityError), as in 0001; a REPEATABLE
READ transaction whose snapshot predates the other side's commit gets 40001.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY_TABLES = (
    # money itself, and the legacy records reconciliation corrects money from
    "invoices", "invoice_lines", "credits", "credit_notes", "credit_requests",
    "allocation_runs", "allocation_shares",
    "legacy_imports", "legacy_invoices", "legacy_allocation_shares", "legacy_corrections",
    # what money is computed from: prices, discounts, plan segments, metered usage
    "plans", "tenant_discounts", "subscriptions", "usage_records",
    # what it is numbered by: emptied, numbers would be issued again
    "document_number_counters",
)

HOLD_INVOICES = """
CREATE FUNCTION ledgerline_hold_invoices(tenant_ids text[], invoice_ids bigint[], refusal text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    touch_tenant_ids text[];
    touch_invoice_ids bigint[];
    frozen_id bigint;
    frozen_status text;
BEGIN
    -- Each key is looked up on its own (LATERAL ... OFFSET 0: index probes, never a scan of
    -- all invoices), so the cost follows the statement, not the table.
    SELECT array_agg(k.tenant_id), array_agg(k.invoice_id)
    INTO touch_tenant_ids, touch_invoice_ids
    FROM unnest(tenant_ids, invoice_ids) AS k(tenant_id, invoice_id),
        LATERAL (SELECT FROM invoices i
                 WHERE i.tenant_id = k.tenant_id AND i.invoice_id = k.invoice_id
                   AND i.status = 'draft' AND i.xmin <> pg_current_xact_id()::xid
                 OFFSET 0) AS not_yet_written;
    -- The write that changes nothing: a lock a finalize must wait for (and waits for), and a
    -- row version a finalize from an older snapshot cannot update without a serialization
    -- failure. Rows this transaction wrote (drafts it created) are its own already.
    IF touch_tenant_ids IS NOT NULL THEN
        UPDATE invoices i SET status = i.status
        FROM unnest(touch_tenant_ids, touch_invoice_ids) AS k(tenant_id, invoice_id)
        WHERE i.tenant_id = k.tenant_id AND i.invoice_id = k.invoice_id AND i.status = 'draft';
    END IF;
    -- xmin has 32 bits: after a wraparound an old row's xmin may equal this transaction's
    -- id, so every row is also share-locked before its status is read.
    SELECT held.invoice_id, held.status INTO frozen_id, frozen_status
    FROM unnest(tenant_ids, invoice_ids) AS k(tenant_id, invoice_id),
        LATERAL (SELECT i.invoice_id, i.status FROM invoices i
                 WHERE i.tenant_id = k.tenant_id AND i.invoice_id = k.invoice_id
                 FOR SHARE) AS held
    WHERE held.status <> 'draft' LIMIT 1;
    IF frozen_id IS NOT NULL THEN
        RAISE EXCEPTION 'invoice % is %: %', frozen_id, frozen_status, refusal
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
END $$
"""

FREEZE_LINES_HOLDING = """
CREATE OR REPLACE FUNCTION ledgerline_freeze_invoice_lines() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant_ids text[];
    invoice_ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(tenant_id), array_agg(invoice_id) INTO tenant_ids, invoice_ids
        FROM (SELECT DISTINCT tenant_id, invoice_id FROM new_lines) AS touched;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(tenant_id), array_agg(invoice_id) INTO tenant_ids, invoice_ids
        FROM (SELECT tenant_id, invoice_id FROM new_lines
              UNION SELECT tenant_id, invoice_id FROM old_lines) AS touched;
    ELSE
        SELECT array_agg(tenant_id), array_agg(invoice_id) INTO tenant_ids, invoice_ids
        FROM (SELECT DISTINCT tenant_id, invoice_id FROM old_lines) AS touched;
    END IF;
    PERFORM ledgerline_hold_invoices(tenant_ids, invoice_ids, 'its lines cannot change');
    RETURN NULL;
END $$
"""

# 0001's body, restored by the downgrade.
FREEZE_LINES_UNLOCKED = """
CREATE OR REPLACE FUNCTION ledgerline_freeze_invoice_lines() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""

LINES_ADD_UP = [
    """
    CREATE FUNCTION ledgerline_check_lines_add_up() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        lines_subtotal bigint;
        lines_discount bigint;
        lines_credit bigint;
    BEGIN
        SELECT coalesce(sum(amount_minor) FILTER (WHERE kind IN ('recurring', 'usage')), 0),
               coalesce(-sum(amount_minor) FILTER (WHERE kind = 'discount'), 0),
               coalesce(-sum(amount_minor) FILTER (WHERE kind = 'credit'), 0)
        INTO lines_subtotal, lines_discount, lines_credit
        FROM invoice_lines WHERE tenant_id = NEW.tenant_id AND invoice_id = NEW.invoice_id;
        IF (lines_subtotal, lines_discount, lines_credit)
           IS DISTINCT FROM (NEW.subtotal_minor, NEW.discount_minor, NEW.credit_minor) THEN
            RAISE EXCEPTION 'invoice % cannot be %: its lines do not add up to its totals '
                            '(lines: subtotal %, discount %, credit %; '
                            'invoice: subtotal %, discount %, credit %)',
                NEW.invoice_id, NEW.status, lines_subtotal, lines_discount, lines_credit,
                NEW.subtotal_minor, NEW.discount_minor, NEW.credit_minor
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER invoices_finalized_lines_add_up BEFORE UPDATE ON invoices
    FOR EACH ROW WHEN (OLD.status = 'draft' AND NEW.status IN ('finalized', 'paid'))
    EXECUTE FUNCTION ledgerline_check_lines_add_up()
    """,
]

CREDITS_ON_DRAFTS = [
    """
    CREATE FUNCTION ledgerline_credit_on_draft() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.invoice_id IS NOT NULL THEN
            PERFORM ledgerline_hold_invoices(ARRAY[OLD.tenant_id], ARRAY[OLD.invoice_id],
                                             'its credits cannot change');
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.invoice_id IS NOT NULL THEN
            PERFORM ledgerline_hold_invoices(ARRAY[NEW.tenant_id], ARRAY[NEW.invoice_id],
                                             'a credit cannot be applied to it');
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END $$
    """,
    """
    CREATE TRIGGER credits_apply_to_drafts BEFORE INSERT OR UPDATE OR DELETE ON credits
    FOR EACH ROW EXECUTE FUNCTION ledgerline_credit_on_draft()
    """,
]

REFUSE_TRUNCATE = """
CREATE FUNCTION ledgerline_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% holds billing records: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$
"""


def upgrade() -> None:
    op.execute(HOLD_INVOICES)
    op.execute(FREEZE_LINES_HOLDING)
    for statement in LINES_ADD_UP + CREDITS_ON_DRAFTS:
        op.execute(statement)
    op.execute(REFUSE_TRUNCATE)
    for table in MONEY_TABLES:
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_refuse_truncate()")


def downgrade() -> None:
    for table in MONEY_TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION ledgerline_refuse_truncate()")
    op.execute("DROP TRIGGER credits_apply_to_drafts ON credits")
    op.execute("DROP FUNCTION ledgerline_credit_on_draft()")
    op.execute("DROP TRIGGER invoices_finalized_lines_add_up ON invoices")
    op.execute("DROP FUNCTION ledgerline_check_lines_add_up()")
    op.execute(FREEZE_LINES_UNLOCKED)
    op.execute("DROP FUNCTION ledgerline_hold_invoices(text[], bigint[], text)")
