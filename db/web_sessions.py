"""Sign-in sessions kept by the server: what lets a sign-in survive a reload or a typed link.

A Streamlit session ends with its browser tab's connection, so a sign-in kept only there
is lost on every reload. Here a sign-in is a `web_sessions` row, and the browser proves
it holds one with a random token (256 bits) in an HttpOnly cookie
(`ledgerline_ui/shell/session_cookie.py`). The row stores the token's SHA-256, never the token:
a copy of the table signs nobody in. (A fast hash is enough for a random token; slow
hashes are for passwords people choose.)

The sign-in's script run cannot set a cookie, so a session starts with a one-time
handoff instead of a token: the page asks the server's cookie route to trade it, within
`HANDOFF_SECONDS`, for the token, which only the cookie ever carries.

A session holds while its user is active in the role it was granted in, and was used
within the idle limit; `actor_for_token` checks all three in one indexed query. Signing
out deletes the row; a trigger deletes a user's rows in the same transaction as a change
of role, active flag, password or email (migration 0014), whichever tool makes it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Role

HANDOFF_SECONDS = 60
TOUCH_EVERY_SECONDS = 60
"""`last_seen_at` is written at most this often per session: one write a minute, not one per
click, and the idle limit is counted in minutes anyway."""


def digest(secret: str) -> bytes:
    """The SHA-256 of a token or handoff: what the table stores."""
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session that holds: its row and who it signs in."""

    session_id: int
    actor: Actor


def start_web_session(session: Session, actor: Actor) -> tuple[int, str]:
    """A new session for `actor`, who has just signed in: (its id, its one-time handoff).

    Also forgets sessions whose handoff was never traded (a tab closed at once)."""
    session.execute(text("DELETE FROM web_sessions WHERE handoff_expires_at < now()"))
    handoff = secrets.token_urlsafe(32)
    session_id = session.execute(text("""
        INSERT INTO web_sessions (email, role, handoff_hash, handoff_expires_at)
        VALUES (:email, :role, :handoff_hash, now() + make_interval(secs => :seconds))
        RETURNING session_id
    """), {"email": actor.user_id, "role": actor.role.value, "handoff_hash": digest(handoff),
           "seconds": HANDOFF_SECONDS}).scalar_one()
    return session_id, handoff


def redeem_handoff(session: Session, handoff: str) -> str | None:
    """The session's token, for the cookie, in exchange for its handoff (once, in time);
    None for a handoff that is unknown, used or late."""
    token = secrets.token_urlsafe(32)
    traded = session.execute(text("""
        UPDATE web_sessions
        SET token_hash = :token_hash, handoff_hash = NULL, handoff_expires_at = NULL,
            last_seen_at = now()
        WHERE handoff_hash = :handoff_hash AND handoff_expires_at > now()
        RETURNING session_id
    """), {"token_hash": digest(token), "handoff_hash": digest(handoff)}).first()
    return token if traded is not None else None


def signed_in_by_token(session: Session, token: str, idle_seconds: int) -> SignedIn | None:
    """The session the cookie's token names, if it holds (see `_holding`)."""
    if not token:
        return None
    return _holding(session, "w.token_hash = :key", digest(token), idle_seconds)


def signed_in_by_id(session: Session, session_id: int, idle_seconds: int) -> SignedIn | None:
    """The session `session_id`, if it holds: checked on every run of every screen."""
    return _holding(session, "w.session_id = :key", session_id, idle_seconds)


def _holding(session: Session, where: str, key: object, idle_seconds: int) -> SignedIn | None:
    """The session, or None: no such session (signed out, revoked), used longer than
    `idle_seconds` ago, or its user is no longer active in the role it was granted in (a
    session still trading its handoff holds too: its tab is signed in). One that holds
    counts as used now."""
    row = session.execute(text(f"""
        SELECT w.session_id, u.email, u.role,
               w.last_seen_at < now() - make_interval(secs => :touch) AS stale
        FROM web_sessions w JOIN users u ON u.email = w.email
        WHERE {where} AND u.is_active AND u.role = w.role
          AND w.last_seen_at > now() - make_interval(secs => :idle)
    """), {"key": key, "idle": idle_seconds, "touch": TOUCH_EVERY_SECONDS}).first()  # noqa: S608 (where is one of two constants above)
    if row is None:
        return None
    if row.stale:
        session.execute(text("UPDATE web_sessions SET last_seen_at = now() "
                             "WHERE session_id = :id"), {"id": row.session_id})
    return SignedIn(row.session_id, Actor(row.email, Role(row.role)))


def end_web_session(session: Session, session_id: int) -> None:
    """Sign the session out, for good (its cookie then names nothing)."""
    session.execute(text("DELETE FROM web_sessions WHERE session_id = :id"), {"id": session_id})
