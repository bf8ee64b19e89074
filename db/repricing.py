"""Pricing drafts again when what they are priced from changes (SPEC 11, 12, 13).

A plan change, a discount or usage that lands inside a period whose invoice is
still a draft re-prices that draft in the same transaction: the draft must
always say what its inputs say. `reprice_drafts` is the one way to do it, for
any number of (tenant, period) pairs at once:

1. lock the tenants (`db.credit_ledger.lock_tenants`: one statement, tenant-id
   order), then their drafts for those periods (`FOR UPDATE`, invoice-id order):
   the documented lock order, so it never deadlocks with generation, credits or
   voiding; a finalize waits for the draft's lock, then sees the new version;
2. load the pricing inputs set-based (`db.pricing_inputs`, as generation does)
   and price with `billing_core.invoices.price_invoice`, without any credit
   balance: the credits the draft already carries are kept as they are
   (`billing_core.drafts.keep_credits`);
3. drafts whose lines come out unchanged are left alone (no new version, so a
   reviewer's version stays good; stored lines are read only for drafts whose
   totals came out the same, or that carry credit); the others get their totals, `priced_at`
   (the transaction's time) and `price_version + 1` in one UPDATE, their lines
   replaced (DELETE, then COPY), and one `invoice.repriced` audit row each with
   the totals and version before and after.

Periods with no draft (none generated yet, or already finalized) are not
touched here; refusing a change inside a finalized period is the caller's rule
(`billing_core.subscriptions`). Nothing is committed; the caller owns the
transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.drafts import RepricedBreakdown, keep_credits
from billing_core.invoices import price_invoice
from billing_core.lines import InvoiceLine, LineKind
from billing_core.money import Money
from billing_core.periods import Period
from db.audit import require_actor
from db.bulk import copy_rows
from db.collector import collector_paused
from db.credit_ledger import lock_tenants
from db.late_usage import restore_late_lines
from db.models import InvoiceLine as InvoiceLineRow
from db.pricing_inputs import PricingInputs, load_pricing_inputs
from db.statement_worker import StatementWorker


@dataclass(frozen=True, slots=True)
class RepricedDraft:
    """One draft priced again: its totals before and after, and its new version."""

    tenant_id: str
    invoice_id: int
    period_label: str
    total_before: Money
    total_after: Money
    price_version: int
    priced_at: datetime


@dataclass(frozen=True, slots=True)
class _Draft:
    tenant_id: str
    invoice_id: int
    period: Period
    currency: str
    subtotal_minor: int
    discount_minor: int
    credit_minor: int
    total_minor: int


_LineKey = tuple[str, str, int, Decimal]  # kind, description, amount_minor, exact_amount

CHUNK = 5_000
"""Drafts priced per chunk (`StatementWorker`: a chunk is priced while the server reads the
next one's inputs and writes the one before it). Each chunk costs its own statements (and,
on small tables, a scan each); more chunks overlap more, which pays only where a core is
free. Measured on 10,000 drafts at load 5-6 (other work on the 2 cores): 1,000 a chunk
3,388-3,798 drafts/s, 2,500 3,808-3,858, 5,000 4,139-4,254."""


def reprice_drafts(session: Session, periods: Iterable[tuple[str, Period]], *, actor: Actor,
                   cause: str, allowed_by: Permission = Permission.GENERATE_INVOICES
                   ) -> list[RepricedDraft]:
    """Price again the drafts of the given (tenant id, period) pairs, in the caller's
    transaction; returns the drafts whose lines changed (in tenant, invoice order).

    `cause` says why, in the audit row ("plan change from 2024-11-16"). A period is
    named by its `Period` (its start identifies it); pairs without a draft are skipped.
    `allowed_by` is the permission of the change that makes the drafts stale (a plan
    change: CHANGE_SUBSCRIPTIONS; usage: SEND_USAGE): re-pricing is part of that change,
    and the actor must hold it. Raises `billing_core.drafts.CreditsExceedNewTotal`
    (nothing written) when a draft's new total could not hold the credits it carries.
    """
    require(require_actor(actor), allowed_by)
    wanted = sorted({(tenant_id, period.start) for tenant_id, period in periods})
    if not wanted:
        return []
    with collector_paused():  # a bulk change builds ~100 objects per draft, all kept
        return _reprice(session, wanted, actor, cause)


def _reprice(session: Session, wanted: Sequence[tuple[str, date]], actor: Actor,
             cause: str) -> list[RepricedDraft]:
    lock_tenants(session, sorted({tenant_id for tenant_id, _ in wanted}))
    drafts = _lock_drafts(session, wanted)
    if not drafts:
        return []
    # Only drafts carrying credit need their credit lines before pricing.
    stored = _stored_lines(session, [d for d in drafts if d.credit_minor])
    chunks = [drafts[start:start + CHUNK] for start in range(0, len(drafts), CHUNK)]
    # Each chunk is priced while the server reads the next chunks' inputs and writes the
    # chunk before it (re-pricing writes nothing those inputs are read from). A refusal found
    # in a later chunk (CreditsExceedNewTotal) takes back the earlier chunks' writes with the
    # savepoint: nothing is written, as when there is one chunk.
    savepoint = session.begin_nested() if len(chunks) > 1 else None
    changed: list[tuple[_Draft, RepricedBreakdown]] = []
    written: list[Future[dict[int, tuple[int, datetime]]]] = []
    try:
        with StatementWorker() as worker:
            inputs = [worker.submit(_load_inputs, session, chunk) for chunk in chunks]
            for chunk, chunk_inputs in zip(chunks, inputs, strict=True):
                chunk_changed = _price_chunk(session, worker, chunk, chunk_inputs.result(),
                                             stored)
                if chunk_changed:
                    changed.extend(chunk_changed)
                    written.append(worker.submit(_write_chunk, session, chunk_changed, actor,
                                                 cause))
    except BaseException:
        if savepoint is not None:
            savepoint.rollback()
        raise
    if savepoint is not None:
        savepoint.commit()
    if not changed:
        return []
    versions = {invoice_id: version for future in written
                for invoice_id, version in future.result().items()}
    # Late usage billed on a draft (SPEC 12) is not priced from the draft's own period: the
    # lines just written left it out, so it is put back as it was billed (db.late_usage).
    restore_late_lines(session, [(draft.tenant_id, draft.invoice_id) for draft, _ in changed])
    return [RepricedDraft(draft.tenant_id, draft.invoice_id, draft.period.label,
                          Money.from_minor_units(draft.total_minor, draft.currency),
                          breakdown.total, *versions[draft.invoice_id])
            for draft, breakdown in changed]


def _load_inputs(session: Session, drafts: Sequence[_Draft]
                 ) -> dict[Period, dict[str, PricingInputs]]:
    """The drafts' pricing inputs, by period, then tenant."""
    return {period: load_pricing_inputs(session, {d.tenant_id: d.currency for d in in_period},
                                        period)
            for period, in_period in _by_period(drafts).items()}


