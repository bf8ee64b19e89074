"""Fixtures of the integration tests beyond the database ones in tests/conftest.py."""

from __future__ import annotations

import pytest

from db.users import main as users_main
from tests.helpers import command_in_process


@pytest.fixture
def users_command(database_url, monkeypatch, capsys):
    """`python -m db.users ...` in this process, on the test database; (code, out, err)."""
    return command_in_process(users_main, database_url, monkeypatch, capsys)
