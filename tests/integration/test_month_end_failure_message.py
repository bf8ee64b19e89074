"""A failed month-end stores a message for people; the SQL and its parameters go to the log."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db import month_end
from db.month_end import failure_message, run_month_end
from db.reads.month_end_runs import last_month_end_run
from tests.actors import finance
from tests.integration.factories import add_plan, add_tenant

SECRET = "ent-secret-tenant-0042"


def _failing_statement(session, *args):
    # A statement the database refuses, with a parameter, as a broken batch would send it.
    session.execute(text("SELECT CAST(:tenant AS integer) FROM tenants"), {"tenant": SECRET})


def test_a_database_error_is_stored_as_its_kind_without_sql_or_parameters(
        fresh_engine, monkeypatch, caplog):
    with Session(fresh_engine) as session, session.begin():
        add_plan(session, "test-basic-600", 60000)
        add_tenant(session, "me-0001", plans=[(date(2024, 1, 1), "test-basic-600")])
    monkeypatch.setattr(month_end, "_generate_batch", _failing_statement)

    with caplog.at_level(logging.ERROR, logger="ledgerline.month_end"), \
            pytest.raises(DBAPIError):
        run_month_end(fresh_engine, "2024-11", actor=finance())
    with Session(fresh_engine) as session:
        last = last_month_end_run(session)

    assert last.status == "failed"
    assert last.error == ("database error (InvalidTextRepresentation); the details are in the "
                          "server log")
    logged = "\n".join(record.getMessage() + str(record.exc_info[1]) for record in caplog.records
                       if record.exc_info)
    assert "SELECT CAST" in logged and SECRET in logged  # the full error stays server-side


@pytest.mark.parametrize(("error", "message"), [
    pytest.param(RuntimeError("disk full"), "disk full", id="short-reason-kept"),
    pytest.param(RuntimeError("first line\n[SQL: SELECT 1]"), "first line", id="first-line-only"),
    pytest.param(RuntimeError(), "RuntimeError", id="no-text-names-the-kind"),
    pytest.param(RuntimeError("x" * 500), "x" * 200 + "…", id="long-text-cut"),
])
def test_other_errors_keep_their_first_line(error, message):
    assert failure_message(error) == message
