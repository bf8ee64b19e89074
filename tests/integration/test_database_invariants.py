"""What the database refuses by itself, whoever writes (SPEC 1, 8, 9, 10)."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from billing_core.periods import calendar_month
from db.database import ALEMBIC_INI, REPO_ROOT
from db.invoicing import generate_invoice
from db.transitions import finalize_invoice, record_payment
from tests.actors import finance
from tests.integration.factories import add_plan, add_tenant

NOVEMBER = calendar_month("2024-11")
ACTOR = finance("finance@test")


@pytest.fixture
def two_tenants(session, new_tenant_id):
    add_plan(session, "test-compute-1000", 100000)
    ids = {}
    for name in ("a", "b"):
        tenant = add_tenant(session, new_tenant_id(name),
                            plans=[(date(2024, 1, 1), "test-compute-1000")])
        ids[name] = (tenant, generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id)
    return ids


def _refused(session, sql: str, params: dict, match: str) -> None:
    with pytest.raises(IntegrityError, match=match), session.begin_nested():
        session.execute(text(sql), params)


def test_a_line_cannot_point_at_another_tenants_invoice(session, two_tenants):
    (tenant_a, _), (_, invoice_b) = two_tenants["a"], two_tenants["b"]
    _refused(session, """
        INSERT INTO invoice_lines (tenant_id, invoice_id, line_no, kind, description, amount_minor,
                                   exact_amount, explanation)
        VALUES (:t, :i, 99, 'credit', 'sneaky', -100, -1, 'x')
    """, {"t": tenant_a, "i": invoice_b}, r"names invoice \d+ of .*, which does not exist")


def test_a_draft_with_lines_keeps_them_and_its_key(session, two_tenants):
    tenant, invoice_id = two_tenants["a"]
    for sql in ("DELETE FROM invoices WHERE tenant_id = :t AND invoice_id = :i",
                "UPDATE invoices SET invoice_id = invoice_id + 1000000 "
                "WHERE tenant_id = :t AND invoice_id = :i"):
        _refused(session, sql, {"t": tenant, "i": invoice_id},
                 "has lines: it cannot be deleted or given another key")


def test_a_credit_cannot_point_at_another_tenants_invoice(session, two_tenants):
    (tenant_a, _), (_, invoice_b) = two_tenants["a"], two_tenants["b"]
    _refused(session, """
        INSERT INTO credits (tenant_id, amount_minor, currency, reason, actor, idempotency_key,
                             invoice_id, applied_minor, to_balance_minor)
        VALUES (:t, 100, 'USD', 'x', 'x', 'k', :i, 100, 0)
    """, {"t": tenant_a, "i": invoice_b}, "fk_credits_tenant_id_invoice_id_invoices")


def test_a_second_open_invoice_for_the_period_is_refused(session, two_tenants):
    tenant, _ = two_tenants["a"]
    _refused(session, """
        INSERT INTO invoices (tenant_id, period_start, period_end, period_label, currency,
                              subtotal_minor, discount_minor, credit_minor, total_minor, created_by)
        VALUES (:t, '2024-11-01', '2024-12-01', '2024-11', 'USD', 1, 0, 0, 1, 'raw')
    """, {"t": tenant}, "uq_invoices_open_per_period")


@pytest.mark.parametrize(("sql", "match"), [
    pytest.param("UPDATE invoice_lines SET amount_minor = 1 "
                 "WHERE tenant_id = :t AND invoice_id = :i",
                 "its lines cannot change", id="update-line"),
    pytest.param("DELETE FROM invoice_lines WHERE tenant_id = :t AND invoice_id = :i",
                 "its lines cannot change", id="delete-line"),
    pytest.param("""INSERT INTO invoice_lines (tenant_id, invoice_id, line_no, kind, description,
                    amount_minor, exact_amount, explanation)
                    VALUES (:t, :i, 50, 'credit', 'late', -1, -0.01, 'x')""",
                 "its lines cannot change", id="insert-line"),
    pytest.param("""UPDATE invoices SET total_minor = total_minor - 100, credit_minor = 100
                    WHERE tenant_id = :t AND invoice_id = :i""",
                 "its lines and totals cannot change", id="update-total"),
    pytest.param("UPDATE invoices SET status = 'draft', number = NULL, finalized_at = NULL "
                 "WHERE tenant_id = :t AND invoice_id = :i", "cannot change", id="reopen"),
    pytest.param("DELETE FROM invoices WHERE tenant_id = :t AND invoice_id = :i",
                 "cannot be deleted", id="delete-invoice"),
])
def test_raw_sql_cannot_change_a_finalized_invoice(session, two_tenants, sql, match):
    tenant, invoice_id = two_tenants["a"]
    finalize_invoice(session, tenant, invoice_id, actor=ACTOR)
    invoice_with_lines = text(
        "SELECT i.*, (SELECT array_agg(l.* ORDER BY line_no) FROM invoice_lines l "
        "WHERE l.tenant_id = i.tenant_id AND l.invoice_id = i.invoice_id) "
        "FROM invoices i WHERE tenant_id = :t AND invoice_id = :i")
    before = session.execute(invoice_with_lines, {"t": tenant, "i": invoice_id}).one()
    _refused(session, sql, {"t": tenant, "i": invoice_id}, match)
    after = session.execute(invoice_with_lines, {"t": tenant, "i": invoice_id}).one()
    assert after == before


def test_a_paid_invoice_does_not_change_at_all(session, two_tenants):
    tenant, invoice_id = two_tenants["a"]
    finalize_invoice(session, tenant, invoice_id, actor=ACTOR)
    record_payment(session, tenant, invoice_id, actor=ACTOR)
    _refused(session, "UPDATE invoices SET paid_at = now() - interval '1 day' "
                      "WHERE tenant_id = :t AND invoice_id = :i",
             {"t": tenant, "i": invoice_id}, "is paid: it cannot change")


def test_draft_lines_may_still_change(session, two_tenants):
    tenant, invoice_id = two_tenants["a"]
    session.execute(text("UPDATE invoice_lines SET explanation = explanation || '.' "
                         "WHERE tenant_id = :t AND invoice_id = :i"),
                    {"t": tenant, "i": invoice_id})


@pytest.mark.parametrize("sql", [
    pytest.param("UPDATE audit_log SET actor = 'someone-else'", id="update"),
    pytest.param("DELETE FROM audit_log", id="delete"),
    pytest.param("TRUNCATE audit_log", id="truncate"),
])
def test_the_audit_log_is_append_only(session, two_tenants, sql):
    _refused(session, sql, {}, "audit_log is append-only")


@pytest.mark.parametrize("sql", [
    pytest.param("UPDATE credit_ledger SET balance_after_minor = 0", id="update"),
    pytest.param("DELETE FROM credit_ledger", id="delete"),
])
def test_the_credit_ledger_is_append_only(session, two_tenants, sql):
    from billing_core.money import Money
    from db.credits import issue_service_credit

    tenant, _ = two_tenants["a"]
    session.execute(text("UPDATE invoices SET status = 'void', voided_at = now() "
                         "WHERE tenant_id = :t"),
                    {"t": tenant})
    issue_service_credit(session, tenant, Money("5.00", "USD"), "goodwill", actor=ACTOR,
                         idempotency_key="ledger-1")
    _refused(session, sql, {}, "credit_ledger is append-only")


@pytest.mark.parametrize(("sql", "constraint"), [
    pytest.param("INSERT INTO tenants (tenant_id, name, currency) VALUES ('bad-cur', 'x', 'usd')",
                 "ck_tenants_currency_format", id="currency-format"),
    pytest.param("INSERT INTO tenants (tenant_id, name, currency) VALUES ('Bad Id', 'x', 'USD')",
                 "ck_tenants_tenant_id_slug", id="tenant-slug"),
    pytest.param("UPDATE invoices SET total_minor = -1, subtotal_minor = -1 WHERE tenant_id = :t",
                 "ck_invoices_amounts_not_negative", id="negative-total"),
    pytest.param("UPDATE invoices SET total_minor = total_minor + 1 WHERE tenant_id = :t",
                 "ck_invoices_totals_add_up", id="totals-add-up"),
    pytest.param("UPDATE invoices SET status = 'sent', number = 'X', finalized_at = now() "
                 "WHERE tenant_id = :t",
                 "ck_invoices_status_known", id="status-known"),
    pytest.param("INSERT INTO credit_ledger (tenant_id, entry_kind, amount_minor, "
                 "balance_after_minor, currency, actor) "
                 "VALUES (:t, 'returned_on_void', 100, 100, 'USD', 'x')",
                 "ck_credit_ledger_return_names_invoice", id="return-names-invoice"),
    pytest.param("INSERT INTO credit_ledger (tenant_id, entry_kind, amount_minor, "
                 "balance_after_minor, currency, invoice_id, actor) "
                 "SELECT :t, 'returned_on_void', -100, 0, 'USD', invoice_id, 'x' FROM invoices "
                 "WHERE tenant_id = :t LIMIT 1",
                 "ck_credit_ledger_sign_matches_kind", id="return-is-positive"),
])
def test_check_constraints(session, two_tenants, sql, constraint):
    tenant, _ = two_tenants["a"]
    _refused(session, sql, {"t": tenant}, constraint)


def test_no_column_is_floating_point(session):
    floats = session.execute(text("""
        SELECT table_name || '.' || column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND data_type IN ('real', 'double precision')
    """)).scalars().all()
    assert floats == []


def test_models_and_migrations_do_not_drift(engine):
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(REPO_ROOT / "db" / "migrations"))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.check(config)  # raises AutogenerateDiffsDetected on any drift
