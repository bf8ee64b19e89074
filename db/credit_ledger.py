"""The tenant's credit balance: an append-only ledger, and the tenant lock that keeps it right.

A credit balance is money the company owes a tenant, waiting for the tenant's
next invoice. It is never a number that is overwritten: every movement is a
row of `credit_ledger`, and the balance is the latest row's
`balance_after_minor` (no row: zero). Three kinds of movement exist
(`billing_core.credit_ledger.LedgerEntryKind`), each with its sign:

- `credit_added` (+): the part of a service credit that no draft could take;
- `consumed` (-): what a newly generated invoice took off its total;
- `returned_on_void` (+): the credit a voided invoice carried, given back once.

Each row carries the balance after it, so an append reads the latest row and
writes the next one. Two appends for one tenant at once would read the same
balance and lose a movement; so every append, and every read that decides a
movement (where a credit lands, the four-eyes window, an idempotency key),
happens under the tenant's row lock, `lock_tenants`. It is `FOR NO KEY
UPDATE`: rows that merely reference the tenant (usage records, say) can still
be written while it is held. The database backs the arithmetic
(`ck_credit_ledger_balance_not_negative`, `ck_credit_ledger_sign_matches_kind`).

Lock order, so that no two transactions ever wait for each other in a circle:
the giver (`db.four_eyes.lock_giver`), then the tenants in tenant-id order,
then invoices. `lock_tenants` takes a whole set in that order in one statement
(month-end locks thousands of tenants at once), whatever order it is given;
a transaction needing several tenants takes them in one call.

Every function takes the caller's session and never commits. Appends write
their audit rows (`credit_balance.added`, `.consumed`, `.returned`) in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from billing_core.access import Actor
from billing_core.credit_ledger import ADDING_KINDS, LedgerEntryKind
from billing_core.money import Money
from db.audit import AuditRecord, record_audits, require_actor
from db.errors import NotFound

# --- the tenant lock ------------------------------------------------------------------------


def lock_tenants(session: Session, tenant_ids: Iterable[str]) -> dict[str, str]:
    """Lock the tenants' rows until the transaction ends, in tenant-id order whatever the
    order given (so two overlapping sets never deadlock); returns tenant id -> currency
    for the tenants that exist."""
    rows = session.execute(text("""
        SELECT tenant_id, currency FROM tenants WHERE tenant_id = ANY(:tenant_ids)
        ORDER BY tenant_id FOR NO KEY UPDATE
    """), {"tenant_ids": list(tenant_ids)})
    return dict(rows.all())


def lock_tenants_selected_by(session: Session, tenant_ids_query: str,
                             parameters: Mapping[str, object] | None = None, *,
                             asking: str = "NULL") -> object:
    """`lock_tenants` for the tenants a SQL query selects (`SELECT tenant_id FROM ...`, with
    its `parameters`): the same lock in the same order, for sets too large to send back (a
    usage import of 100,000 tenants). `asking`: an SQL expression the same statement answers
    (one round trip where a caller has a question beside the lock), returned."""
    return session.execute(_locking(tenant_ids_query, asking),
                           dict(parameters or {})).one()[0]


@cache
def _locking(tenant_ids_query: str, asking: str) -> TextClause:
    # Made once per query (callers pass fixed SQL): SQLAlchemy reads a text's bind
    # parameters with a regular expression each time one is made (a usage batch's: 0.1 ms).
    return text(f"""
        SELECT ({asking}), (
            SELECT count(*) FROM (
                SELECT FROM tenants WHERE tenant_id IN ({tenant_ids_query})
                ORDER BY tenant_id FOR NO KEY UPDATE) AS locked)
    """)


def lock_tenant(session: Session, tenant_id: str) -> str:
    """Lock one tenant's row (see `lock_tenants`) and return its currency; NotFound if none."""
    currency = lock_tenants(session, [tenant_id]).get(tenant_id)
    if currency is None:
        raise NotFound("tenant", tenant_id)
    return currency


def tenant_currency(session: Session, tenant_id: str) -> str:
    """The currency the tenant is billed in, and its balance kept in; no lock. NotFound if none."""
    currency = session.execute(text(
        "SELECT currency FROM tenants WHERE tenant_id = :tenant_id"), {"tenant_id": tenant_id}
    ).scalar()
    if currency is None:
        raise NotFound("tenant", tenant_id)
    return currency


# --- the balance ----------------------------------------------------------------------------


def balance_minor_sql(tenant_id: str) -> str:
    """The balance rule as a SQL expression, for queries that read it beside other columns:
    the latest ledger row's balance in minor units, 0 without one, for the tenant id that the
    SQL `tenant_id` names (a column such as "t.tenant_id", or a bind parameter). One index
    probe of `pk_credit_ledger` per tenant."""
    return f"""coalesce((SELECT latest.balance_after_minor FROM credit_ledger latest
                         WHERE latest.tenant_id = {tenant_id}
                         ORDER BY latest.entry_id DESC LIMIT 1), 0)"""


def credit_balance(session: Session, tenant_id: str) -> Money:
    """The tenant's credit balance now; NotFound for an unknown tenant. Read it under
    `lock_tenant` when it decides a movement."""
    row = session.execute(text(f"""
        SELECT t.currency, {balance_minor_sql("t.tenant_id")} AS balance_minor
        FROM tenants t WHERE t.tenant_id = :tenant_id
    """), {"tenant_id": tenant_id}).first()
    if row is None:
        raise NotFound("tenant", tenant_id)
    return Money.from_minor_units(row.balance_minor, row.currency)


