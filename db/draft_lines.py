"""A line added to a draft after it was generated: a service credit landing on it, late usage
billed on it (or put back after re-pricing).

The line is numbered after the draft's last line. Callers hold the draft's row lock (taken in
the lock order of `db.credit_ledger`), so two additions never draw the same number. The
draft's totals are the caller's: each addition moves different ones.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.lines import LineKind


def append_line(session: Session, tenant_id: str, invoice_id: int, kind: LineKind,
                description: str, amount_minor: int, exact_amount: Decimal,
                explanation: str) -> None:
    session.execute(text("""
        INSERT INTO invoice_lines (tenant_id, invoice_id, line_no, kind, description,
                                   amount_minor, exact_amount, explanation)
        SELECT :tenant_id, :invoice_id, coalesce(max(line_no), 0) + 1, :kind, :description,
               :amount_minor, :exact_amount, :explanation
        FROM invoice_lines WHERE tenant_id = :tenant_id AND invoice_id = :invoice_id
    """), {"tenant_id": tenant_id, "invoice_id": invoice_id, "kind": kind.value,
           "description": description, "amount_minor": amount_minor,
           "exact_amount": exact_amount, "explanation": explanation})
