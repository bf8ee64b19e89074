"""API keys: who may call the billing HTTP API (`api/`), and in which role.

A key is given to one client (a platform job, a meter) under a unique name, the
name the audit log records as the actor of every change the client makes. Each
key carries one role of `billing_core.access`, so an API call is allowed exactly
what a person of that role is allowed; the machine-only `meter` role may only
send usage events.

The key is shown once, when it is created, and only its SHA-256 is stored. A key
is 256 random bits (`secrets.token_urlsafe(32)`), so nothing can be guessed from
its hash: a slow password hash (argon2, as for people's passwords) would add tens
of milliseconds to every request and protect nothing more. Equal hashes are found
through a unique index, one indexed read per request. A revoked key is refused
from the next request on: nothing caches keys (the busiest read, one invoice, looks
its key up in the same statement, so the lookup costs no round trip of its own).

Creating and revoking a key are changes like any other: they take a finance
`Actor`, pass `require(actor, Permission.MANAGE_API_KEYS)`, and write their audit
row in the same transaction. The command line acts as finance under `--actor`:

    python -m db.api_keys create --name meter-eu --role meter   # the key alone on the last line
    python -m db.api_keys list
    python -m db.api_keys revoke --name meter-eu
"""

from __future__ import annotations

import argparse
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from billing_core.access import Actor, Permission, Role, require
from billing_core.errors import InvalidInput
from db.audit import AuditRecord, record_audit
from db.command_line import command_parser, run_with_database

KEY_PREFIX = "ll_"
"""Every key starts so, which lets secret scanners and people recognize one."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    api_key_id: int
    name: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just created: `key` is the secret, shown once and stored nowhere."""

    row: ApiKeyRow
    key: str


def hash_key(key: str) -> str:
    """The stored form of a key: its SHA-256 in hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(session: Session, name: str, role: Role | str, *, actor: Actor) -> NewApiKey:
    """A new key named `name` (lower-case letters, digits, '.', '_', '-'; at most 63; unique
    among every key ever made, revoked or not, so the audit log's actor stays one client)."""
    require(actor, Permission.MANAGE_API_KEYS)
    name = _checked_name(name)
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput("role", f"{role!r} is not one of "
                                   f"{', '.join(r.value for r in Role)}") from None
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        with session.begin_nested():
            row = session.execute(text("""
                INSERT INTO api_keys (name, role, key_hash, created_by)
                VALUES (:name, :role, :key_hash, :actor)
                RETURNING api_key_id, name, role, created_at, created_by, revoked_at, revoked_by
            """), {"name": name, "role": role.value, "key_hash": hash_key(key),
                   "actor": actor.user_id}).one()
    except IntegrityError:
        raise InvalidInput("name", f"{name} is already the name of an API key") from None
    created = ApiKeyRow(*row)
    record_audit(session, AuditRecord(actor, "api_key.created", "api_key", str(created.api_key_id),
                                      after={"name": name, "role": role.value}))
    return NewApiKey(created, key)


def revoke_api_key(session: Session, name: str, *, actor: Actor) -> ApiKeyRow:
    """Refuse the key named `name` from now on. Revoking a revoked key changes nothing."""
    require(actor, Permission.MANAGE_API_KEYS)
    row = session.execute(text("""
        SELECT api_key_id, name, role, created_at, created_by, revoked_at, revoked_by
        FROM api_keys WHERE name = :name FOR UPDATE
    """), {"name": name.strip().lower()}).first()
    if row is None:
        raise InvalidInput("name", f"no API key is named {name.strip()!r}")
    if row.revoked_at is not None:
        return ApiKeyRow(*row)
    revoked = ApiKeyRow(*session.execute(text("""
        UPDATE api_keys SET revoked_at = now(), revoked_by = :actor WHERE api_key_id = :id
        RETURNING api_key_id, name, role, created_at, created_by, revoked_at, revoked_by
    """), {"actor": actor.user_id, "id": row.api_key_id}).one())
    record_audit(session, AuditRecord(actor, "api_key.revoked", "api_key", str(row.api_key_id),
                                      before={"name": row.name, "revoked": False},
                                      after={"name": row.name, "revoked": True}))
    return revoked


def list_api_keys(session: Session) -> list[ApiKeyRow]:
    return [ApiKeyRow(*row) for row in session.execute(text("""
        SELECT api_key_id, name, role, created_at, created_by, revoked_at, revoked_by
        FROM api_keys ORDER BY name
    """))]


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """Who sent a request: the key's id (idempotency keys are kept per key) and its Actor."""

    api_key_id: int
    actor: Actor


_HOLDER = """
    SELECT api_key_id, name, role FROM api_keys
    WHERE key_hash = %(key_hash)s AND revoked_at IS NULL
"""
"""One read through the unique index on key_hash (`db.reads.invoice_document` reads the key
the same way inside its statement)."""


def key_holder(session: Session, key: str) -> KeyHolder | None:
    """The holder of an active key, or None for an unknown or revoked one."""
    row = session.connection().exec_driver_sql(_HOLDER, {"key_hash": hash_key(key)}).first()
    return None if row is None else KeyHolder(row.api_key_id, Actor(row.name, Role(row.role)))


def _checked_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name.strip().lower()):
        raise InvalidInput("name", f"{name!r} is not a key name: lower-case letters, digits, "
                                   "'.', '_' or '-', at most 63, starting with a letter or digit")
    return name.strip().lower()


def main(argv: list[str] | None = None) -> int:
    parser, commands = command_parser("api_keys", "Manage the billing API's keys.")
    parser.add_argument("--actor", default="api-keys",
                        help="who the audit log names, acting as finance (default: api-keys)")
    create = commands.add_parser("create", help="make a key; prints it alone on the last line")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    commands.add_parser("list", help="list keys (never the keys themselves)")
    revoke = commands.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    return run_with_database(lambda sessions: _run(args, sessions))


def _run(args: argparse.Namespace, sessions: sessionmaker[Session]) -> None:
    actor = Actor(args.actor, Role.FINANCE)
    if args.command == "create":
        with sessions.begin() as session:
            made = create_api_key(session, args.name, args.role, actor=actor)
        print(f"Created API key {made.row.name} ({made.row.role}). It is shown only now; "
              "send it as 'Authorization: Bearer <key>':")
        print(made.key)
    elif args.command == "list":
        with sessions() as session:
            for row in list_api_keys(session):
                state = (f"revoked {row.revoked_at:%Y-%m-%d %H:%M}Z" if row.revoked_at
                         else "active")
                print(f"{row.name}\t{row.role}\t{state}\tcreated {row.created_at:%Y-%m-%d} "
                      f"by {row.created_by}")
    else:
        with sessions.begin() as session:
            revoked = revoke_api_key(session, args.name, actor=actor)
        print(f"Revoked API key {revoked.name}.")


if __name__ == "__main__":
    raise SystemExit(main())