def credit_balances_minor(session: Session, tenant_ids: Sequence[str]) -> dict[str, int]:
    """tenant id -> balance in minor units, for the tenants of `tenant_ids` that have a ledger
    (most have none, and are left out: their balance is 0). One statement for a batch."""
    rows = session.execute(text("""
        SELECT DISTINCT ON (tenant_id) tenant_id, balance_after_minor
        FROM credit_ledger WHERE tenant_id = ANY(:tenant_ids)
        ORDER BY tenant_id, entry_id DESC
    """), {"tenant_ids": list(tenant_ids)})
    return dict(rows.all())


def outstanding_balances(session: Session) -> tuple[Money, ...]:
    """Every tenant's balance added up, one amount per currency (zero totals left out).

    The sum runs in PostgreSQL over integer minor units (exact: `sum(bigint)` is `numeric`),
    so a million tenants cost one aggregate, not a million rows."""
    rows = session.execute(text("""
        SELECT currency, sum(balance_after_minor) FROM (
            SELECT DISTINCT ON (tenant_id) currency, balance_after_minor FROM credit_ledger
            ORDER BY tenant_id, entry_id DESC) AS latest
        GROUP BY currency ORDER BY currency
    """))
    return tuple(Money.from_minor_units(int(balance_minor), currency)
                 for currency, balance_minor in rows if balance_minor)


# --- appending ------------------------------------------------------------------------------


_AUDIT_ACTIONS = {
    LedgerEntryKind.CREDIT_ADDED: "credit_balance.added",
    LedgerEntryKind.CONSUMED: "credit_balance.consumed",
    LedgerEntryKind.RETURNED_ON_VOID: "credit_balance.returned",
}


def _sign(kind: LedgerEntryKind) -> int:
    return 1 if kind in ADDING_KINDS else -1


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One movement to append: `amount` (more than zero; `kind` gives the sign) for
    `tenant_id`, naming the credit it comes from (`credit_added`) or the invoice
    (`consumed`, `returned_on_void`; `invoice_label` names it in the return's audit)."""

    tenant_id: str
    kind: LedgerEntryKind
    amount: Money
    credit_id: int | None = None
    invoice_id: int | None = None
    invoice_label: str | None = None


@dataclass(frozen=True, slots=True)
class BalanceChange:
    """What an appended entry did to its tenant's balance."""

    entry: LedgerEntry
    before: Money
    after: Money


def append_entries(session: Session, entries: Sequence[LedgerEntry],
                   actor: Actor) -> list[BalanceChange]:
    """Append `entries` (at most one per tenant) with one statement, each on top of its
    tenant's latest balance, and an audit row for each; returns the changes in `entries`'
    order. The caller holds the tenants' locks (`lock_tenants`)."""
    require_actor(actor)
    if not entries:
        return []
    for entry in entries:
        if entry.amount.is_negative or entry.amount.is_zero:
            raise ValueError(f"a ledger entry moves more than zero, not {entry.amount}")
    if len({entry.tenant_id for entry in entries}) != len(entries):
        # One statement reads each tenant's latest row once: a second entry would miss the first.
        raise ValueError("append at most one ledger entry per tenant at a time")
    after_minor: dict[str, int] = dict(session.execute(text(f"""
        INSERT INTO credit_ledger (tenant_id, entry_kind, amount_minor, balance_after_minor,
                                   currency, credit_id, invoice_id, actor)
        SELECT e.tenant_id, e.entry_kind, e.amount_minor,
               {balance_minor_sql("e.tenant_id")} + e.amount_minor,
               e.currency, e.credit_id, e.invoice_id, :actor
        FROM unnest(CAST(:tenant_ids AS text[]), CAST(:kinds AS text[]),
                    CAST(:amounts AS bigint[]), CAST(:currencies AS text[]),
                    CAST(:credit_ids AS bigint[]), CAST(:invoice_ids AS bigint[]))
             AS e(tenant_id, entry_kind, amount_minor, currency, credit_id, invoice_id)
        RETURNING tenant_id, balance_after_minor
    """), {
        "actor": actor.user_id,
        "tenant_ids": [entry.tenant_id for entry in entries],
        "kinds": [entry.kind.value for entry in entries],
        "amounts": [_sign(entry.kind) * entry.amount.to_minor_units() for entry in entries],
        "currencies": [entry.amount.currency for entry in entries],
        "credit_ids": [entry.credit_id for entry in entries],
        "invoice_ids": [entry.invoice_id for entry in entries],
    }).all())
    changes = []
    for entry in entries:
        after = Money.from_minor_units(after_minor[entry.tenant_id], entry.amount.currency)
        changes.append(BalanceChange(entry, after - entry.amount * _sign(entry.kind), after))
    record_audits(session, (_audit(change, actor) for change in changes))
    return changes


def _audit(change: BalanceChange, actor: Actor) -> AuditRecord:
    entry, currency = change.entry, change.entry.amount.currency
    after: dict[str, object] = {"balance_minor": change.after.to_minor_units(),
                                "currency": currency}
    if entry.kind is LedgerEntryKind.CREDIT_ADDED:
        entity, entity_id = "credit", entry.credit_id
    else:
        entity, entity_id = "invoice", entry.invoice_id
    if entry.kind is LedgerEntryKind.RETURNED_ON_VOID:
        after |= {"returned_minor": entry.amount.to_minor_units(), "invoice": entry.invoice_label}
    return AuditRecord(actor, _AUDIT_ACTIONS[entry.kind], entity, str(entity_id),
                       entry.tenant_id,
                       before={"balance_minor": change.before.to_minor_units(),
                               "currency": currency},
                       after=after)
