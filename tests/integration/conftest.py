"""Fixtures of the integration tests beyond the database ones in tests/conftest.py."""

from __future__ import annotations

import io

import pytest

import db.database
from db.users import main as users_main


@pytest.fixture
def users_command(database_url, monkeypatch, capsys):
    """`python -m db.users ...` in this process, on the test database; returns (code, out, err).

    In-process because a child process pays Python, SQLAlchemy and Alembic start-up on
    every call (tens of seconds for a few commands on a busy machine)."""
    monkeypatch.setenv("DATABASE_URL", database_url.render_as_string(hide_password=False))
    monkeypatch.setattr(db.database, "_engine", None)

    def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = users_main(argv)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
