"""Benchmark: import and reconcile 100,000 legacy invoices (goal: under 30 s in all).

The file mixes every kind of row the old system produced: correct invoices,
proration errors ($1000.00 from the 16th billed $502.00), discounts in the
wrong order, overage at exactly the limit, credits applied to paid invoices,
duplicates, and one shared-cost split over every tenant billed with rounded
shares. The figures printed:

1. writing the CSV (not part of the goal);
2. import: parse and validate every row, check tenants and ids, COPY, commit;
3. report: load every legacy record, reconcile, lay corrections over it;
4. import + report, against the 30 s goal.

It uses a scratch database of its own: on DATABASE_URL's server when set
(created and dropped), else on an embedded server in a temporary folder.

    python bench/bench_reconciliation.py [--invoices 100000] [--tenants 1000]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_month_end import _version  # noqa: E402

from bench.scratch import bench_server, create_database, drop_database  # noqa: E402
from billing_core.legacy_csv import COLUMNS  # noqa: E402
from db.database import migrate_to_head  # noqa: E402
from db.reconciliation import import_legacy_file, reconciliation_report  # noqa: E402
from tests.actors import finance  # noqa: E402


def legacy_csv(invoices: int, tenants: int, prefix: str = "bench-") -> str:
    """`invoices` legacy invoice rows over `tenants` tenants (`prefix` + five digits, one
    month each), plus one allocation share per tenant."""
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    index = {name: i for i, name in enumerate(COLUMNS)}

    def write(**cells: str) -> None:
        row = [""] * len(COLUMNS)
        for name, value in cells.items():
            row[index[name]] = value
        out.write(",".join(row) + "\n")

    per_tenant = -(-invoices // tenants)
    written = 0
    for number in range(invoices):
        tenant = f"{prefix}{number % tenants:05d}"
        month = number // tenants
        if month >= per_tenant:
            break
        year, month_of_year = 2010 + month // 12, month % 12 + 1
        period = f"{year:04d}-{month_of_year:02d}"
        legacy_id = f"L{number:07d}"
        base = {"record": "invoice", "tenant_id": tenant, "period": period,
                "legacy_id": legacy_id, "status": "paid", "currency": "USD",
                "plans": "2009-01-01 compute-1000 1000.00", "billed_recurring": "1000.00",
                "billed_total": "1000.00"}
        kind = number % 7
        base.update(_legacy_mistake(kind, period, month_of_year))
        write(**base)
        written += 1
        if kind == 5 and written < invoices:  # billed twice
            write(**{**base, "legacy_id": legacy_id + "-DUP"})
            written += 1
        if written >= invoices:
            break
    for number in range(tenants):
        write(record="allocation", tenant_id=f"{prefix}{number:05d}", period="2024-11",
              legacy_id="ALLOC-BENCH", currency="USD", weight="1", allocation_total="1000.07",
              billed_total=f"{1000 // tenants}.{(100000 // tenants) % 100:02d}")
    return out.getvalue()


def _legacy_mistake(kind: int, period: str, month_of_year: int) -> dict[str, str]:
    """The cells that give invoice number `kind` (mod 7) one of the old system's mistakes."""
    if kind == 1 and month_of_year in (4, 6, 9, 11):
        # proration: $1000.00 from the 16th of a 30-day month, billed 502.00
        return {"plans": f"{period}-16 compute-1000 1000.00",
                "billed_recurring": "502.0000001", "billed_total": "502.0000001"}
    if kind == 2:  # discount order
        return {"discounts": "50.00 Promotional credit; 10% Enterprise discount",
                "billed_discount": "145.00", "billed_total": "855.00"}
    if kind == 3:  # overage at exactly the limit
        return {"plans": "2009-01-01 storage-1tb 100.00", "usage_metric": "storage",
                "used_base_units": "1000000000000", "included_base_units": "1000000000000",
                "base_units_per_unit": "1000000000000", "usage_price_per_unit": "23.00",
                "billed_recurring": "100.00", "billed_usage": "23.00", "billed_total": "123.00"}
    if kind == 4:  # a credit applied after payment
        return {"credits": "200.00@paid", "billed_credit": "200.00", "billed_total": "800.00"}
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=1_000)
    args = parser.parse_args()

    server, cleanup = bench_server()
    name = f"ledgerline_bench_{uuid.uuid4().hex[:8]}"
    try:
        engine = create_database(server, name)
        migrate_to_head(engine)
        with Session(engine) as session, session.begin():
            session.execute(text("""
                INSERT INTO tenants (tenant_id, name, currency)
                SELECT 'bench-' || lpad(n::text, 5, '0'), 'Bench ' || n, 'USD'
                FROM generate_series(0, :last) AS n
            """), {"last": args.tenants - 1})

        started = time.perf_counter()
        content = legacy_csv(args.invoices, args.tenants)
        print(f"server {_version(engine)}; CSV of {content.count(chr(10)) - 1:,} rows "
              f"({len(content) / 1e6:.1f} MB) written in {time.perf_counter() - started:.2f} s")

        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            result = import_legacy_file(session, content, "bench.csv", actor=finance("bench"))
        import_seconds = time.perf_counter() - started
        print(f"import:          {import_seconds:7.2f} s  {result.invoice_count:,} invoices, "
              f"{result.allocation_count:,} allocation shares "
              f"({result.invoice_count / import_seconds:,.0f} invoices/s)")

        started = time.perf_counter()
        with Session(engine) as session:
            report = reconciliation_report(session)
        report_seconds = time.perf_counter() - started
        by_rule = Counter(str(row.discrepancy.rule) for row in report.rows)
        print(f"reconcile:       {report_seconds:7.2f} s  {report.invoice_count:,} invoices -> "
              f"{len(report.rows):,} discrepancies "
              f"({', '.join(f'{rule} {count:,}' for rule, count in sorted(by_rule.items()))})")
        total = import_seconds + report_seconds
        print(f"import + reconcile: {total:5.2f} s  (goal < 30 s)")
        if report.invoice_count != args.invoices:
            raise SystemExit(f"expected {args.invoices} invoices, reconciled "
                             f"{report.invoice_count}")
        engine.dispose()
    finally:
        drop_database(server, name)
        cleanup()


if __name__ == "__main__":
    main()
