"""Generating draft invoices: one per tenant and period, however often it is asked.

SPEC 8: generating is idempotent. The same request twice, or fifty at once on
fifty connections, yields one invoice and every caller gets its id. Two
things make that true:

1. each tenant still without an invoice is locked (`db.credit_ledger.lock_tenants`:
   one statement, in tenant-id order so two batches never deadlock) and checked
   again under the lock, so concurrent generators for one tenant queue up, and
   the later ones find the invoice the first committed and return it;
2. the database backs the rule regardless of code: the insert is
   `ON CONFLICT DO NOTHING` on the partial unique index "one non-void invoice
   per tenant and period".

The same tenant lock serializes the tenant's credit balance: the balance is
read, consumed and written back (a `consumed` ledger entry, `db.credit_ledger`)
only by the transaction that actually created the invoice.

The batched `generate_invoices` is the only implementation; the single form
and the month-end run both call it. Inputs are loaded set-based
(`db.pricing_inputs`), priced in Python by `billing_core.invoices.price_invoice`,
and written in bulk: one statement inserts the invoices and their audit rows
(built by the database from the rows it stored), then COPY writes the lines.
Nothing is committed here; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.credit_ledger import LedgerEntryKind
from billing_core.errors import BillingError, InvalidInput
from billing_core.invoices import PricedInvoice, price_invoice
from billing_core.periods import Period, monthly_period
from db.audit import require_actor
from db.bulk import copy_rows
from db.credit_ledger import LedgerEntry, append_entries, lock_tenants
from db.errors import NotFound
from db.models import NOT_VOID, InvoiceLine
from db.pricing_inputs import PricingInputs, load_pricing_inputs


@dataclass(frozen=True, slots=True)
class GeneratedInvoice:
    """The one invoice of a tenant and period, and whether this call created it."""

    tenant_id: str
    invoice_id: int
    created: bool


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """What `generate_invoices` did for each tenant asked for.

    `invoice_ids` maps every tenant that has its invoice for the period after the
    call (created now or before) to its id; `created` and `already_present`
    split those tenants; `skipped` maps the others to the reason (a BillingError).
    In a dry run `created` lists the invoices that would be created, and
    `priced` holds them; nothing is written.
    """

    period: Period
    invoice_ids: dict[str, int] = field(default_factory=dict)
    created: frozenset[str] = frozenset()
    already_present: frozenset[str] = frozenset()
    skipped: dict[str, BillingError] = field(default_factory=dict)
    priced: dict[str, PricedInvoice] = field(default_factory=dict)


def generate_invoice(session: Session, tenant_id: str, period: Period, *,
                     actor: Actor) -> GeneratedInvoice:
    """Generate (or find) the tenant's draft invoice for `period`.

    Raises NotFound for an unknown tenant, and the reason as a BillingError when
    there is nothing to bill (no plan in force, a period that is not one of the
    tenant's billing periods, ...).
    """
    result = generate_invoices(session, [tenant_id], period, actor=actor)
    if tenant_id in result.skipped:
        raise result.skipped[tenant_id]
    return GeneratedInvoice(tenant_id, result.invoice_ids[tenant_id],
                            created=tenant_id in result.created)


def generate_invoices(session: Session, tenant_ids: Iterable[str], period: Period, *,
                      actor: Actor, dry_run: bool = False) -> GenerationResult:
    """Generate the draft invoices of many tenants for one `period`, set-based.

    Each tenant gets at most one invoice; tenants that already have one are
    reported, not touched. A dry run takes no locks and writes nothing.
    """
    require(actor, Permission.GENERATE_INVOICES)
    if not isinstance(period, Period):
        raise TypeError(f"period: expected Period, got {type(period).__name__}")
    wanted = sorted(set(tenant_ids))
    tenants = _load_tenants(session, wanted)
    skipped: dict[str, BillingError] = {
        tenant_id: NotFound("tenant", tenant_id) for tenant_id in wanted if tenant_id not in tenants
    }
    anchored: dict[int, Period] = {}  # one billing period per distinct anchor day
    for tenant_id, (_, anchor_day) in tenants.items():
        if anchor_day not in anchored:
            anchored[anchor_day] = monthly_period(anchor_day, period.start)
        if anchored[anchor_day] != period:
            skipped[tenant_id] = InvalidInput(
                "period", f"{period.label} is not a billing period of tenant {tenant_id} "
                          f"(it bills monthly from day {anchor_day})")
    candidates = [tenant_id for tenant_id in tenants if tenant_id not in skipped]
    existing = _existing_invoice_ids(session, candidates, period)
    missing = [tenant_id for tenant_id in candidates if tenant_id not in existing]
    if missing and not dry_run:
        # Guard, lock, re-check: only tenants still without an invoice are locked (a re-run
        # locks nothing), then looked at again now that no one else can create theirs.
        lock_tenants(session, missing)
        existing.update(_existing_invoice_ids(session, missing, period))
    inputs = load_pricing_inputs(
        session, {t: tenants[t][0] for t in candidates if t not in existing}, period)
    priced = _price_all(inputs, period, skipped)
    if dry_run:
        return GenerationResult(period, dict(existing), frozenset(priced),
                                frozenset(existing), skipped, priced)

    minor_totals = {tenant_id: _minor_totals(invoice) for tenant_id, invoice in priced.items()}
    created_ids = _insert_invoices(session, priced, minor_totals, period, actor)
    raced = [tenant_id for tenant_id in priced if tenant_id not in created_ids]
    if raced:
        # Only a writer that skipped the tenant lock can get here; the index kept the rule.
        existing.update(_existing_invoice_ids(session, raced, period))
    created = {tenant_id: priced[tenant_id] for tenant_id in created_ids}
    _insert_lines(session, created_ids, created)
    _consume_credit_balances(session, created_ids, created, actor)
    return GenerationResult(period, {**existing, **created_ids}, frozenset(created_ids),
                            frozenset(existing), skipped, created)


def _minor_totals(invoice: PricedInvoice) -> tuple[int, int, int, int, int]:
    """Subtotal, discount, credit applied, total and unused discount, in minor units."""
    return (invoice.subtotal.to_minor_units(), invoice.discount_total.to_minor_units(),
            invoice.credit_applied.to_minor_units(), invoice.total.to_minor_units(),
            invoice.unused_fixed_discount.to_minor_units())


def _load_tenants(session: Session, tenant_ids: list[str]) -> dict[str, tuple[str, int]]:
    rows = session.execute(text("""
        SELECT tenant_id, currency, billing_anchor_day FROM tenants
        WHERE tenant_id = ANY(:tenant_ids)
    """), {"tenant_ids": tenant_ids})
    return {tenant_id: (currency, anchor_day) for tenant_id, currency, anchor_day in rows}


def _existing_invoice_ids(session: Session, tenant_ids: list[str],
                          period: Period) -> dict[str, int]:
    if not tenant_ids:
        return {}
    rows = session.execute(text(f"""
        SELECT tenant_id, invoice_id FROM invoices
        WHERE tenant_id = ANY(:tenant_ids) AND period_start = :period_start
          AND {NOT_VOID}
    """), {"tenant_ids": tenant_ids, "period_start": period.start})
    return dict(rows.all())


def _price_all(inputs: Mapping[str, PricingInputs], period: Period,
               skipped: dict[str, BillingError]) -> dict[str, PricedInvoice]:
    priced = {}
    for tenant_id, tenant_inputs in inputs.items():
        if not tenant_inputs.plan_changes:
            skipped[tenant_id] = InvalidInput("plan", f"no plan in force in {period.label}")
            continue
        try:
            priced[tenant_id] = price_invoice(
                period, tenant_inputs.plan_changes, tenant_inputs.usage,
                tenant_inputs.discounts, tenant_inputs.credit_balance)
        except BillingError as error:
            skipped[tenant_id] = error
    return priced


def _insert_invoices(session: Session, priced: Mapping[str, PricedInvoice],
                     minor_totals: Mapping[str, tuple[int, int, int, int, int]], period: Period,
                     actor: Actor) -> dict[str, int]:
    """Insert the drafts, each with its 'invoice.generated' audit row (SPEC 10); returns
    tenant id -> invoice id for the rows actually inserted.

    The audit row's `after` (period, totals, line count) is built by the database from
    the row the same statement inserted, so it records what was stored, and no audit row
    exists for a draft that was not."""
    if not priced:
        return {}
    tenant_ids = list(priced)
    subtotals, discounts, credits, totals, unused = zip(
        *(minor_totals[tenant_id] for tenant_id in tenant_ids), strict=True)
    rows = session.execute(text(f"""
        WITH new AS (
            SELECT * FROM unnest(CAST(:tenant_ids AS text[]), CAST(:currencies AS text[]),
                                 CAST(:subtotals AS bigint[]), CAST(:discounts AS bigint[]),
                                 CAST(:credits AS bigint[]), CAST(:totals AS bigint[]),
                                 CAST(:unused AS bigint[]), CAST(:line_counts AS integer[]))
                 AS new(tenant_id, currency, subtotal_minor, discount_minor, credit_minor,
                        total_minor, unused_minor, line_count)
        ), inserted AS (
            INSERT INTO invoices (tenant_id, period_start, period_end, period_label, currency,
                                  subtotal_minor, discount_minor, credit_minor, total_minor,
                                  unused_discount_minor, created_by)
            SELECT tenant_id, :period_start, :period_end, :period_label, currency,
                   subtotal_minor, discount_minor, credit_minor, total_minor, unused_minor, :actor
            FROM new
            ON CONFLICT (tenant_id, period_start) WHERE {NOT_VOID} DO NOTHING
            RETURNING *
        ), audited AS (
            INSERT INTO audit_log (actor, actor_role, action, entity, entity_id, tenant_id,
                                   after)
            SELECT :actor, :actor_role, 'invoice.generated', 'invoice', i.invoice_id::text,
                   i.tenant_id,
                   jsonb_build_object(
                       'invoice_id', i.invoice_id, 'status', i.status,
                       'period', i.period_label, 'currency', i.currency,
                       'subtotal_minor', i.subtotal_minor, 'discount_minor', i.discount_minor,
                       'credit_minor', i.credit_minor, 'total_minor', i.total_minor,
                       'lines', new.line_count)
            FROM inserted AS i JOIN new USING (tenant_id)
            ORDER BY i.tenant_id
        )
        SELECT tenant_id, invoice_id FROM inserted
    """), {
        "period_start": period.start, "period_end": period.end, "period_label": period.label,
        "actor": require_actor(actor).user_id, "actor_role": actor.role.value,
        "line_counts": [len(priced[tenant_id].lines) for tenant_id in tenant_ids],
        "tenant_ids": tenant_ids,
        "currencies": [priced[tenant_id].currency for tenant_id in tenant_ids],
        "subtotals": list(subtotals), "discounts": list(discounts), "credits": list(credits),
        "totals": list(totals), "unused": list(unused),
    })
    return dict(rows.all())


def _insert_lines(session: Session, invoice_ids: Mapping[str, int],
                  priced: Mapping[str, PricedInvoice]) -> None:
    copy_rows(
        session, InvoiceLine.__tablename__,
        ("tenant_id", "invoice_id", "line_no", "kind", "description", "amount_minor",
         "exact_amount", "explanation"),
        ((tenant_id, invoice_id, line_no, line.kind.value, line.description,
          line.amount_minor, line.exact_amount, line.explanation)
         for tenant_id, invoice_id in invoice_ids.items()
         for line_no, line in enumerate(priced[tenant_id].lines, start=1)),
    )


def _consume_credit_balances(session: Session, invoice_ids: Mapping[str, int],
                             priced: Mapping[str, PricedInvoice], actor: Actor) -> None:
    """Write a 'consumed' ledger entry for every new invoice that used credit balance."""
    append_entries(session, [
        LedgerEntry(tenant_id, LedgerEntryKind.CONSUMED, invoice.credit_applied,
                    invoice_id=invoice_id)
        for tenant_id, invoice_id in invoice_ids.items()
        if (invoice := priced[tenant_id]).credit_applied
    ], actor)