def _price_chunk(session: Session, worker: StatementWorker, drafts: Sequence[_Draft],
                 inputs: Mapping[Period, Mapping[str, PricingInputs]],
                 stored: dict[int, tuple[list[_LineKey], list[InvoiceLine]]]
                 ) -> list[tuple[_Draft, RepricedBreakdown]]:
    """The chunk's drafts priced again: those whose lines changed. Reads go through `worker`,
    which owns the session meanwhile."""
    priced_drafts: list[tuple[_Draft, RepricedBreakdown]] = []
    for draft in drafts:
        tenant_inputs = inputs[draft.period][draft.tenant_id]
        priced = price_invoice(draft.period, tenant_inputs.plan_changes, tenant_inputs.usage,
                               tenant_inputs.discounts)
        credit_lines = stored[draft.invoice_id][1] if draft.credit_minor else []
        priced_drafts.append((draft, keep_credits(f"#{draft.invoice_id}", priced,
                                                  credit_lines)))
    # New totals mean new lines; only drafts whose totals came out the same are compared
    # line by line (a bulk change reads no stored line it does not need).
    same_totals = {draft.invoice_id: draft for draft, breakdown in priced_drafts
                   if _totals(breakdown) == _stored_totals(draft)}
    unread = [draft for draft in same_totals.values() if not draft.credit_minor]
    if unread:
        stored.update(worker.run(_stored_lines, session, unread))
    return [(draft, breakdown) for draft, breakdown in priced_drafts
            if draft.invoice_id not in same_totals
            or [_key(line) for line in breakdown.lines] != stored[draft.invoice_id][0]]


