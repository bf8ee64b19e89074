"""Local accounts: argon2 password hashes, sign-in with throttling, and a command line.

Who may sign in is a row in `users` (email, display name, role, active flag).
Passwords are stored only as argon2id hashes (`argon2-cffi`, its default
parameters); a user who signs in through single sign-on has no hash and is
matched by email (`active_actor_for_email`).

Sign-in never says whether an email exists: an unknown email, an inactive
user and a wrong password all read "Email or password is wrong", and an unknown
email costs the same argon2 verification as a known one.

Wrong passwords in a row are counted twice in `sign_in_throttle`, and an attempt
waits for the longer of the two waits (`billing_core.access`):

- per client (`client:<address>`, see `client_throttle_key`), whatever the
  emails, known or not: after two free mistakes 2, 4, 8, ... seconds, at most
  15 minutes (30 seconds for the shared `client:unknown` bucket, since it mixes
  strangers with owners). This is what slows a guesser, and what keeps unknown emails from
  buying unlimited argon2 work: a client that must wait is refused before any
  hash is checked.
- per email, from any client: the same doubling but at most 30 seconds. Anyone
  can type someone else's email, so a stranger's wrong guesses delay the owner,
  arriving from another client with the right password, by at most 30 seconds
  after the stranger's last guess, and never lock them out; guessing spread over
  many clients is still held to one guess per 30 seconds per email.

An attempt refused for waiting is not counted (it checks no password). A right
password clears both counts. Each attempt locks both rows (in key order, so two
attempts never deadlock) until its transaction ends: one attempt at a time per
client and per email, so parallel guesses cannot share a count. The client key
never contains "@", so it never collides with an email.

Passwords need at least 10 characters besides spaces at either end; a blank one
is refused as such (`hash_password`).

Command line (uses `DATABASE_URL`, else the embedded server of `.pgdata/`):

    python -m db.users create --email ana@example.com --name "Ana" --role finance
    python -m db.users create --email cs@example.com --role customer_success --password-stdin
    python -m db.users list
    python -m db.users deactivate --email ana@example.com

`create` asks for the password twice (getpass) unless `--password-stdin` reads
one line from standard input; `--sso-only` creates a user without a password.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import math
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from billing_core.access import (
    PERSON_ROLES,
    Actor,
    Role,
    email_sign_in_wait_seconds,
    sign_in_wait_seconds,
)
from billing_core.errors import BillingError, InvalidInput
from db.command_line import command_parser, run_with_database

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both cases cost one argon2 verification.
_DUMMY_HASH = _hasher.hash("ledgerline: no such user")
MIN_PASSWORD_LENGTH = 10
UNKNOWN_CLIENT = "client:unknown"


class SignInRefused(BillingError):
    """Wrong email or password (never says which), or too many attempts: wait `wait_seconds`."""

    def __init__(self, wait_seconds: int = 0) -> None:
        self.wait_seconds = wait_seconds
        if wait_seconds:
            message = (f"Too many wrong passwords for this email or from your network. Try "
                       f"again in {wait_seconds} second{'s' if wait_seconds != 1 else ''}.")
        else:
            message = "Email or password is wrong."
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class UserRow:
    user_id: int
    email: str
    display_name: str
    role: str
    is_active: bool
    has_password: bool
    last_sign_in_at: datetime | None


def hash_password(password: str) -> str:
    """An argon2id hash of `password`: at least 10 characters not counting spaces at either
    end (ten spaces are no password). The password is hashed as typed."""
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    if not password.strip():
        raise InvalidInput("password", "must not be blank")
    if len(password.strip()) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_LENGTH} characters, "
                                       "not counting spaces at either end")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash` (False for no hash or a malformed one)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalize_email(email: str) -> str:
    if not isinstance(email, str) or "@" not in email.strip() or len(email.strip()) < 3:
        raise InvalidInput("email", f"{email!r} is not an email address")
    return email.strip().lower()


def create_user(session: Session, email: str, role: Role | str, password: str | None, *,
                display_name: str | None = None) -> UserRow:
    """Add a user; `password=None` makes a single-sign-on-only user. An email already taken is
    InvalidInput. (An administrator's tool: it is run from the command line, not a screen.)"""
    email = normalize_email(email)
    if role not in PERSON_ROLES:  # a meter is an API key, never a person
        raise InvalidInput("role", f"{role!r} is not one of "
                                   f"{', '.join(r.value for r in PERSON_ROLES)}")
    role = Role(role)
    password_hash = hash_password(password) if password is not None else None
    try:
        with session.begin_nested():
            row = session.execute(text("""
                INSERT INTO users (email, display_name, role, password_hash)
                VALUES (:email, :name, :role, :hash)
                RETURNING user_id, email, display_name, role, is_active,
                          password_hash IS NOT NULL AS has_password, last_sign_in_at
            """), {"email": email, "name": (display_name or "").strip() or email,
                   "role": role.value, "hash": password_hash}).one()
    except IntegrityError:
        raise InvalidInput("email", f"{email} already has an account") from None
    return UserRow(*row)


def deactivate_user(session: Session, email: str) -> None:
    """The user can no longer sign in (their past changes keep naming them)."""
    changed = session.execute(text("UPDATE users SET is_active = false WHERE email = :email "
                                   "RETURNING email"), {"email": normalize_email(email)}).first()
    if changed is None:
        raise InvalidInput("email", f"{email} has no account")


def list_users(session: Session) -> list[UserRow]:
    return [UserRow(*row) for row in session.execute(text("""
        SELECT user_id, email, display_name, role, is_active,
               password_hash IS NOT NULL AS has_password, last_sign_in_at
        FROM users ORDER BY email
    """)).all()]


def any_user_exists(session: Session) -> bool:
    """Whether `users` has a row at all (a first start has none: see `db.database`)."""
    return session.execute(text("SELECT EXISTS (SELECT 1 FROM users)")).scalar_one()


def active_actor_for_email(session: Session, email: str) -> Actor | None:
    """The Actor of an active user with this email, or None (single sign-on: the identity
    provider vouched for the email; the role comes from here)."""
    try:
        email = normalize_email(email)
    except InvalidInput:
        return None
    role = session.execute(text(
        "SELECT role FROM users WHERE email = :email AND is_active"), {"email": email}).scalar()
    return Actor(email, Role(role)) if role else None


def client_throttle_key(address: str | None) -> str:
    """The `sign_in_throttle` key of a client: "client:" and its IPv4 address, or its IPv6
    /64 network (one host usually holds a whole /64 and could take turns through it).

    Without a usable address (the browser is on the same machine, or a reverse proxy does
    not forward the client's address: see docs/deployment.md) every such client shares
    "client:unknown", so their wrong passwords slow each other rather than nobody.
    """
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return UNKNOWN_CLIENT
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        return f"client:{ipaddress.ip_network((ip.exploded, 64), strict=False)}"
    return f"client:{ip}"


def authenticate(session: Session, email: str, password: str, *,
                 client_address: str | None = None) -> Actor:
    """Check a local password from the client at `client_address`; returns the user's Actor or
    raises SignInRefused (wrong, or wait first: see the module docstring).

    Runs in the caller's transaction, which must be committed either way (the failure
    counts are what slow the next guess).
    """
    try:
        email = normalize_email(email)
    except InvalidInput:
        raise SignInRefused() from None
    client = client_throttle_key(client_address)
    failed = {key: _lock_throttle_row(session, key) for key in sorted((email, client))}
    wait = max(_seconds_left(left) for _, left in failed.values())
    if wait:
        raise SignInRefused(wait)
    user = session.execute(text("""
        SELECT email, role, password_hash FROM users WHERE email = :email AND is_active
    """), {"email": email}).first()
    if user is not None and verify_password(user.password_hash, password):
        session.execute(text("""
            UPDATE sign_in_throttle SET failed_attempts = 0, locked_until = NULL
            WHERE email IN (:email, :client)
        """), {"email": email, "client": client})
        session.execute(text("UPDATE users SET last_sign_in_at = now() WHERE email = :email"),
                        {"email": email})
        return Actor(user.email, Role(user.role))
    if user is None:
        verify_password(None, password)  # same cost as a real check
    waits = {email: email_sign_in_wait_seconds(failed[email][0] + 1),
             client: _client_wait_seconds(client, failed[client][0] + 1)}
    for key, key_wait in waits.items():
        session.execute(text("""
            UPDATE sign_in_throttle
            SET failed_attempts = failed_attempts + 1, last_failed_at = clock_timestamp(),
                locked_until = CASE WHEN :wait > 0
                                    THEN clock_timestamp() + make_interval(secs => :wait) END
            WHERE email = :key
        """), {"wait": key_wait, "key": key})
    raise SignInRefused(max(waits.values()))


def _client_wait_seconds(client: str, failed_attempts: int) -> int:
    """The shared "client:unknown" bucket holds strangers and owners alike, so its wait is capped
    like an email's: one stranger's guesses may delay everyone without an address by seconds,
    never lock them out for 15 minutes."""
    if client == UNKNOWN_CLIENT:
        return email_sign_in_wait_seconds(failed_attempts)
    return sign_in_wait_seconds(failed_attempts)


def _lock_throttle_row(session: Session, key: str) -> tuple[int, timedelta]:
    """Lock (creating it if new) the throttle row of `key`: its wrong attempts in a row and how
    long it must still wait. The clock is read now, not at the transaction's start: the
    attempt may have waited for the lock."""
    row = session.execute(text("""
        INSERT INTO sign_in_throttle (email) VALUES (:key)
        ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
        RETURNING failed_attempts,
                  greatest(locked_until - clock_timestamp(), interval '0') AS left_to_wait
    """), {"key": key}).one()
    return row.failed_attempts, row.left_to_wait


def _seconds_left(left: timedelta) -> int:
    """Whole seconds, rounded up (0 only when nothing is left)."""
    return math.ceil(left.total_seconds())


def main(argv: list[str] | None = None) -> int:
    parser, commands = command_parser("users", "Manage Ledgerline's local accounts.")
    create = commands.add_parser("create", help="add a user")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=[role.value for role in PERSON_ROLES])
    create.add_argument("--name", help="display name (default: the email)")
    how = create.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    how.add_argument("--sso-only", action="store_true",
                     help="no password: the user signs in through single sign-on only")
    commands.add_parser("list", help="list users")
    deactivate = commands.add_parser("deactivate", help="stop a user from signing in")
    deactivate.add_argument("--email", required=True)
    args = parser.parse_args(argv)
    return run_with_database(lambda sessions: _run(args, sessions))


def _run(args: argparse.Namespace, sessions: sessionmaker[Session]) -> int | None:
    if args.command == "create":
        password = None
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        elif not args.sso_only:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password again: ") != password:
                print("The passwords differ; nothing was created.", file=sys.stderr)
                return 2
        with sessions.begin() as session:
            user = create_user(session, args.email, args.role, password,
                               display_name=args.name)
        print(f"Created {user.email} ({user.role}).")
    elif args.command == "list":
        with sessions() as session:
            for user in list_users(session):
                print(f"{user.email}\t{user.role}\t"
                      f"{'active' if user.is_active else 'inactive'}\t"
                      f"{'password' if user.has_password else 'sso only'}\t"
                      f"{user.display_name}")
    else:
        with sessions.begin() as session:
            deactivate_user(session, args.email)
        print(f"Deactivated {args.email.strip().lower()}.")
    return None


if __name__ == "__main__":
    raise SystemExit(main())
