"""A failed run's reason as every role reads it: one line, never SQL or its parameters."""

from __future__ import annotations

import pytest

from ledgerline_ui.back_office.month_end_view import failure_text

STORED_BEFORE_THE_FIX = (
    '(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "uq_x"\n'
    "DETAIL:  Key (tenant_id)=(ent-secret) already exists.\n"
    "[SQL: INSERT INTO invoices (tenant_id) VALUES (%(tenant_id)s)]\n"
    "[parameters: {'tenant_id': 'ent-secret'}]")


@pytest.mark.parametrize(("stored", "shown"), [
    pytest.param("database error (UniqueViolation); the details are in the server log",
                 "database error (UniqueViolation); the details are in the server log",
                 id="stored-sentence-as-it-is"),
    pytest.param("disk full", "disk full", id="short-reason"),
    pytest.param(STORED_BEFORE_THE_FIX,
                 "database error (UniqueViolation); the details are in the server log",
                 id="raw-database-error-shows-its-kind-only"),
    pytest.param("statement failed [SQL: SELECT 1]",
                 "database error (unknown); the details are in the server log",
                 id="sql-anywhere-in-the-line"),
    pytest.param(None, "", id="none"),
])
def test_a_run_error_shows_one_line_without_sql(stored, shown):
    assert failure_text(stored) == shown