def _write_chunk(session: Session, changed: Sequence[tuple[_Draft, RepricedBreakdown]],
                 actor: Actor, cause: str) -> dict[int, tuple[int, datetime]]:
    """Store the chunk's new totals (with their audit rows), then its lines; returns invoice
    id -> (version, priced_at)."""
    versions = _update_invoices(session, changed, actor, cause)
    session.execute(text("""
        DELETE FROM invoice_lines l USING unnest(CAST(:tenant_ids AS text[]),
                                                 CAST(:invoice_ids AS bigint[])) AS k(t, i)
        WHERE l.tenant_id = k.t AND l.invoice_id = k.i
    """), {"tenant_ids": [d.tenant_id for d, _ in changed],
           "invoice_ids": [d.invoice_id for d, _ in changed]})
    copy_rows(
        session, InvoiceLineRow.__tablename__,
        ("tenant_id", "invoice_id", "line_no", "kind", "description", "amount_minor",
         "exact_amount", "explanation"),
        ((draft.tenant_id, draft.invoice_id, line_no, line.kind.value, line.description,
          line.amount_minor, line.exact_amount, line.explanation)
         for draft, breakdown in changed
         for line_no, line in enumerate(breakdown.lines, start=1)))
    return versions


def _lock_drafts(session: Session, wanted: Sequence[tuple[str, date]]) -> list[_Draft]:
    rows = session.execute(text("""
        SELECT i.tenant_id, i.invoice_id, i.period_start, i.period_end, i.currency,
               i.subtotal_minor, i.discount_minor, i.credit_minor, i.total_minor
        FROM invoices i
        JOIN unnest(CAST(:tenant_ids AS text[]), CAST(:starts AS date[])) AS k(t, s)
          ON i.tenant_id = k.t AND i.period_start = k.s
        WHERE i.status = 'draft'
        ORDER BY i.tenant_id, i.invoice_id
        FOR UPDATE OF i
    """), {"tenant_ids": [tenant_id for tenant_id, _ in wanted],
           "starts": [start for _, start in wanted]})
    return [_Draft(tenant_id, invoice_id, Period(start, end), *rest)
            for tenant_id, invoice_id, start, end, *rest in rows]


def _by_period(drafts: Sequence[_Draft]) -> Mapping[Period, list[_Draft]]:
    grouped: dict[Period, list[_Draft]] = defaultdict(list)
    for draft in drafts:
        grouped[draft.period].append(draft)
    return grouped


def _stored_lines(session: Session, drafts: Sequence[_Draft]
                  ) -> dict[int, tuple[list[_LineKey], list[InvoiceLine]]]:
    """Each draft's lines as stored, in order, as the keys they are compared by, and its
    credit lines, which re-pricing keeps (only those become InvoiceLine values: most lines
    are only compared)."""
    currencies = {draft.invoice_id: draft.currency for draft in drafts}
    rows = session.execute(text("""
        SELECT l.invoice_id, l.kind, l.description, l.amount_minor, l.exact_amount,
               CASE WHEN l.kind = :credit THEN l.explanation END
        FROM invoice_lines l
        JOIN unnest(CAST(:tenant_ids AS text[]), CAST(:invoice_ids AS bigint[])) AS k(t, i)
          ON l.tenant_id = k.t AND l.invoice_id = k.i
        ORDER BY l.invoice_id, l.line_no
    """), {"tenant_ids": [draft.tenant_id for draft in drafts],
           "invoice_ids": [draft.invoice_id for draft in drafts], "credit": LineKind.CREDIT})
    stored: dict[int, tuple[list[_LineKey], list[InvoiceLine]]] = {
        draft.invoice_id: ([], []) for draft in drafts}
    for invoice_id, kind, description, amount_minor, exact_amount, explanation in rows:
        keys, credits = stored[invoice_id]
        keys.append((kind, description, amount_minor, exact_amount))
        if explanation is not None:
            credits.append(InvoiceLine(
                LineKind(kind), description,
                Money.from_minor_units(amount_minor, currencies[invoice_id]), exact_amount,
                explanation))
    return stored


def _totals(breakdown: RepricedBreakdown) -> tuple[int, int, int, int]:
    return (breakdown.subtotal.to_minor_units(), breakdown.discount_total.to_minor_units(),
            breakdown.credit.to_minor_units(), breakdown.total.to_minor_units())


def _stored_totals(draft: _Draft) -> tuple[int, int, int, int]:
    return (draft.subtotal_minor, draft.discount_minor, draft.credit_minor, draft.total_minor)


