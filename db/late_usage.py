"""Settling late usage: bill it on the next invoice, or waive it with a reason (SPEC 12).

Events whose period's invoice was already finalized, paid or void wait on the
late-usage list (`late_usage`, one open group per tenant, period and metric;
`db.usage_events` fills it). Finance settles each group once:

- `bill_late_usage` adds one line to the tenant's next draft (the earliest draft
  whose period starts at or after the late period's end), naming the period the
  usage came from, for what SPEC 6 gives for that period's usage with the late
  events minus what was already charged for it (its invoice's usage line and any
  late usage billed before): `billing_core.usage_events.late_usage_line`. The
  draft's totals grow by the line, its price version moves on (SPEC 13: a
  reviewer sees it changed), and the group records the invoice and amount;
- `waive_late_usage` records the reason; nothing is charged.

Both run under the tenant lock, then the group's row lock, then the draft's
(the documented order), re-check the group's status under the lock, and write
one audit row. Asked again, each returns what the first did (billing twice bills
once); billing a waived group, or waiving a billed one, is refused naming who
settled it. With no draft after the late period there is nothing to bill on
yet: generate the next invoice first.

Re-pricing a draft (`db.repricing`) rebuilds its lines from its pricing inputs;
`restore_late_lines` puts back the late usage billed on it, so a draft never
loses a late charge it carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, require
from billing_core.errors import BillingError, InvalidInput
from billing_core.lines import InvoiceLine, LineKind
from billing_core.money import Money
from billing_core.periods import Period
from billing_core.usage_events import LateUsageStatus, late_usage_line
from db.audit import AuditRecord, record_audit
from db.credit_ledger import lock_tenant
from db.draft_lines import append_line
from db.errors import NotFound
from db.pricing_inputs import load_pricing_inputs

MAX_WAIVE_REASON_CHARS = 500


class LateUsageAlreadySettled(BillingError):
    def __init__(self, group: str, status: str, settled_by: str, wanted: str) -> None:
        self.group = group
        self.status = status
        super().__init__(f"Late usage {group} was already {status} by {settled_by}; "
                         f"it cannot be {wanted} now")


class NoDraftToBillOn(BillingError):
    def __init__(self, tenant_id: str, period_label: str) -> None:
        self.tenant_id = tenant_id
        super().__init__(f"{tenant_id} has no draft invoice after {period_label} to bill its "
                         "late usage on; generate the next invoice first")


@dataclass(frozen=True, slots=True)
class LateUsageSettlement:
    """How a late-usage group was settled: billed on `invoice_id` for `amount`, or waived."""

    tenant_id: str
    late_usage_id: int
    status: LateUsageStatus
    invoice_id: int | None
    amount: Money | None
    waive_reason: str | None
    settled_by: str


@dataclass(frozen=True, slots=True)
class _Group:
    tenant_id: str
    late_usage_id: int
    metric: str
    period: Period
    period_label: str
    event_count: int
    quantity: int
    currency: str
    status: LateUsageStatus
    billed_invoice_id: int | None
    billed_minor: int | None
    waive_reason: str | None
    settled_by: str | None

    @property
    def name(self) -> str:
        return f"#{self.late_usage_id} of {self.tenant_id} for {self.period_label}"

    def settlement(self) -> LateUsageSettlement:
        amount = (None if self.billed_minor is None
                  else Money.from_minor_units(self.billed_minor, self.currency))
        return LateUsageSettlement(self.tenant_id, self.late_usage_id, self.status,
                                   self.billed_invoice_id, amount, self.waive_reason,
                                   self.settled_by or "")


def bill_late_usage(session: Session, tenant_id: str, late_usage_id: int, *,
                    actor: Actor) -> LateUsageSettlement:
    """Bill a late-usage group on the tenant's next draft (see the module's text)."""
    group = _open_group(session, tenant_id, late_usage_id, LateUsageStatus.BILLED, actor)
    if group.status is LateUsageStatus.BILLED:
        return group.settlement()
    draft = session.execute(text("""
        SELECT invoice_id, period_label, subtotal_minor, total_minor FROM invoices
        WHERE tenant_id = :tenant_id AND status = 'draft' AND period_start >= :after
        ORDER BY period_start LIMIT 1 FOR UPDATE
    """), {"tenant_id": tenant_id, "after": group.period.end}).first()
    if draft is None:
        raise NoDraftToBillOn(tenant_id, group.period_label)
    line = _late_line(session, group)
    amount_minor = line.amount_minor
    versions = session.execute(text("""
        UPDATE invoices SET subtotal_minor = subtotal_minor + :amount,
                            total_minor = total_minor + :amount,
                            price_version = price_version + 1, priced_at = now()
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
        RETURNING price_version, total_minor
    """), {"amount": amount_minor, "tenant_id": tenant_id,
           "invoice_id": draft.invoice_id}).one()
    append_line(session, tenant_id, draft.invoice_id, line.kind, line.description, amount_minor,
                line.exact_amount, line.explanation)
    settled = _settle(session, group, LateUsageStatus.BILLED, actor,
                      invoice_id=draft.invoice_id, billed_minor=amount_minor,
                      billed_explanation=line.explanation)
    record_audit(session, AuditRecord(
        actor, "late_usage.billed", "late_usage", str(late_usage_id), tenant_id,
        before={"status": group.status.value, "invoice_id": draft.invoice_id,
                "invoice_total_minor": draft.total_minor},
        after={"status": settled.status.value, "period": group.period_label,
               "metric": group.metric, "events": group.event_count,
               "quantity_base_units": group.quantity, "invoice_id": draft.invoice_id,
               "invoice_period": draft.period_label, "amount_minor": amount_minor,
               "currency": group.currency, "invoice_total_minor": versions.total_minor,
               "price_version": versions.price_version}))
    return settled


def waive_late_usage(session: Session, tenant_id: str, late_usage_id: int, reason: str, *,
                     actor: Actor) -> LateUsageSettlement:
    """Waive a late-usage group with a reason; nothing is charged."""
    reason = _check_reason(reason)
    group = _open_group(session, tenant_id, late_usage_id, LateUsageStatus.WAIVED, actor)
    if group.status is LateUsageStatus.WAIVED:
        return group.settlement()
    settled = _settle(session, group, LateUsageStatus.WAIVED, actor, waive_reason=reason)
    record_audit(session, AuditRecord(
        actor, "late_usage.waived", "late_usage", str(late_usage_id), tenant_id,
        before={"status": group.status.value},
        after={"status": settled.status.value, "period": group.period_label,
               "metric": group.metric, "events": group.event_count,
               "quantity_base_units": group.quantity, "reason": reason}))
    return settled


def restore_late_lines(session: Session, drafts: Iterable[tuple[str, int]]) -> None:
    """Put back, after re-pricing, the late usage billed on these drafts (tenant, invoice id):
    re-pricing rebuilt their lines from their own period's inputs."""
    wanted = sorted(set(drafts))
    if not wanted:
        return
    carried = session.execute(text("""
        SELECT g.tenant_id, g.late_usage_id, g.billed_invoice_id, g.billed_explanation
        FROM late_usage g
        JOIN unnest(CAST(:tenant_ids AS text[]), CAST(:invoice_ids AS bigint[])) AS k(t, i)
          ON g.tenant_id = k.t AND g.billed_invoice_id = k.i
        ORDER BY g.tenant_id, g.billed_invoice_id, g.late_usage_id
    """), {"tenant_ids": [t for t, _ in wanted], "invoice_ids": [i for _, i in wanted]}).all()
    for tenant_id, late_usage_id, invoice_id, explanation in carried:
        group = _lock_group(session, tenant_id, late_usage_id)
        present = session.execute(text("""
            SELECT 1 FROM invoice_lines WHERE tenant_id = :t AND invoice_id = :i
              AND kind = 'usage' AND description = :description AND amount_minor = :amount
        """), {"t": tenant_id, "i": invoice_id, "description": _description(group),
               "amount": group.billed_minor}).first()
        if present is None:
            _append_billed_line(session, group, invoice_id, explanation)


