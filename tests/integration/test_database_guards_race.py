"""The database's own guards hold under concurrency, whoever writes (SPEC 5, 8).

Each race is driven step by step on real connections, as the probes of the
hardening issue did: transaction A does its part and stays open; B starts its
statement in a thread, and the test waits (a condition, `pg_blocking_pids`) until
B is blocked by A; A commits; B must then be refused by the guard. A check that
read the invoice's status without locking it let B through: a finalized invoice
whose lines no longer added up to its total.

The other order, and snapshots older than the other side's commit, are raced too:
a finalize that waits for a line write re-checks that the lines add up; a
REPEATABLE READ transaction whose snapshot predates the other side's commit gets
a serialization failure (SQLSTATE 40001: retry, and the retry sees the new state).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from psycopg.errors import SerializationFailure
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from billing_core.periods import calendar_month
from db.invoicing import generate_invoice
from db.models import Base
from db.transitions import finalize_invoice, record_payment, void_invoice
from tests.actors import finance
from tests.integration.factories import add_percent_discount, add_plan, add_tenant
from tests.integration.races import FINISHED_WITHIN_S, Race, Transaction

NOVEMBER = calendar_month("2024-11")
ACTOR = finance("guards@test")

LINES_FROZEN = "is finalized: its lines cannot change"
LINES_DO_NOT_ADD_UP = "its lines do not add up to its totals"


@pytest.fixture
def race(engine: Engine) -> Iterator[Race]:
    with Race(engine) as race:
        yield race


# --- a committed draft, and what may be done to it ------------------------------------------

@dataclass(frozen=True, slots=True)
class Draft:
    tenant_id: str
    invoice_id: int

    @property
    def params(self) -> dict[str, object]:
        return {"t": self.tenant_id, "i": self.invoice_id}


@pytest.fixture
def draft(sessions, new_tenant_id) -> Draft:
    """A committed November draft: $1,000.00 recurring, 10 % off (two lines)."""
    with sessions.begin() as session:
        add_plan(session, "test-compute-1000", 100000)
        tenant = add_tenant(session, new_tenant_id("guards"),
                            plans=[(date(2024, 1, 1), "test-compute-1000")])
        add_percent_discount(session, tenant, 1, "10", "loyalty")
        return Draft(tenant, generate_invoice(session, tenant, NOVEMBER,
                                              actor=ACTOR).invoice_id)


def finalize_with_the_function(transaction: Transaction, draft: Draft) -> None:
    with Session(bind=transaction.connection) as session:
        finalize_invoice(session, draft.tenant_id, draft.invoice_id, actor=ACTOR)


def finalize_with_plain_sql(transaction: Transaction, draft: Draft) -> None:
    transaction.execute("""
        UPDATE invoices SET status = 'finalized', number = :number, finalized_at = now()
        WHERE tenant_id = :t AND invoice_id = :i
    """, {**draft.params, "number": f"RAW-{uuid.uuid4().hex[:12]}"})


FINALIZERS = [
    pytest.param(finalize_with_the_function, id="finalize_invoice"),
    pytest.param(finalize_with_plain_sql, id="plain-sql-finalize"),
]

# Each one breaks the breakdown: the lines would no longer add up to the stored totals.
LINE_WRITES = [
    pytest.param("UPDATE invoice_lines SET amount_minor = amount_minor + 1 "
                 "WHERE tenant_id = :t AND invoice_id = :i AND line_no = 1", id="update-line"),
    pytest.param("DELETE FROM invoice_lines WHERE tenant_id = :t AND invoice_id = :i",
                 id="delete-lines"),
    pytest.param("""INSERT INTO invoice_lines (tenant_id, invoice_id, line_no, kind, description,
                                               amount_minor, exact_amount, explanation)
                    VALUES (:t, :i, 99, 'credit', 'late', -100, -1.00, 'raw')""",
                 id="insert-line"),
]


def stored(engine: Engine, draft: Draft) -> tuple[str, list[tuple]]:
    """The invoice's committed status and lines."""
    with engine.connect() as connection:
        status = connection.execute(text(
            "SELECT status FROM invoices WHERE tenant_id = :t AND invoice_id = :i"),
            draft.params).scalar_one()
        lines = [tuple(row) for row in connection.execute(text(
            "SELECT line_no, kind, amount_minor FROM invoice_lines "
            "WHERE tenant_id = :t AND invoice_id = :i ORDER BY line_no"), draft.params)]
    return status, lines


def assert_serialization_failure(error: BaseException) -> None:
    assert isinstance(error, OperationalError)
    assert isinstance(error.orig, SerializationFailure)


# --- lines racing a finalize ----------------------------------------------------------------