def _key(line: InvoiceLine) -> _LineKey:
    return (line.kind.value, line.description, line.amount_minor,
            line.exact_amount)


def _update_invoices(session: Session, changed: Sequence[tuple[_Draft, RepricedBreakdown]],
                     actor: Actor, cause: str) -> dict[int, tuple[int, datetime]]:
    """New totals, version and time for each changed draft, and its `invoice.repriced` audit
    row; returns invoice id -> (version, priced_at).

    One statement, as generation's: the audit row's `after` is built by the database from
    the row it stored, `before` from the same row as the UPDATE read it (`was`: the
    statement's snapshot, taken under the draft locks), so only the new totals travel.
    Written before the lines, so the lines' freeze triggers find drafts this transaction
    already holds."""
    rows = session.execute(text("""
        WITH k AS (
            SELECT * FROM unnest(
                CAST(:tenant_ids AS text[]), CAST(:invoice_ids AS bigint[]),
                CAST(:subtotals AS bigint[]), CAST(:discounts AS bigint[]),
                CAST(:credits AS bigint[]), CAST(:totals AS bigint[]), CAST(:unused AS bigint[]))
            AS k(tenant_id, invoice_id, subtotal, discount, credit, total, unused)
        ), updated AS (
            UPDATE invoices i
            SET subtotal_minor = k.subtotal, discount_minor = k.discount,
                credit_minor = k.credit, total_minor = k.total, unused_discount_minor = k.unused,
                price_version = i.price_version + 1, priced_at = now()
            FROM k JOIN invoices was USING (tenant_id, invoice_id)
            WHERE i.tenant_id = k.tenant_id AND i.invoice_id = k.invoice_id
            RETURNING i.tenant_id, i.invoice_id, i.period_label, i.currency,
                      jsonb_build_object(
                          'period', was.period_label, 'currency', was.currency,
                          'subtotal_minor', was.subtotal_minor,
                          'discount_minor', was.discount_minor,
                          'credit_minor', was.credit_minor, 'total_minor', was.total_minor,
                          'price_version', was.price_version, 'priced_at', was.priced_at
                      ) AS before,
                      jsonb_build_object(
                          'period', i.period_label, 'currency', i.currency,
                          'subtotal_minor', i.subtotal_minor, 'discount_minor', i.discount_minor,
                          'credit_minor', i.credit_minor, 'total_minor', i.total_minor,
                          'price_version', i.price_version, 'priced_at', i.priced_at,
                          'cause', CAST(:cause AS text)
                      ) AS after,
                      i.price_version, i.priced_at
        ), audited AS (
            INSERT INTO audit_log (actor, actor_role, action, entity, entity_id, tenant_id,
                                   before, after)
            SELECT :actor, :actor_role, 'invoice.repriced', 'invoice', invoice_id::text,
                   tenant_id, before, after
            FROM updated ORDER BY tenant_id, invoice_id
        )
        SELECT invoice_id, price_version, priced_at FROM updated
    """), {
        "actor": actor.user_id, "actor_role": actor.role.value, "cause": cause,
        "tenant_ids": [draft.tenant_id for draft, _ in changed],
        "invoice_ids": [draft.invoice_id for draft, _ in changed],
        "subtotals": [b.subtotal.to_minor_units() for _, b in changed],
        "discounts": [b.discount_total.to_minor_units() for _, b in changed],
        "credits": [b.credit.to_minor_units() for _, b in changed],
        "totals": [b.total.to_minor_units() for _, b in changed],
        "unused": [b.unused_fixed_discount.to_minor_units() for _, b in changed],
    })
    return {invoice_id: (version, priced_at) for invoice_id, version, priced_at in rows}


def reviewed_total(session: Session, tenant_id: str, invoice_id: int,
                   reviewed_version: int) -> Money | None:
    """The draft's total as it stood at `reviewed_version`: read from the audit row of the
    re-pricing that left that version (None when there is none: a version never stored)."""
    row = session.execute(text("""
        SELECT (before->>'total_minor')::bigint, before->>'currency' FROM audit_log
        WHERE tenant_id = :tenant_id AND entity = 'invoice' AND entity_id = :entity_id
          AND action = 'invoice.repriced'
          AND (before->>'price_version')::int = :version
        LIMIT 1
    """), {"tenant_id": tenant_id, "entity_id": str(invoice_id),
           "version": reviewed_version}).first()
    return None if row is None else Money.from_minor_units(row[0], row[1])