def _append_billed_line(session: Session, group: _Group, invoice_id: int,
                        explanation: str) -> None:
    amount = group.billed_minor or 0
    session.execute(text("""
        UPDATE invoices SET subtotal_minor = subtotal_minor + :amount,
                            total_minor = total_minor + :amount
        WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
    """), {"amount": amount, "tenant_id": group.tenant_id, "invoice_id": invoice_id})
    append_line(session, group.tenant_id, invoice_id, LineKind.USAGE, _description(group), amount,
                Money.from_minor_units(amount, group.currency).amount, explanation)


def _description(group: _Group) -> str:
    return f"Late usage from {group.period_label} ({group.metric})"


def _check_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("reason", "is empty; say why the late usage is waived")
    reason = reason.strip()
    if len(reason) > MAX_WAIVE_REASON_CHARS:
        raise InvalidInput("reason", f"is {len(reason):,} characters long; at most "
                                     f"{MAX_WAIVE_REASON_CHARS}")
    return reason


def _open_group(session: Session, tenant_id: str, late_usage_id: int,
                wanted: LateUsageStatus, actor: Actor) -> _Group:
    """The group, locked (tenant first), if it is open or already settled as `wanted` (asked
    again, the caller returns that settlement); settled the other way, it is refused."""
    require(actor, Permission.SETTLE_LATE_USAGE)
    lock_tenant(session, tenant_id)
    group = _lock_group(session, tenant_id, late_usage_id)
    if group.status not in (LateUsageStatus.OPEN, wanted):
        raise LateUsageAlreadySettled(group.name, group.status.value, group.settled_by or "",
                                      wanted.value)
    return group