@pytest.mark.parametrize("finalize", FINALIZERS)
@pytest.mark.parametrize("line_write", LINE_WRITES)
def test_a_line_write_racing_a_finalize_waits_for_it_and_is_then_refused(
        engine, race, draft, finalize, line_write):
    _, lines_before = stored(engine, draft)
    finalizer, writer = race.begin(), race.begin()
    finalize(finalizer, draft)
    attempt = race.attempt(writer, lambda: writer.execute(line_write, draft.params))
    race.wait_until_blocked(attempt, waiter=writer, holder=finalizer)
    finalizer.commit()
    with pytest.raises(IntegrityError, match=LINES_FROZEN):
        attempt.result(timeout=FINISHED_WITHIN_S)
    assert stored(engine, draft) == ("finalized", lines_before)


@pytest.mark.parametrize("finalize", FINALIZERS)
@pytest.mark.parametrize("line_write", LINE_WRITES)
def test_a_finalize_racing_a_line_write_waits_for_it_and_refuses_lines_that_no_longer_add_up(
        engine, race, draft, finalize, line_write):
    writer, finalizer = race.begin(), race.begin()
    writer.execute(line_write, draft.params)
    attempt = race.attempt(finalizer, lambda: finalize(finalizer, draft))
    race.wait_until_blocked(attempt, waiter=finalizer, holder=writer)
    writer.commit()
    with pytest.raises(IntegrityError, match=LINES_DO_NOT_ADD_UP):
        attempt.result(timeout=FINISHED_WITHIN_S)
    assert stored(engine, draft)[0] == "draft"


@pytest.mark.parametrize("line_write", LINE_WRITES)
def test_a_snapshot_taken_before_the_finalize_cannot_change_the_lines_after_it(
        engine, race, draft, line_write):
    _, lines_before = stored(engine, draft)
    writer = race.begin("REPEATABLE READ")
    writer.execute("SELECT count(*) FROM invoice_lines WHERE tenant_id = :t AND invoice_id = :i",
                   draft.params)  # the snapshot is taken here, before the finalize
    finalizer = race.begin()
    finalize_with_the_function(finalizer, draft)
    finalizer.commit()
    with pytest.raises(OperationalError) as refused:
        writer.execute(line_write, draft.params)
    assert_serialization_failure(refused.value)
    assert stored(engine, draft) == ("finalized", lines_before)


@pytest.mark.parametrize("finalize", FINALIZERS)
@pytest.mark.parametrize("line_write", LINE_WRITES)
def test_a_finalize_from_a_snapshot_older_than_a_line_write_cannot_overlook_it(
        engine, race, draft, finalize, line_write):
    finalizer = race.begin("REPEATABLE READ")
    finalizer.execute("SELECT count(*) FROM invoice_lines WHERE tenant_id = :t "
                      "AND invoice_id = :i", draft.params)  # its snapshot: before the write
    writer = race.begin()
    writer.execute(line_write, draft.params)
    writer.commit()
    with pytest.raises(OperationalError) as refused:
        finalize(finalizer, draft)
    assert_serialization_failure(refused.value)
    assert stored(engine, draft)[0] == "draft"


def test_finalizing_a_draft_whose_lines_do_not_add_up_is_refused(session, new_tenant_id):
    add_plan(session, "test-compute-1000", 100000)
    tenant = add_tenant(session, new_tenant_id("tampered"),
                        plans=[(date(2024, 1, 1), "test-compute-1000")])
    invoice_id = generate_invoice(session, tenant, NOVEMBER, actor=ACTOR).invoice_id
    session.execute(text("UPDATE invoice_lines SET amount_minor = amount_minor - 1 "
                         "WHERE tenant_id = :t AND invoice_id = :i"),
                    {"t": tenant, "i": invoice_id})
    with pytest.raises(IntegrityError, match=LINES_DO_NOT_ADD_UP), session.begin_nested():
        finalize_invoice(session, tenant, invoice_id, actor=ACTOR)


# --- credits apply to drafts only -----------------------------------------------------------

CREDIT_ON = """
    INSERT INTO credits (tenant_id, amount_minor, currency, reason, actor, idempotency_key,
                         invoice_id, applied_minor, to_balance_minor)
    VALUES (:t, 500, 'USD', 'raw', 'raw', :key, :i, 500, 0)
"""
CREDIT_ON_BALANCE = """
    INSERT INTO credits (tenant_id, amount_minor, currency, reason, actor, idempotency_key,
                         invoice_id, applied_minor, to_balance_minor)
    VALUES (:t, 500, 'USD', 'raw', 'raw', :key, NULL, 0, 500)
    RETURNING credit_id
"""
MOVES = {
    "finalized": [finalize_invoice],
    "paid": [finalize_invoice, record_payment],
    "void": [void_invoice],
}


def _session_draft(session: Session, tenant_id: str) -> int:
    add_plan(session, "test-compute-1000", 100000)
    add_tenant(session, tenant_id, plans=[(date(2024, 1, 1), "test-compute-1000")])
    return generate_invoice(session, tenant_id, NOVEMBER, actor=ACTOR).invoice_id


def _refused(session: Session, sql: str, params: dict[str, object], match: str) -> None:
    with pytest.raises(IntegrityError, match=match), session.begin_nested():
        session.execute(text(sql), params)


