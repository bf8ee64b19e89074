"""One invoice as the billing API answers it, the JSON built by PostgreSQL, read together with the
API key that asks for it: one statement, one round trip (`GET /v1/invoices/{tenant}/{id}`).

The statement finds the key's holder by the same indexed lookup as `db.api_keys.key_holder`
(an unknown or revoked key finds nobody: nothing about keys is cached, so a revoked key is
refused from its next request on) and reads the invoice only for a role that the one table of
`billing_core.access` allows to view billing data; the caller still passes the holder through
`require(actor, Permission.VIEW_BILLING)` before it answers. One statement is also one
snapshot, so the lines and the totals always agree.

Money is `{"amount": "1000.00", "currency": "USD"}` as in `api.views`: the minor units scaled
by the currency's exponent from `billing_core.money.CURRENCY_EXPONENTS` (written into the
statement once, here), so "0.00" and "-50.00" read exactly as `str(Money.amount)` reads.
Instants are ISO 8601 in UTC exactly as `datetime.isoformat()` writes them. `exact_amount` is
PostgreSQL's text of the numeric, always in plain digits ("0.0000001", where `str(Decimal)`
wrote "1E-7").

Building the answer in PostgreSQL saves the API process the rows, the Money objects, the
dicts and `json.dumps` (about 60 us of its CPU per read); a backend spends a few more
microseconds on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from billing_core.access import ROLE_PERMISSIONS, Actor, Permission, Role
from billing_core.money import CURRENCY_EXPONENTS
from db.api_keys import KeyHolder, hash_key

# Both tables are written into the statement once, from their one definition, rather than sent
# as parameters with every read (adapting a list cost more than the rest of the parameters).
_VIEWERS = ", ".join(f"'{role.value}'" for role, granted in ROLE_PERMISSIONS.items()
                     if Permission.VIEW_BILLING in granted)
"""The roles that may view billing data: the invoice is read for these only."""
_EXPONENTS = ", ".join(f"('{code}', {exponent})" for code, exponent in CURRENCY_EXPONENTS.items())


def _money(minor: str) -> str:
    return (f"json_build_object('amount', round({minor} / u.unit, u.exponent)::text, "
            "'currency', i.currency)")


def _instant(column: str) -> str:
    """`datetime.isoformat()` of a timestamptz in UTC: six digits of fraction, or none at a
    whole second (PostgreSQL's own JSON drops trailing zeros: ".82596")."""
    return (f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')"""
            f" || CASE WHEN date_trunc('second', {column}) = {column} THEN ''"
            f" ELSE to_char({column}, '.US') END || '+00:00'")


_DOCUMENT = f"""
    WITH holder AS (
        SELECT api_key_id, name, role FROM api_keys
        WHERE key_hash = %(key_hash)s AND revoked_at IS NULL
    )
    SELECT h.api_key_id, h.name, h.role, (
        SELECT json_build_object(
            'tenant', i.tenant_id, 'invoice_id', i.invoice_id, 'number', i.number,
            'period', i.period_label, 'period_start', i.period_start,
            'period_end', i.period_end, 'status', i.status,
            'subtotal', {_money("i.subtotal_minor")}, 'discount', {_money("i.discount_minor")},
            'credit', {_money("i.credit_minor")}, 'total', {_money("i.total_minor")},
            'created_at', {_instant("i.created_at")},
            'finalized_at', {_instant("i.finalized_at")}, 'paid_at', {_instant("i.paid_at")},
            'voided_at', {_instant("i.voided_at")}, 'priced_at', {_instant("i.priced_at")},
            'price_version', i.price_version,
            'lines', coalesce((
                SELECT json_agg(json_build_object(
                    'line_no', l.line_no, 'kind', l.kind, 'description', l.description,
                    'amount', {_money("l.amount_minor")},
                    'exact_amount', l.exact_amount::text, 'explanation', l.explanation)
                    ORDER BY l.line_no)
                FROM invoice_lines l
                WHERE l.tenant_id = i.tenant_id AND l.invoice_id = i.invoice_id), '[]'))::text
        FROM invoices i
        CROSS JOIN LATERAL (
            SELECT e.exponent, 10::numeric ^ e.exponent AS unit
            FROM (VALUES {_EXPONENTS}) AS e (currency, exponent)
            WHERE e.currency = i.currency) AS u
        WHERE i.tenant_id = %(tenant_id)s AND i.invoice_id = %(invoice_id)s
          AND h.role IN ({_VIEWERS})
    )
    FROM holder h
"""


@dataclass(frozen=True, slots=True)
class KeyedDocument:
    holder: KeyHolder | None
    """None: the key is unknown or revoked."""
    document: str | None
    """The invoice's JSON; None when there is no such invoice, or the holder may not view it."""


async def invoice_document(connection: AsyncConnection[Any], key: str, tenant_id: str,
                           invoice_id: int) -> KeyedDocument:
    """The holder of `key` and, if its role may view billing data, the invoice's JSON."""
    cursor = await connection.execute(_DOCUMENT, {
        "key_hash": hash_key(key), "tenant_id": tenant_id, "invoice_id": invoice_id})
    row = await cursor.fetchone()
    if row is None:
        return KeyedDocument(None, None)
    api_key_id, name, role, document = row
    return KeyedDocument(KeyHolder(api_key_id, Actor(name, Role(role))), document)
