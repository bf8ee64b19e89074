"""A version of which tenants' plans meter which metrics, changed by every change to it (issue 15).

The straight way of storing usage (`db.usage_straight`) checks each (tenant, metric) pair of
a batch: one of the tenant's plans meters the metric. Asked of the database, that was 1,000
probes of `subscriptions` and `plans` for an API batch of 1,000 events, 2.3 ms of a batch's
11-12 ms in PostgreSQL. The answer hardly ever changes, so the API process keeps the pairs it
has found metered (`db.metered_pairs`), valid for as long as this version stays the same.

- `metering_version`: one row, its `version` a random UUID, replaced by a statement trigger
  after every statement that writes `subscriptions`, and every one that deletes a plan or
  changes a plan's id or metric (a plan's other columns do not meter anything; TRUNCATE of
  both is refused already by their guards). A row, not a sequence: it is read in the
  snapshot of the statement that reads the pairs, so it names what that statement saw; and
  random, so that two databases (a test's, restored from one template) never give one
  version two meanings.
- The statement that writes subscriptions holds the row until its transaction ends: plan
  changes take turns there, after their tenants' locks (the documented order,
  `db.credit_ledger`).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METERING_CHANGED = """
CREATE FUNCTION ledgerline_metering_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE metering_version SET version = gen_random_uuid();
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "metering_version",
        sa.Column("one_row", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("version", UUID(as_uuid=False), server_default=sa.text("gen_random_uuid()"),
                  nullable=False),
        sa.CheckConstraint("one_row", name=op.f("ck_metering_version_one_row")),
        sa.PrimaryKeyConstraint("one_row", name=op.f("pk_metering_version")),
    )
    op.execute("INSERT INTO metering_version DEFAULT VALUES")
    op.execute(METERING_CHANGED)
    op.execute("CREATE TRIGGER subscriptions_change_metering "
               "AFTER INSERT OR UPDATE OR DELETE ON subscriptions "
               "FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_metering_changed()")
    op.execute("CREATE TRIGGER plans_change_metering "
               "AFTER UPDATE OF plan_id, usage_metric OR DELETE ON plans "
               "FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_metering_changed()")


def downgrade() -> None:
    op.execute("DROP TRIGGER plans_change_metering ON plans")
    op.execute("DROP TRIGGER subscriptions_change_metering ON subscriptions")
    op.execute("DROP FUNCTION ledgerline_metering_changed()")
    op.drop_table("metering_version")
