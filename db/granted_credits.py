"""The credits tenants received outside legacy reconciliation, for `billing_core.already_granted`.

Every service credit and credit note of the tenants, oldest first, with the
invoice it landed on (a service credit that went to the credit balance has
none). A credit a legacy correction issued (`legacy_corrections.credit_id`) is
left out: that correction already stands for it in the report.

Read it under the tenants' row locks when the answer decides a grant (as
`db.reconciliation.issue_legacy_credits` does): every credit and credit note
takes that lock, so after it nothing can be granted to those tenants unseen.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.already_granted import GrantedCredit
from billing_core.money import Money
from billing_core.periods import Period
from billing_core.states import InvoiceStatus


def granted_credits(session: Session, tenant_ids: Collection[str]) -> list[GrantedCredit]:
    """The service credits and credit notes of `tenant_ids` not issued by reconciliation."""
    if not tenant_ids:
        return []
    rows = session.execute(text("""
        SELECT 'service credit' AS kind, '#' || c.credit_id AS reference, c.tenant_id,
               c.amount_minor, c.currency, c.created_at, c.reason, i.period_start,
               i.period_end, i.period_label, i.number, i.status, c.credit_id AS seq
        FROM credits c
        LEFT JOIN invoices i ON i.tenant_id = c.tenant_id AND i.invoice_id = c.invoice_id
        WHERE c.tenant_id = ANY(:ids)
          AND NOT EXISTS (SELECT 1 FROM legacy_corrections l
                          WHERE l.tenant_id = c.tenant_id AND l.credit_id = c.credit_id)
        UNION ALL
        SELECT 'credit note', n.number, n.tenant_id, n.amount_minor, n.currency, n.created_at,
               n.reason, i.period_start, i.period_end, i.period_label, i.number, i.status,
               n.credit_note_id
        FROM credit_notes n
        JOIN invoices i ON i.tenant_id = n.tenant_id AND i.invoice_id = n.invoice_id
        WHERE n.tenant_id = ANY(:ids)
        ORDER BY created_at, kind DESC, seq
    """), {"ids": sorted(tenant_ids)})
    return [GrantedCredit(
        kind, reference, tenant_id, Money.from_minor_units(amount_minor, currency),
        created_at.astimezone(UTC).date(), reason,
        Period(period_start, period_end) if period_start is not None else None,
        _invoice_name(period_label, number, status) if period_label is not None else None)
        for kind, reference, tenant_id, amount_minor, currency, created_at, reason,
        period_start, period_end, period_label, number, status, _ in rows]


def _invoice_name(period_label: str, number: str | None, status: str) -> str:
    if number:
        return f"{number} ({period_label})"
    if status == InvoiceStatus.DRAFT:
        return f"the {period_label} draft"
    return f"the {period_label} invoice ({status})"
