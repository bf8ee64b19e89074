"""Plans get versions, subscriptions can end, drafts record when they were last priced.

SPEC 11 and 13:

- `plans.version`, `plans.first_plan_id`: a price change is a new plan row (a new
  version) that names the first version of its plan; `retired_at` stops new
  subscriptions to it. `uq_plans_version` keeps one row per version of a plan.
  Trigger `plans_prices_frozen` refuses any change to a plan's prices or usage
  terms (SQLSTATE 23000): an invoice that used a plan keeps meaning what it said.
- `subscriptions.plan_id` may be NULL: a segment with no plan is a cancellation
  (the tenant is billed up to the day before it).
- `invoices.priced_at`, `invoices.price_version`: when the draft was last
  priced, and how many times; re-pricing a draft bumps both, and finalizing
  names the version the person reviewed (`db.transitions.finalize_invoice`).
  Both freeze with the invoice (`invoices_freeze` freezes every column it does
  not list).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("version", sa.Integer(), server_default=sa.text("1"),
                                     nullable=False))
    op.add_column("plans", sa.Column("first_plan_id", sa.Text(), nullable=True))
    op.add_column("plans", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(op.f("fk_plans_first_plan_id_plans"), "plans", "plans",
                          ["first_plan_id"], ["plan_id"])
    op.create_check_constraint(op.f("ck_plans_version_positive"), "plans", "version >= 1")
    op.create_check_constraint(op.f("ck_plans_first_version_has_no_first"), "plans",
                               "(version = 1) = (first_plan_id IS NULL)")
    op.create_index("uq_plans_first_plan_id_version", "plans", ["first_plan_id", "version"],
                    unique=True)
    op.execute("""
        CREATE FUNCTION ledgerline_freeze_plan_prices() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (NEW.currency, NEW.recurring_price_minor, NEW.usage_metric, NEW.usage_unit_name,
                NEW.usage_base_unit_name, NEW.usage_base_units_per_unit,
                NEW.usage_included_base_units, NEW.usage_price_per_unit, NEW.version,
                NEW.first_plan_id)
               IS DISTINCT FROM
               (OLD.currency, OLD.recurring_price_minor, OLD.usage_metric, OLD.usage_unit_name,
                OLD.usage_base_unit_name, OLD.usage_base_units_per_unit,
                OLD.usage_included_base_units, OLD.usage_price_per_unit, OLD.version,
                OLD.first_plan_id) THEN
                RAISE EXCEPTION 'plan %: prices never change; a new price is a new version',
                    OLD.plan_id USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER plans_prices_frozen BEFORE UPDATE ON plans
        FOR EACH ROW EXECUTE FUNCTION ledgerline_freeze_plan_prices()
    """)
    op.alter_column("subscriptions", "plan_id", existing_type=sa.Text(), nullable=True)
    op.add_column("invoices", sa.Column("priced_at", sa.DateTime(timezone=True),
                                        server_default=sa.text("now()"), nullable=False))
    op.add_column("invoices", sa.Column("price_version", sa.Integer(),
                                        server_default=sa.text("1"), nullable=False))
    op.create_check_constraint(op.f("ck_invoices_price_version_positive"), "invoices",
                               "price_version >= 1")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_invoices_price_version_positive"), "invoices", type_="check")
    op.drop_column("invoices", "price_version")
    op.drop_column("invoices", "priced_at")
    # A cancellation has no plan; the schema before 0010 cannot say so: refuse, never guess.
    op.execute("""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM subscriptions WHERE plan_id IS NULL) THEN
                RAISE EXCEPTION 'cancelled subscriptions exist; the schema before 0010 '
                                'cannot hold them';
            END IF;
        END $$
    """)
    op.alter_column("subscriptions", "plan_id", existing_type=sa.Text(), nullable=False)
    op.execute("DROP TRIGGER plans_prices_frozen ON plans")
    op.execute("DROP FUNCTION ledgerline_freeze_plan_prices()")
    op.drop_index("uq_plans_first_plan_id_version", table_name="plans")
    op.drop_constraint(op.f("ck_plans_first_version_has_no_first"), "plans", type_="check")
    op.drop_constraint(op.f("ck_plans_version_positive"), "plans", type_="check")
    op.drop_constraint(op.f("fk_plans_first_plan_id_plans"), "plans", type_="foreignkey")
    op.drop_column("plans", "retired_at")
    op.drop_column("plans", "first_plan_id")
    op.drop_column("plans", "version")
