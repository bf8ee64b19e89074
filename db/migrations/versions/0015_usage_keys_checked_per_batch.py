"""Usage rows checked per statement, not per row (issue 14 speed).

A usage import writes one `usage_events` row per event and one `usage_records` row
per tenant, metric and day: ten million events are ten million rows and millions of
day rows. Their foreign keys checked each row on its own (a queued trigger and an
index probe of `tenants`, `usage_imports` or `late_usage` per row): measured at 1M
events, storing the events took 12.3 s with their three foreign keys and 5.6 s
without; the day rows 20.8 s with theirs, 6.1 s with the statement check below.

- `usage_events` loses its foreign keys (tenant, import, late-usage group). Its one
  writer, `db.usage_events.import_usage`, checks the batch's tenants (and that one of
  their plans meters the metric) once per batch before storing, writes the import
  row first, and names only late-usage groups it has just written.
- `usage_records` keeps its rule, every row's tenant exists, as one check per
  statement over the rows it wrote (a statement trigger with a transition table),
  because demo data, tests and tools write day rows too.
- What the foreign keys also guarded, the referenced rows staying, is kept by
  triggers on those rows: a tenant with usage events or usage records cannot be
  deleted or renamed; an import's record and a late-usage group named by events
  cannot be deleted. Nothing deletes them today; these keep it that way.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_FOREIGN_KEYS = (
    ("fk_usage_events_tenant_id_tenants", ["tenant_id"], "tenants", ["tenant_id"]),
    ("fk_usage_events_import_id_usage_imports", ["import_id"], "usage_imports", ["import_id"]),
    ("fk_usage_events_tenant_id_late_usage_id_late_usage", ["tenant_id", "late_usage_id"],
     "late_usage", ["tenant_id", "late_usage_id"]),
)

RECORDS_TENANTS_EXIST = """
CREATE FUNCTION ledgerline_usage_records_tenants_exist() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    -- Each tenant of the statement's rows once, probed in tenants' key.
    SELECT n.tenant_id INTO missing
    FROM (SELECT DISTINCT tenant_id FROM new_rows) AS n
    WHERE NOT EXISTS (SELECT FROM tenants t WHERE t.tenant_id = n.tenant_id)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'usage_records: tenant % does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$
"""

TENANT_KEEPS_USAGE = """
CREATE FUNCTION ledgerline_tenant_keeps_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM usage_events WHERE tenant_id = OLD.tenant_id)
       OR EXISTS (SELECT FROM usage_records WHERE tenant_id = OLD.tenant_id) THEN
        RAISE EXCEPTION 'tenant % has usage: it cannot be deleted or renamed', OLD.tenant_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$
"""

IMPORT_KEPT = """
CREATE FUNCTION ledgerline_usage_import_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'usage import % is history: it cannot be deleted', OLD.import_id
        USING ERRCODE = 'integrity_constraint_violation';
END $$
"""

LATE_GROUP_KEPT = """
CREATE FUNCTION ledgerline_late_usage_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM usage_events
               WHERE tenant_id = OLD.tenant_id AND late_usage_id = OLD.late_usage_id) THEN
        RAISE EXCEPTION 'late usage % of % is named by its events: it cannot be deleted',
            OLD.late_usage_id, OLD.tenant_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$
"""


def upgrade() -> None:
    for name, _, _, _ in EVENT_FOREIGN_KEYS:
        op.drop_constraint(name, "usage_events", type_="foreignkey")
    op.drop_constraint("fk_usage_records_tenant_id_tenants", "usage_records", type_="foreignkey")
    op.execute(RECORDS_TENANTS_EXIST)
    for event in ("INSERT", "UPDATE"):
        op.execute(f"CREATE TRIGGER usage_records_tenants_exist_{event.lower()} AFTER {event} "
                   "ON usage_records REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                   "EXECUTE FUNCTION ledgerline_usage_records_tenants_exist()")
    op.execute(TENANT_KEEPS_USAGE)
    op.execute("CREATE TRIGGER tenants_keep_usage BEFORE DELETE OR UPDATE OF tenant_id "
               "ON tenants FOR EACH ROW EXECUTE FUNCTION ledgerline_tenant_keeps_usage()")
    op.execute(IMPORT_KEPT)
    op.execute("CREATE TRIGGER usage_imports_kept BEFORE DELETE OR UPDATE OF import_id "
               "ON usage_imports FOR EACH ROW EXECUTE FUNCTION ledgerline_usage_import_kept()")
    op.execute(LATE_GROUP_KEPT)
    op.execute("CREATE TRIGGER late_usage_kept BEFORE DELETE OR UPDATE OF late_usage_id "
               "ON late_usage FOR EACH ROW EXECUTE FUNCTION ledgerline_late_usage_kept()")


def downgrade() -> None:
    op.execute("DROP TRIGGER late_usage_kept ON late_usage")
    op.execute("DROP FUNCTION ledgerline_late_usage_kept()")
    op.execute("DROP TRIGGER usage_imports_kept ON usage_imports")
    op.execute("DROP FUNCTION ledgerline_usage_import_kept()")
    op.execute("DROP TRIGGER tenants_keep_usage ON tenants")
    op.execute("DROP FUNCTION ledgerline_tenant_keeps_usage()")
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER usage_records_tenants_exist_{event} ON usage_records")
    op.execute("DROP FUNCTION ledgerline_usage_records_tenants_exist()")
    op.create_foreign_key("fk_usage_records_tenant_id_tenants", "usage_records", "tenants",
                          ["tenant_id"], ["tenant_id"])
    for name, columns, table, referred in EVENT_FOREIGN_KEYS:
        op.create_foreign_key(name, "usage_events", table, columns, referred)