def _lock_group(session: Session, tenant_id: str, late_usage_id: int) -> _Group:
    row = session.execute(text("""
        SELECT tenant_id, late_usage_id, metric, period_start, period_end, period_label,
               event_count, quantity_base_units, currency, status, billed_invoice_id,
               billed_minor, waive_reason, settled_by
        FROM late_usage WHERE tenant_id = :tenant_id AND late_usage_id = :id FOR UPDATE
    """), {"tenant_id": tenant_id, "id": late_usage_id}).first()
    if row is None:
        raise NotFound("late usage", f"#{late_usage_id} of tenant {tenant_id}")
    (tenant, group_id, metric, start, end, label, events, quantity, currency, status,
     invoice_id, billed_minor, waive_reason, settled_by) = row
    return _Group(tenant, group_id, metric, Period(start, end), label, events, quantity,
                  currency, LateUsageStatus(status), invoice_id, billed_minor, waive_reason,
                  settled_by)


def _late_line(session: Session, group: _Group) -> InvoiceLine:
    inputs = load_pricing_inputs(session, {group.tenant_id: group.currency}, group.period)
    usage = [(plan, used) for plan, used in inputs[group.tenant_id].usage
             if plan.metric == group.metric]
    if not usage:
        raise InvalidInput("late_usage", f"{group.tenant_id}'s plan for {group.period_label} "
                                         f"does not meter {group.metric!r}; waive it instead")
    plan, used_on_invoice = usage[0]
    charged_minor, late_billed_before = session.execute(text("""
        SELECT
            coalesce((SELECT sum(l.amount_minor) FROM invoices i
                      JOIN invoice_lines l USING (tenant_id, invoice_id)
                      WHERE i.tenant_id = :tenant_id AND i.period_start = :start
                        AND i.status IN ('finalized', 'paid') AND l.kind = 'usage'
                        AND l.description = :own_line), 0)
            + coalesce((SELECT sum(billed_minor) FROM late_usage
                        WHERE tenant_id = :tenant_id AND period_start = :start
                          AND metric = :metric AND status = 'billed'), 0),
            coalesce((SELECT sum(quantity_base_units) FROM late_usage
                      WHERE tenant_id = :tenant_id AND period_start = :start
                        AND metric = :metric AND status = 'billed'), 0)
    """), {"tenant_id": group.tenant_id, "start": group.period.start, "metric": group.metric,
           "own_line": f"{group.metric} overage"}).one()
    return late_usage_line(group.period_label, plan, used_on_invoice, int(late_billed_before),
                           group.quantity, Money.from_minor_units(int(charged_minor),
                                                                  group.currency))


def _settle(session: Session, group: _Group, status: LateUsageStatus, actor: Actor, *,
            invoice_id: int | None = None, billed_minor: int | None = None,
            billed_explanation: str | None = None,
            waive_reason: str | None = None) -> LateUsageSettlement:
    session.execute(text("""
        UPDATE late_usage SET status = :status, billed_invoice_id = :invoice_id,
               billed_minor = :billed_minor, billed_explanation = :explanation,
               waive_reason = :waive_reason,
               settled_by = :settled_by, settled_at = now()
        WHERE tenant_id = :tenant_id AND late_usage_id = :id
    """), {"status": status.value, "invoice_id": invoice_id, "billed_minor": billed_minor,
           "explanation": billed_explanation, "waive_reason": waive_reason,
           "settled_by": actor.user_id,
           "tenant_id": group.tenant_id, "id": group.late_usage_id})
    amount = (None if billed_minor is None
              else Money.from_minor_units(billed_minor, group.currency))
    return LateUsageSettlement(group.tenant_id, group.late_usage_id, status, invoice_id, amount,
                               waive_reason, actor.user_id)

