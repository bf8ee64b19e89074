"""Sign-in sessions kept by the server (db/web_sessions.py): the table holds only hashes, a
handoff is traded once and in time, and a session ends at sign-out, idleness, deactivation,
role change or password change (a trigger, whatever tool makes the change)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from billing_core.access import Actor, Role
from db.users import create_user, deactivate_user
from db.web_sessions import (
    HANDOFF_SECONDS,
    digest,
    end_web_session,
    redeem_handoff,
    signed_in_by_id,
    signed_in_by_token,
    start_web_session,
)

IDLE = 30 * 60


def _signed_in(session, role: Role = Role.FINANCE) -> tuple[Actor, int, str]:
    """A new user with a session whose handoff was traded: (actor, session id, token)."""
    email = f"web-{uuid.uuid4().hex[:8]}@example.com"
    create_user(session, email, role, None)
    actor = Actor(email, role)
    session_id, handoff = start_web_session(session, actor)
    token = redeem_handoff(session, handoff)
    assert token is not None
    return actor, session_id, token


def _age(session, session_id: int, column: str, seconds: int) -> None:
    session.execute(text(f"UPDATE web_sessions SET {column} = {column} - "  # noqa: S608 (test)
                         "make_interval(secs => :s) WHERE session_id = :id"),
                    {"s": seconds, "id": session_id})


def test_the_token_signs_in_and_the_table_holds_only_its_hash(session):
    actor, session_id, token = _signed_in(session)
    signed_in = signed_in_by_token(session, token, IDLE)
    assert signed_in is not None and (signed_in.session_id, signed_in.actor) == (session_id, actor)
    stored = session.execute(text("SELECT token_hash, handoff_hash FROM web_sessions "
                                  "WHERE session_id = :id"), {"id": session_id}).one()
    assert (bytes(stored.token_hash), stored.handoff_hash) == (digest(token), None)
    assert token.encode() not in bytes(stored.token_hash) and len(token) >= 43  # 256 bits


def test_a_handoff_is_traded_once_and_only_in_time(session):
    email = f"web-{uuid.uuid4().hex[:8]}@example.com"
    create_user(session, email, Role.MANAGER, None)
    first_id, first = start_web_session(session, Actor(email, Role.MANAGER))
    assert redeem_handoff(session, first) is not None
    assert redeem_handoff(session, first) is None  # used
    late_id, late = start_web_session(session, Actor(email, Role.MANAGER))
    _age(session, late_id, "handoff_expires_at", HANDOFF_SECONDS + 1)
    assert redeem_handoff(session, late) is None
    assert redeem_handoff(session, "not-a-handoff") is None


@pytest.mark.parametrize("change", [
    "UPDATE users SET is_active = false WHERE email = :email",
    "UPDATE users SET role = 'manager' WHERE email = :email",
    "UPDATE users SET password_hash = 'changed' WHERE email = :email",
], ids=["deactivated", "role changed", "password changed"])
def test_a_change_to_the_user_ends_their_sessions_in_the_same_transaction(session, change):
    actor, session_id, token = _signed_in(session)
    session.execute(text(change), {"email": actor.user_id})
    assert signed_in_by_token(session, token, IDLE) is None
    assert session.execute(text("SELECT count(*) FROM web_sessions WHERE email = :email"),
                           {"email": actor.user_id}).scalar_one() == 0


def test_deactivating_through_the_users_tool_ends_the_session(session):
    actor, session_id, _ = _signed_in(session)
    deactivate_user(session, actor.user_id)
    assert signed_in_by_id(session, session_id, IDLE) is None


def test_a_session_idle_past_the_limit_no_longer_holds_and_use_keeps_it(session):
    _, session_id, token = _signed_in(session)
    _age(session, session_id, "last_seen_at", IDLE - 120)
    assert signed_in_by_token(session, token, IDLE) is not None  # used now: counts from here
    _age(session, session_id, "last_seen_at", IDLE - 120)
    assert signed_in_by_id(session, session_id, IDLE) is not None
    _age(session, session_id, "last_seen_at", IDLE + 1)
    assert signed_in_by_token(session, token, IDLE) is None


def test_signing_out_ends_the_session_for_good(session):
    _, session_id, token = _signed_in(session)
    end_web_session(session, session_id)
    assert signed_in_by_token(session, token, IDLE) is None
    assert signed_in_by_id(session, session_id, IDLE) is None
