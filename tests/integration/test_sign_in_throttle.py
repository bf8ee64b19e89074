"""Sign-in throttling per email and per client (security review, item 7).

A stranger's wrong passwords on someone's email delay the owner by at most
`MAX_EMAIL_SIGN_IN_WAIT_SECONDS`; one client's wrong passwords, on any emails, known or not,
make that client wait longer and longer; a client that must wait costs no argon2 check.
Time passing is simulated by moving the stored lock times back, never by sleeping.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text

import db.users
from billing_core.access import MAX_EMAIL_SIGN_IN_WAIT_SECONDS, Role
from db.users import SignInRefused, authenticate, client_throttle_key, create_user

PASSWORD = "correct horse battery"
WRONG = "wrong password"


def _address() -> str:
    """A client address of this test's own (198.18.0.0/15 is set aside for benchmarks)."""
    number = uuid.uuid4().int
    return f"198.{18 + number % 2}.{number // 2 % 256}.{number // 512 % 256}"


def _email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def _refusal(session, email: str, password: str, client: str) -> SignInRefused:
    with pytest.raises(SignInRefused) as refused:
        authenticate(session, email, password, client_address=client)
    return refused.value


def _let_time_pass(session, seconds: int) -> None:
    session.execute(text("""
        UPDATE sign_in_throttle SET locked_until = locked_until - make_interval(secs => :s)
        WHERE locked_until IS NOT NULL
    """), {"s": seconds})


def test_a_strangers_wrong_passwords_delay_the_owner_by_at_most_thirty_seconds(session):
    owner = _email("owner")
    create_user(session, owner, Role.FINANCE, PASSWORD)
    strangers = [_address() for _ in range(10)]
    for stranger in strangers:  # twenty wrong guesses from ten places, each after the last wait
        for _ in range(2):
            _let_time_pass(session, MAX_EMAIL_SIGN_IN_WAIT_SECONDS)
            _refusal(session, owner, WRONG, stranger)
    assert session.execute(text("SELECT failed_attempts FROM sign_in_throttle WHERE email = :e"),
                           {"e": owner}).scalar_one() == 20

    at_the_owners_desk = _address()
    kept_out = _refusal(session, owner, PASSWORD, at_the_owners_desk)
    assert 0 < kept_out.wait_seconds <= MAX_EMAIL_SIGN_IN_WAIT_SECONDS == 30
    _let_time_pass(session, MAX_EMAIL_SIGN_IN_WAIT_SECONDS)
    actor = authenticate(session, owner, PASSWORD, client_address=at_the_owners_desk)
    assert actor.user_id == owner


def test_one_clients_wrong_passwords_on_many_emails_wait_longer_and_longer(session):
    known = _email("known")
    create_user(session, known, Role.MANAGER, PASSWORD)
    client = _address()
    emails = [known, _email("nobody"), _email("nobody"), known, _email("nobody")]
    waits = []
    for email in emails:
        waits.append(_refusal(session, email, WRONG, client).wait_seconds)
        _let_time_pass(session, 3600)  # each guess after the last wait is over
    assert waits == [0, 0, 2, 4, 8]
    # Meanwhile another client is not slowed at all by those guesses on other emails.
    assert _refusal(session, _email("nobody"), WRONG, _address()).wait_seconds == 0


def test_a_throttled_client_is_refused_before_any_argon2_check(session, monkeypatch):
    client = _address()
    for _ in range(3):
        _refusal(session, _email("nobody"), WRONG, client)
    checks = []
    real_verify = db.users.verify_password
    monkeypatch.setattr(db.users, "verify_password",
                        lambda stored, password: checks.append(stored) or real_verify(stored,
                                                                                       password))
    for _ in range(20):
        refused = _refusal(session, _email("nobody"), WRONG, client)
        assert refused.wait_seconds > 0
    assert checks == []


@pytest.mark.parametrize("email_exists", [True, False], ids=["known email", "unknown email"])
def test_the_messages_never_say_whether_an_email_exists(session, email_exists):
    email = _email("maybe")
    if email_exists:
        create_user(session, email, Role.MANAGER, PASSWORD)
    client = _address()
    messages = [str(_refusal(session, email, WRONG, client)) for _ in range(3)]
    assert messages == ["Email or password is wrong.", "Email or password is wrong.",
                        "Too many wrong passwords for this email or from your network. "
                        "Try again in 2 seconds."]


def test_a_right_password_clears_the_clients_count(session):
    email = _email("typo")
    create_user(session, email, Role.MANAGER, PASSWORD)
    client = _address()
    for _ in range(2):
        _refusal(session, email, WRONG, client)
    authenticate(session, email, PASSWORD, client_address=client)
    assert _refusal(session, _email("nobody"), WRONG, client).wait_seconds == 0


@pytest.mark.parametrize("address, key", [
    (None, "client:unknown"),
    ("192.0.2.7", "client:192.0.2.7"),
    ("::ffff:192.0.2.7", "client:192.0.2.7"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "client:2001:db8:1:2::/64"),
    ("not an address", "client:unknown"),
], ids=["unknown", "IPv4", "IPv4 in IPv6", "IPv6 by its /64", "garbage"])
def test_clients_are_keyed_by_address_and_never_collide_with_an_email(address, key):
    assert client_throttle_key(address) == key
    assert "@" not in key


def test_concurrent_guesses_from_one_client_are_counted_one_at_a_time(sessions):
    """Eight guesses at once from one client: the client's row is locked for each attempt, so
    exactly three are checked (two free, the third starts the wait) and five are refused."""
    client = _address()
    start = threading.Barrier(8)
    waits: list[int] = []

    def guess() -> None:
        with sessions() as session:
            start.wait(timeout=60)
            try:
                authenticate(session, _email("nobody"), WRONG, client_address=client)
            except SignInRefused as refused:
                waits.append(refused.wait_seconds)
            session.commit()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(waits) == 8 and waits.count(0) == 2
    assert all(0 < wait <= 2 for wait in waits if wait)  # the third's, and five waiting it out
    with sessions() as session:
        assert session.execute(text(
            "SELECT failed_attempts FROM sign_in_throttle WHERE email = :k"),
            {"k": client_throttle_key(client)}).scalar_one() == 3


def test_clients_without_an_address_share_a_bucket_that_never_locks_them_out_for_long(session):
    """Browsers on the app's own machine, or behind a proxy that forwards no address, are one
    client: a stranger among them may delay the others by seconds, not by 15 minutes."""
    session.execute(text("DELETE FROM sign_in_throttle WHERE email = 'client:unknown'"))
    owner = _email("owner")
    create_user(session, owner, Role.FINANCE, PASSWORD)
    waits = []
    for _ in range(12):  # a stranger keeps guessing, each time after the last wait is over
        waits.append(_refusal(session, _email("nobody"), WRONG, None).wait_seconds)
        _let_time_pass(session, 3600)
    assert max(waits) == MAX_EMAIL_SIGN_IN_WAIT_SECONDS
    _refusal(session, _email("nobody"), WRONG, None)  # the stranger's last guess, just now
    kept_out = _refusal(session, owner, PASSWORD, None)
    assert 0 < kept_out.wait_seconds <= MAX_EMAIL_SIGN_IN_WAIT_SECONDS
    _let_time_pass(session, MAX_EMAIL_SIGN_IN_WAIT_SECONDS)
    assert authenticate(session, owner, PASSWORD, client_address=None).user_id == owner
