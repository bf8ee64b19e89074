"""A tenant's standing discounts: added, ended, removed (SPEC 4, 11).

A discount is a percentage or a fixed amount with a label, applied to the
invoices whose period starts inside [valid_from, valid_until) (either end may
be open), in the order added within its kind (SPEC 4: percentages first,
compounding, then fixed amounts). Adding or removing one reaches the periods
inside its window; ending it (a new valid_until) reaches the periods between
the old end and the new one. A period reached whose invoice is finalized, paid
or void refuses the change; drafts reached are re-priced in the same
transaction.

Each operation requires `Permission.MANAGE_DISCOUNTS`, locks the tenant, then
the invoices reached (`db.touched_periods`), and writes a `discount.*` audit
row, in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import partial

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.errors import InvalidInput
from billing_core.money import Money
from billing_core.subscriptions import (
    changed_span,
    check_fixed_amount,
    check_name,
    check_percent,
    check_window,
    discount_window_touches,
)
from db.audit import AuditRecord, record_audit
from db.credit_ledger import lock_tenant
from db.reads.tenants import DiscountView
from db.repricing import RepricedDraft
from db.touched_periods import lock_invoiced_periods, refuse_closed, reprice_touched


@dataclass(frozen=True, slots=True)
class DiscountChange:
    discount: DiscountView
    repriced: tuple[RepricedDraft, ...]


def add_discount(session: Session, tenant_id: str, label: str, *,
                 percent: Decimal | str | None = None, amount: Money | None = None,
                 valid_from: date | None = None, valid_until: date | None = None,
                 actor: Actor) -> DiscountChange:
    """Exactly one of `percent` (10 for 10 %) and `amount`. SPEC 4: on $800.00, 10 % then
    $50.00 -> $670.00."""
    require(actor, Permission.MANAGE_DISCOUNTS)
    label = check_name(label, "label")
    if (percent is None) == (amount is None):
        raise InvalidInput("percent", "give a percentage or a fixed amount, not both or none")
    checked_percent = None if percent is None else check_percent(percent)
    check_window(valid_from, valid_until)
    currency = lock_tenant(session, tenant_id)
    checked_amount = None if amount is None else check_fixed_amount(amount, currency)
    touched = _touched(session, tenant_id, "valid_from", valid_from, valid_until)
    row = session.execute(text("""
        INSERT INTO tenant_discounts (tenant_id, position, label, percent, amount_minor,
                                      currency, valid_from, valid_until)
        SELECT :tenant_id, coalesce(max(position), 0) + 1, :label, :percent, :amount_minor,
               :currency, :valid_from, :valid_until
        FROM tenant_discounts WHERE tenant_id = :tenant_id
        RETURNING position
    """), {"tenant_id": tenant_id, "label": label, "percent": checked_percent,
           "amount_minor": checked_amount.to_minor_units() if checked_amount else None,
           "currency": checked_amount.currency if checked_amount else None,
           "valid_from": valid_from, "valid_until": valid_until}).one()
    discount = DiscountView(row[0], label, checked_percent, checked_amount, valid_from,
                            valid_until)
    record_audit(session, AuditRecord(actor, "discount.added", "discount",
                                      f"{tenant_id}:{discount.position}", tenant_id,
                                      after=_view(discount)))
    return DiscountChange(discount, _reprice(session, touched, actor, f"discount {label} added"))


def end_discount(session: Session, tenant_id: str, position: int, valid_until: date | None, *,
                 actor: Actor) -> DiscountChange:
    """Set the discount's end (None: open again)."""
    require(actor, Permission.MANAGE_DISCOUNTS)
    lock_tenant(session, tenant_id)
    before = _find(session, tenant_id, position)
    check_window(before.valid_from, valid_until)
    if valid_until == before.valid_until:
        return DiscountChange(before, ())
    first, until = changed_span(before.valid_until, valid_until)
    touched = _touched(session, tenant_id, "valid_until", first, until)
    session.execute(text("""
        UPDATE tenant_discounts SET valid_until = :valid_until
        WHERE tenant_id = :tenant_id AND position = :position
    """), {"tenant_id": tenant_id, "position": position, "valid_until": valid_until})
    after = replace(before, valid_until=valid_until)
    record_audit(session, AuditRecord(actor, "discount.ended", "discount",
                                      f"{tenant_id}:{position}", tenant_id,
                                      before=_view(before), after=_view(after)))
    return DiscountChange(after, _reprice(session, touched, actor,
                                          f"discount {before.label} ended"))


def remove_discount(session: Session, tenant_id: str, position: int, *,
                    actor: Actor) -> DiscountChange:
    """Delete the discount, as if it never was: allowed only where no period it reaches is
    closed (a discount once billed is ended, not removed)."""
    require(actor, Permission.MANAGE_DISCOUNTS)
    lock_tenant(session, tenant_id)
    before = _find(session, tenant_id, position)
    touched = _touched(session, tenant_id, "position", before.valid_from, before.valid_until)
    session.execute(text("DELETE FROM tenant_discounts WHERE tenant_id = :t AND position = :p"),
                    {"t": tenant_id, "p": position})
    record_audit(session, AuditRecord(actor, "discount.removed", "discount",
                                      f"{tenant_id}:{position}", tenant_id,
                                      before=_view(before)))
    return DiscountChange(before, _reprice(session, touched, actor,
                                           f"discount {before.label} removed"))


def _touched(session: Session, tenant_id: str, field: str, first: date | None,
             until: date | None) -> dict[str, list]:
    invoiced = lock_invoiced_periods(session, [tenant_id], None)
    return {tenant_id: refuse_closed(tenant_id, field, invoiced.get(tenant_id, []),
                                     partial(discount_window_touches, first, until))}


def _reprice(session: Session, touched: dict[str, list], actor: Actor,
             cause: str) -> tuple[RepricedDraft, ...]:
    return tuple(reprice_touched(session, touched, actor=actor, cause=cause,
                                 allowed_by=Permission.MANAGE_DISCOUNTS))


def _find(session: Session, tenant_id: str, position: int) -> DiscountView:
    row = session.execute(text("""
        SELECT label, percent, amount_minor, currency, valid_from, valid_until
        FROM tenant_discounts WHERE tenant_id = :t AND position = :p
    """), {"t": tenant_id, "p": position}).first()
    if row is None:
        raise InvalidInput("position", f"{tenant_id} has no discount number {position}")
    label, percent, amount_minor, currency, valid_from, valid_until = row
    amount = None if amount_minor is None else Money.from_minor_units(amount_minor, currency)
    return DiscountView(position, label, percent, amount, valid_from, valid_until)


def _view(discount: DiscountView) -> dict[str, object]:
    return {"label": discount.label,
            "percent": None if discount.percent is None else str(discount.percent),
            "amount_minor": discount.amount.to_minor_units() if discount.amount else None,
            "currency": discount.amount.currency if discount.amount else None,
            "valid_from": discount.valid_from.isoformat() if discount.valid_from else None,
            "valid_until": discount.valid_until.isoformat() if discount.valid_until else None}
