"""Requests made twice: the first answer to an `Idempotency-Key`, replayed (SPEC 13).

A client that sends a change with an `Idempotency-Key` header may send it again
(a timeout, a retry, a second worker) and get the first answer back, status and
body byte for byte, without the change happening twice. The same key with
another request (another method, path or body) is refused with
`IdempotencyKeyReused`: a reused key is a client's mistake, never a retry.

Keys are kept per API key (two clients never share a key space) for at least
`KEEP_DAYS` days; older ones are purged a few at a time by later claims.

How the first answer is kept, whatever the timing:

1. `claim` inserts the key's row, without an answer yet, in the transaction
   that will make the change, before anything else is locked;
2. the operation runs in the same transaction, and `remember` stores its answer
   there; the commit publishes the change and the answer together;
3. a second request with the key, arriving meanwhile, waits on the unique key in
   its own `INSERT ... ON CONFLICT DO NOTHING` until the first transaction ends:
   committed, it reads and replays the first answer; rolled back (the change was
   refused: nothing was written, so there is nothing to replay), it claims the
   key itself and makes its own attempt.

So only a change that happened has an answer kept: a refused request leaves no
key behind and can be corrected and sent again with the same key.

The row is bookkeeping of the request, not a billing change: the operation it
wraps passes its own `require` and writes its own audit row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.errors import BillingError, InvalidInput

KEEP_DAYS = 30
MAX_KEY_LENGTH = 255
_PURGE_BATCH = 100


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: str


class IdempotencyKeyReused(BillingError):
    """The key was first used for another request (`first_request` names its method and path)."""

    def __init__(self, key: str, first_request: str) -> None:
        self.key = key
        self.first_request = first_request
        super().__init__(
            f"Idempotency-Key {key!r} was already used for another request ({first_request} "
            "with a different body); send a new key for a new request")


def check_key(key: str) -> str:
    """An idempotency key is 1 to 255 visible ASCII characters."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " < ch <= "~" for ch in key):
        raise InvalidInput("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} visible ASCII "
                                              "characters (no spaces)")
    return key


def claim(session: Session, api_key_id: int, key: str, request: str,
          fingerprint: str) -> StoredResponse | None:
    """Claim `key` for this request in the session's transaction (see the module docstring).

    Returns None when this request is the key's first: the caller answers it and calls
    `remember` before committing. Returns the first answer when the key was used for the
    same request (`fingerprint`) before; raises IdempotencyKeyReused when for another.
    """
    check_key(key)
    _purge_expired(session)
    claimed = session.execute(text("""
        INSERT INTO api_idempotency_keys (api_key_id, idempotency_key, request, fingerprint)
        VALUES (:api_key_id, :key, :request, :fingerprint)
        ON CONFLICT (api_key_id, idempotency_key) DO NOTHING
        RETURNING 1
    """), {"api_key_id": api_key_id, "key": key, "request": request,
           "fingerprint": fingerprint}).first()
    if claimed is not None:
        return None
    first = session.execute(text("""
        SELECT request, fingerprint, response_status, response_body FROM api_idempotency_keys
        WHERE api_key_id = :api_key_id AND idempotency_key = :key
    """), {"api_key_id": api_key_id, "key": key}).one()
    if first.fingerprint != fingerprint:
        raise IdempotencyKeyReused(key, first.request)
    return StoredResponse(first.response_status, first.response_body)


def remember(session: Session, api_key_id: int, key: str, response: StoredResponse) -> None:
    """Store the answer to the request that claimed `key`, in the same transaction."""
    session.execute(text("""
        UPDATE api_idempotency_keys SET response_status = :status, response_body = :body
        WHERE api_key_id = :api_key_id AND idempotency_key = :key
    """), {"status": response.status, "body": response.body, "api_key_id": api_key_id,
           "key": key})


def _purge_expired(session: Session) -> None:
    # A few at a time, skipping rows another purge holds: purging never makes a request wait.
    session.execute(text("""
        DELETE FROM api_idempotency_keys WHERE ctid IN (
            SELECT ctid FROM api_idempotency_keys
            WHERE created_at < now() - make_interval(days => :days)
            LIMIT :batch FOR UPDATE SKIP LOCKED)
    """), {"days": KEEP_DAYS, "batch": _PURGE_BATCH})