@pytest.mark.parametrize("status", list(MOVES))
def test_a_credit_row_cannot_claim_an_invoice_that_is_not_a_draft(session, new_tenant_id,
                                                                   status):
    tenant = new_tenant_id("credit-target")
    invoice_id = _session_draft(session, tenant)
    for move in MOVES[status]:
        move(session, tenant, invoice_id, actor=ACTOR)
    params = {"t": tenant, "i": invoice_id, "key": "raw-1"}
    _refused(session, CREDIT_ON, params,
             f"invoice {invoice_id} is {status}: a credit cannot be applied to it")
    credit_id = session.execute(text(CREDIT_ON_BALANCE), {**params, "key": "raw-2"}).scalar_one()
    _refused(session, "UPDATE credits SET invoice_id = :i, applied_minor = 500, "
                      "to_balance_minor = 0 WHERE tenant_id = :t AND credit_id = :c",
             {**params, "c": credit_id},
             f"invoice {invoice_id} is {status}: a credit cannot be applied to it")


@pytest.mark.parametrize("sql", [
    pytest.param("UPDATE credits SET applied_minor = 0, to_balance_minor = 500 "
                 "WHERE tenant_id = :t AND credit_id = :c", id="update"),
    pytest.param("UPDATE credits SET invoice_id = NULL, applied_minor = 0, to_balance_minor = 500 "
                 "WHERE tenant_id = :t AND credit_id = :c", id="move-to-balance"),
    pytest.param("DELETE FROM credits WHERE tenant_id = :t AND credit_id = :c", id="delete"),
])
def test_a_credit_applied_to_a_draft_freezes_with_the_invoice(session, new_tenant_id, sql):
    tenant = new_tenant_id("credit-frozen")
    invoice_id = _session_draft(session, tenant)
    credit_id = session.execute(text(CREDIT_ON + " RETURNING credit_id"),
                                {"t": tenant, "i": invoice_id, "key": "raw"}).scalar_one()
    finalize_invoice(session, tenant, invoice_id, actor=ACTOR)
    _refused(session, sql, {"t": tenant, "c": credit_id},
             f"invoice {invoice_id} is finalized: its credits cannot change")


@pytest.mark.parametrize("finalize", FINALIZERS)
def test_a_credit_written_while_a_finalize_is_in_flight_waits_and_is_refused(
        engine, race, draft, finalize):
    finalizer, creditor = race.begin(), race.begin()
    finalize(finalizer, draft)
    attempt = race.attempt(creditor, lambda: creditor.execute(
        CREDIT_ON, {**draft.params, "key": "race"}))
    race.wait_until_blocked(attempt, waiter=creditor, holder=finalizer)
    finalizer.commit()
    with pytest.raises(IntegrityError, match="is finalized: a credit cannot be applied to it"):
        attempt.result(timeout=FINISHED_WITHIN_S)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM credits WHERE tenant_id = :t"),
                                  draft.params).scalar_one() == 0


# --- TRUNCATE -------------------------------------------------------------------------------

# Every table holding money, or what money is computed from (prices, discounts, usage, plan
# segments) or numbered by; docs/database.md says why each is here.
GUARDED_FROM_TRUNCATE = (
    "invoices", "invoice_lines", "credits", "credit_ledger", "credit_notes", "credit_requests",
    "document_number_counters", "allocation_runs", "allocation_shares", "plans",
    "subscriptions", "tenant_discounts", "usage_records", "legacy_imports", "legacy_invoices",
    "legacy_allocation_shares", "legacy_corrections", "audit_log",
    "usage_imports", "usage_events", "late_usage", "legacy_discrepancies",
)
# Nothing here holds money: TRUNCATE of tenants cascades into guarded tables and is refused.
NOT_GUARDED = ("tenants", "users", "sign_in_throttle", "month_end_runs", "api_keys",
               "api_idempotency_keys", "audit_filter_choices", "web_sessions",
               "metering_version")


@pytest.mark.parametrize("table", GUARDED_FROM_TRUNCATE)
def test_truncate_is_refused_on_every_table_that_holds_money(session, table):
    _refused(session, f"TRUNCATE {table} CASCADE", {},
             rf"\b{re.escape(table)} (holds billing records|is append-only): TRUNCATE refused")


def test_every_table_is_either_guarded_from_truncate_or_named_as_holding_no_money(session):
    tables = set(Base.metadata.tables)  # the project's schema, not tools' own tables
    guarded = tables & set(session.execute(text("""
        SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE NOT t.tgisinternal AND t.tgtype & 32 <> 0   -- TRIGGER_TYPE_TRUNCATE
    """)).scalars())
    assert guarded == set(GUARDED_FROM_TRUNCATE)
    assert tables - guarded == set(NOT_GUARDED)
    holding_money = {table.name for table in Base.metadata.tables.values()
                     if any(column.name.endswith("_minor") for column in table.columns)}
    assert holding_money <= guarded
