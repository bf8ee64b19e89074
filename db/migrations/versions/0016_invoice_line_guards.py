"""The invoice lines' guards, cheaper for bulk writes of lines (issue 13 speed).

Re-pricing 10,000 drafts deletes their lines and writes about 55,000 new ones in
one transaction; month-end writes 50,000. Two guards cost more per line than the
write itself.

1. Invoices written inside a savepoint count as written by the transaction.
   `ledgerline_hold_invoices` (0007) gives each draft a line write touches a
   write that changes nothing (`UPDATE invoices SET status = status`), unless
   this transaction wrote the row already: a row version it wrote is a lock a
   finalize waits for, and a write a finalize from an older snapshot cannot
   overlook. It knew such rows by `xmin = pg_current_xact_id()`, the top
   transaction's id; but a row written inside a savepoint carries the
   savepoint's own id. So every draft re-priced inside a savepoint (a change's
   preview, which runs the change in one and rolls it back; a bulk re-pricing,
   which writes in chunks under one so that a refusal in a later chunk takes
   back the earlier ones; every test, run in a rolled-back savepoint) was
   written twice more: once by the lines' DELETE, once by their COPY.
   `ledgerline_written_here(xid)` says whether a row's xmin is this transaction
   or one of its subtransactions: a row version whose creator is still in
   progress and yet visible can only be this transaction's own (another
   transaction's uncommitted rows are never visible). `pg_xact_status` answers
   for a 64-bit id; the 32-bit xmin is widened with the epoch of the current
   transaction id (a visible xmin is at most 2^31 transactions away from it:
   older rows are frozen). A savepoint rolled back takes its row versions with
   it, so the rule never counts a write that no longer exists.

2. A line's invoice is checked once per statement, not once per line. The
   foreign key `fk_invoice_lines_tenant_id_invoice_id_invoices` checked each
   line on its own (a queued trigger, a query and a row lock per line): 45,000
   lines inserted in 1.7-2.3 s with it and 0.9-1.0 s without (psql, load 7).
   The rule it kept stays, as the lines' statement trigger, which already
   visits every invoice the statement's lines name (to hold it, above): a line
   naming no invoice of its tenant is refused (SQLSTATE 23503, as before), and
   the invoice is then share-locked by the hold until the transaction ends, as
   the key check locked it. What the key also guarded, the invoice staying, is
   kept by `invoices_keep_their_lines`: an invoice with lines cannot be deleted
   or given another key. (Finalized ones cannot be deleted at all: 0001.)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# VOLATILE, as pg_xact_status is: another transaction's status changes as it ends.
WRITTEN_HERE = """
CREATE FUNCTION ledgerline_written_here(row_xmin xid) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    -- The xmin's distance behind the current id, as a signed 32-bit number (a savepoint's id
    -- comes after its transaction's: a small negative distance).
    SELECT coalesce(pg_xact_status((current_id - (
               (((current_id - row_xmin::text::bigint) % 4294967296 + 4294967296) % 4294967296
                + 2147483648) % 4294967296 - 2147483648))::text::xid8) = 'in progress', false)
    FROM (SELECT pg_current_xact_id()::text::bigint AS current_id) AS now
$$
"""

HOLD_INVOICES = """
CREATE OR REPLACE FUNCTION ledgerline_hold_invoices(tenant_ids text[], invoice_ids bigint[], refusal text)
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
                   AND i.status = 'draft' AND NOT ledgerline_written_here(i.xmin)
                 OFFSET 0) AS not_yet_written;
    -- The write that changes nothing: a lock a finalize must wait for (and waits for), and a
    -- row version a finalize from an older snapshot cannot update without a serialization
    -- failure. Rows this transaction wrote (drafts it created or re-priced, in a savepoint
    -- or not) are its own already.
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

# 0007's body, restored by the downgrade.
HOLD_INVOICES_TOP_ONLY = """
CREATE OR REPLACE FUNCTION ledgerline_hold_invoices(tenant_ids text[], invoice_ids bigint[], refusal text)
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

FREEZE_LINES_CHECKING_KEYS = """
CREATE OR REPLACE FUNCTION ledgerline_freeze_invoice_lines() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant_ids text[];
    invoice_ids bigint[];
    missing_tenant text;
    missing_invoice bigint;
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
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        -- What the foreign key checked line by line, once per invoice named (LATERAL ...
        -- OFFSET 0: an index probe per invoice, never a scan of all invoices).
        SELECT k.tenant_id, k.invoice_id INTO missing_tenant, missing_invoice
        FROM unnest(tenant_ids, invoice_ids) AS k(tenant_id, invoice_id)
            LEFT JOIN LATERAL (SELECT true AS present FROM invoices i
                               WHERE i.tenant_id = k.tenant_id AND i.invoice_id = k.invoice_id
                               OFFSET 0) AS found ON true
        WHERE found.present IS NULL LIMIT 1;
        IF missing_tenant IS NOT NULL THEN
            RAISE EXCEPTION 'an invoice line names invoice % of %, which does not exist',
                missing_invoice, missing_tenant USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    PERFORM ledgerline_hold_invoices(tenant_ids, invoice_ids, 'its lines cannot change');
    RETURN NULL;
END $$
"""

# 0007's body, restored by the downgrade.
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

KEEP_LINES = """
CREATE FUNCTION ledgerline_invoice_keeps_its_lines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR (NEW.tenant_id, NEW.invoice_id)
                             IS DISTINCT FROM (OLD.tenant_id, OLD.invoice_id))
       AND EXISTS (SELECT FROM invoice_lines
                   WHERE tenant_id = OLD.tenant_id AND invoice_id = OLD.invoice_id) THEN
        RAISE EXCEPTION 'invoice % of % has lines: it cannot be deleted or given another key',
            OLD.invoice_id, OLD.tenant_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$
"""


def upgrade() -> None:
    op.execute(WRITTEN_HERE)
    op.execute(HOLD_INVOICES)
    op.drop_constraint("fk_invoice_lines_tenant_id_invoice_id_invoices", "invoice_lines",
                       type_="foreignkey")
    op.execute(FREEZE_LINES_CHECKING_KEYS)
    op.execute(KEEP_LINES)
    # Only a DELETE, or an UPDATE naming a key column, fires it: re-pricing's UPDATE of the
    # totals does not.
    op.execute("CREATE TRIGGER invoices_keep_their_lines "
               "BEFORE DELETE OR UPDATE OF tenant_id, invoice_id ON invoices "
               "FOR EACH ROW EXECUTE FUNCTION ledgerline_invoice_keeps_its_lines()")


def downgrade() -> None:
    op.execute("DROP TRIGGER invoices_keep_their_lines ON invoices")
    op.execute("DROP FUNCTION ledgerline_invoice_keeps_its_lines()")
    op.execute(FREEZE_LINES_HOLDING)
    op.create_foreign_key("fk_invoice_lines_tenant_id_invoice_id_invoices", "invoice_lines",
                          "invoices", ["tenant_id", "invoice_id"], ["tenant_id", "invoice_id"])
    op.execute(HOLD_INVOICES_TOP_ONLY)
    op.execute("DROP FUNCTION ledgerline_written_here(xid)")
