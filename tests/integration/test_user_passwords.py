"""A new account's password: blank, whitespace-only and too-short ones are refused, naming the
field, and nothing is created (security review, item 9). The command line runs in-process
(`users_command`, tests/integration/conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from billing_core.access import Role
from billing_core.errors import InvalidInput
from db.users import create_user


@pytest.mark.parametrize("password, problem", [
    ("", "must not be blank"),
    (" " * 10, "must not be blank"),
    ("\t \u00a0" * 4, "must not be blank"),
    ("short", "must be at least 10 characters, not counting spaces at either end"),
    ("   abc    ", "must be at least 10 characters, not counting spaces at either end"),
], ids=["empty", "ten spaces", "tabs and no-break spaces", "five letters", "padded"])
def test_a_blank_or_short_password_is_refused_naming_the_field(session, password, problem):
    with pytest.raises(InvalidInput) as refused:
        create_user(session, "padded@example.com", Role.FINANCE, password)
    assert (refused.value.field, refused.value.problem) == ("password", problem)
    assert session.execute(text("SELECT count(*) FROM users WHERE email = 'padded@example.com'")
                           ).scalar_one() == 0


def test_a_passphrase_with_inner_spaces_is_fine(session):
    user = create_user(session, "phrase@example.com", Role.MANAGER, "four words in a row")
    assert user.has_password


def test_the_command_line_refuses_ten_spaces_and_creates_nothing(users_command, engine):
    code, out, err = users_command(
        ["create", "--email", "spaces@example.com", "--role", "finance", "--password-stdin"],
        stdin=" " * 10 + "\n")
    assert (code, out, err.strip()) == (2, "", "password: must not be blank")
    with engine.connect() as connection:
        assert connection.execute(text(
            "SELECT count(*) FROM users WHERE email = 'spaces@example.com'")).scalar_one() == 0


def test_the_command_line_creates_a_finance_user_from_standard_input(users_command, engine):
    code, out, _ = users_command(
        ["create", "--email", "First@Example.com", "--role", "finance", "--password-stdin"],
        stdin="a long enough password\n")
    assert (code, out.strip()) == (0, "Created first@example.com (finance).")
    with engine.connect() as connection:
        assert connection.execute(text(
            "SELECT role FROM users WHERE email = 'first@example.com'")).scalar_one() == "finance"
