"""What a change would do to a bill, before anyone confirms it; saves nothing.

A preview runs the real operation (`db.subscriptions`, `db.discounts`) inside a
savepoint, reads the period's invoice as it would then be, and rolls the
savepoint back: the same locks, refusals and pricing path as the change itself,
so a preview never disagrees with what confirming does. The caller rolls its
transaction back too (a preview takes locks; it never commits anything).

The period shown is the tenant's billing period containing the day asked
about: its stored invoice if one exists (a draft re-priced by the change), or
else what generating it would make (a dry run, which writes nothing either).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor
from billing_core.lines import InvoiceLine, LineKind
from billing_core.money import Money
from billing_core.periods import Period, monthly_period
from db.credit_ledger import tenant_currency
from db.invoicing import generate_invoices
from db.models import NOT_VOID

Result = TypeVar("Result")


@dataclass(frozen=True, slots=True)
class PricedView:
    """A period's bill as it stands (or would be generated): lines and total."""

    period: Period
    lines: tuple[InvoiceLine, ...]
    total: Money
    invoice_id: int | None
    status: str | None  # None: not generated yet
    price_version: int | None


@dataclass(frozen=True, slots=True)
class ChangePreview:
    """The period's bill before and after the change (None: nothing to bill)."""

    tenant_id: str
    period: Period
    before: PricedView | None
    after: PricedView | None

    @property
    def difference(self) -> Money | None:
        if self.before is None and self.after is None:
            return None
        if self.before is None:
            return self.after.total if self.after else None
        if self.after is None:
            return -self.before.total
        return self.after.total - self.before.total


def preview_change(session: Session, tenant_id: str, on: date,
                   change: Callable[[Session], object], *, actor: Actor) -> ChangePreview:
    """The bill of `tenant_id`'s period containing `on`, before and after `change(session)`,
    which runs inside a savepoint that is rolled back. The change's refusals propagate."""
    period = _period_containing(session, tenant_id, on)
    before = priced_view(session, tenant_id, period, actor=actor)

    def changed() -> PricedView | None:
        change(session)
        return priced_view(session, tenant_id, period, actor=actor)

    return ChangePreview(tenant_id, period, before, run_and_undo(session, changed))


def run_and_undo(session: Session, work: Callable[[], Result]) -> Result:
    """`work()` inside a savepoint that is always rolled back; returns what it returned."""
    savepoint = session.begin_nested()
    try:
        return work()
    finally:
        savepoint.rollback()


def priced_view(session: Session, tenant_id: str, period: Period, *,
                actor: Actor) -> PricedView | None:
    """The period's stored invoice (not void), or what generating it would make; None when
    there is nothing to bill (no plan in force)."""
    stored = session.execute(text(f"""
        SELECT invoice_id, status, total_minor, currency, price_version FROM invoices
        WHERE tenant_id = :t AND period_start = :start AND {NOT_VOID}
    """), {"t": tenant_id, "start": period.start}).first()
    if stored is not None:
        invoice_id, status, total_minor, currency, version = stored
        lines = tuple(
            InvoiceLine(LineKind(kind), description,
                        Money.from_minor_units(amount_minor, currency), exact_amount, explanation)
            for kind, description, amount_minor, exact_amount, explanation in session.execute(
                text("""SELECT kind, description, amount_minor, exact_amount, explanation
                        FROM invoice_lines WHERE tenant_id = :t AND invoice_id = :i
                        ORDER BY line_no"""), {"t": tenant_id, "i": invoice_id}))
        return PricedView(period, lines, Money.from_minor_units(total_minor, currency),
                          invoice_id, status, version)
    result = generate_invoices(session, [tenant_id], period, actor=actor, dry_run=True)
    priced = result.priced.get(tenant_id)
    if priced is None:
        return None
    return PricedView(period, priced.lines, priced.total, None, None, None)


def _period_containing(session: Session, tenant_id: str, on: date) -> Period:
    tenant_currency(session, tenant_id)  # NotFound for an unknown tenant
    anchor_day = session.execute(text(
        "SELECT billing_anchor_day FROM tenants WHERE tenant_id = :t"), {"t": tenant_id}
    ).scalar_one()
    return monthly_period(anchor_day, on)
