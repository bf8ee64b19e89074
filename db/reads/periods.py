"""Months as the screens read them (Home, Invoices, Month end): which months have invoices,
and one month's counts and totals by status."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.money import Money
from billing_core.periods import calendar_month, month_label
from billing_core.states import InvoiceStatus
from db.credit_ledger import outstanding_balances


@dataclass(frozen=True, slots=True)
class StatusTotals:
    status: str
    count: int
    totals: tuple[Money, ...]
    """One total per currency, in currency order."""


@dataclass(frozen=True, slots=True)
class PeriodSummary:
    period_label: str
    by_status: tuple[StatusTotals, ...]
    credits_outstanding: tuple[Money, ...]
    """Credit balances waiting for the next invoice, all tenants, one per currency."""


def status_summary(session: Session, period_label: str) -> PeriodSummary:
    """Counts and totals by status for a month's invoices, and credit balances outstanding.

    The sums run in PostgreSQL over integer minor units (exact: `sum(bigint)` is
    `numeric`), so a month of a million invoices costs one aggregate, not a million rows.
    """
    period = calendar_month(period_label)
    counts: dict[str, int] = {}
    totals: dict[str, list[Money]] = {}
    rows = session.execute(text("""
        SELECT status, currency, count(*), sum(total_minor) FROM invoices
        WHERE period_start >= :start AND period_start < :end
        GROUP BY status, currency ORDER BY status, currency
    """), {"start": period.start, "end": period.end})
    for status, currency, count, total_minor in rows:
        counts[status] = counts.get(status, 0) + count
        totals.setdefault(status, []).append(Money.from_minor_units(int(total_minor), currency))
    by_status = tuple(StatusTotals(status.value, counts[status], tuple(totals[status]))
                      for status in InvoiceStatus if status in counts)
    return PeriodSummary(period.label, by_status, outstanding_balances(session))


def invoice_months(session: Session) -> list[str]:
    """Every calendar month in which an invoice's period starts ("2024-11"), newest first.

    The months `list_invoices(period_label=...)` filters by. Read with a loose index
    scan (one index probe per distinct period start, not one row per invoice), so
    it costs the same at a million invoices as at a hundred.
    """
    starts = session.execute(text("""
        WITH RECURSIVE starts AS (
            (SELECT period_start FROM invoices ORDER BY period_start DESC LIMIT 1)
            UNION ALL
            SELECT (SELECT i.period_start FROM invoices i WHERE i.period_start < s.period_start
                    ORDER BY i.period_start DESC LIMIT 1)
            FROM starts s WHERE s.period_start IS NOT NULL
        )
        SELECT period_start FROM starts WHERE period_start IS NOT NULL
    """)).scalars()
    months: list[str] = []
    for start in starts:
        label = month_label(start)
        if not months or months[-1] != label:
            months.append(label)
    return months
