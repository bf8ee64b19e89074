"""Benchmark: month-end for 100,000 tenants, from stored usage to draft invoices.

Each tenant has a plan change in the month (two plan segments), stored usage
over its plan's allowance (a usage line) and two discounts (10 %, then a fixed
$5.00), so each invoice has five lines. The figures printed:

1. the month-end run (`db.month_end.run_month_end`, `--workers` batches in
   flight): invoices/s, goal >= 20,000;
2. the physical limit: a raw COPY of the very same rows (invoices + lines) into
   the same tables of a second, identically seeded database, once on one
   connection and once split over as many connections as the run used; its
   rows/s and invoices/s, and the ratio run / COPY against the faster COPY
   (goal >= 25 %);
3. the re-run that finds every invoice already present, goal < 2 s;
4. where the time went: CPU seconds of this process (pricing, and formatting
   rows) and of the server's backends (when the server is local), for the run
   and for each COPY. On a machine with few cores these bound the rate: the
   run can go no faster than (its CPU seconds) / (cores).

It uses scratch databases of its own: on DATABASE_URL's server when set
(created and dropped), else on an embedded server in a temporary folder.

    python bench/bench_month_end.py [--tenants 100000] [--batch-size 5000] [--workers 2]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch import bench_server, create_database, drop_database  # noqa: E402
from db.database import migrate_to_head  # noqa: E402
from db.month_end import run_month_end  # noqa: E402
from tests.actors import finance  # noqa: E402

PERIOD_LABEL = "2024-11"
GB = 10**9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    server, cleanup = bench_server()
    copy_connections = sorted({1, args.workers})
    names = [f"ledgerline_bench_{uuid.uuid4().hex[:8]}" for _ in range(1 + len(copy_connections))]
    try:
        run_db = create_database(server, names[0])
        migrate_to_head(run_db)
        _seed(run_db, args.tenants)
        run_db.dispose()  # a template must have no connections
        copy_dbs = {connections: create_database(server, name, template=names[0])
                    for connections, name in zip(copy_connections, names[1:], strict=True)}
        print(f"{args.tenants:,} tenants, 5 lines each (2 prorated plans, usage, 10 %, $5.00); "
              f"batches of {args.batch_size:,}, {args.workers} in flight; "
              f"server: {_version(run_db)}; {os.cpu_count()} cores")

        server_cpu = _ServerCpu(run_db)
        started, started_cpu = time.perf_counter(), time.process_time()
        summary = run_month_end(run_db, PERIOD_LABEL, actor=finance("bench"),
                                batch_size=args.batch_size, workers=args.workers)
        run_seconds = time.perf_counter() - started
        client_cpu = time.process_time() - started_cpu
        if summary.invoices_created != args.tenants:
            raise SystemExit(f"expected {args.tenants} invoices, got {summary}")
        run_rate = args.tenants / run_seconds
        print(f"month-end run:   {run_seconds:7.2f} s  {run_rate:10,.0f} invoices/s  "
              "(goal >= 20,000)")
        print(f"  CPU: this process {client_cpu:.2f} s, server backends {server_cpu.seconds()}")

        parts = _export(run_db, args.workers)
        best_rate = 0.0
        for connections, copy_db in copy_dbs.items():
            copy_cpu = _ServerCpu(copy_db)
            rows, copy_seconds = _copy_into(copy_db, parts, connections)
            copy_rate = args.tenants / copy_seconds
            best_rate = max(best_rate, copy_rate)
            print(f"raw COPY, {connections} conn: {copy_seconds:6.2f} s  "
                  f"{copy_rate:10,.0f} invoices/s  "
                  f"({rows / copy_seconds:,.0f} rows/s, {rows:,} rows); "
                  f"server backends {copy_cpu.seconds()} CPU")
        print(f"run / COPY:      {run_rate / best_rate:7.1%} of the faster COPY  (goal >= 25 %)")

        started = time.perf_counter()
        again = run_month_end(run_db, PERIOD_LABEL, actor=finance("bench"),
                              batch_size=args.batch_size)
        rerun_seconds = time.perf_counter() - started
        if again.already_present != args.tenants or again.invoices_created:
            raise SystemExit(f"re-run was not a no-op: {again}")
        print(f"re-run:          {rerun_seconds:7.2f} s  all {again.already_present:,} "
              "already present  (goal < 2 s)")
        for engine in (run_db, *copy_dbs.values()):
            engine.dispose()
    finally:
        for name in names:
            drop_database(server, name)
        cleanup()


def _version(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(text("SHOW server_version")).scalar_one()


def _seed(engine: Engine, count: int) -> None:
    """Tenants with a plan change on a seeded day in November, usage and two discounts."""
    rng = random.Random(7)
    tenant_ids = [f"bench-{number:06d}" for number in range(count)]
    tables = {
        "tenants (tenant_id, name, currency)":
            [(t, t, "USD") for t in tenant_ids],
        "subscriptions (tenant_id, starts_on, plan_id)":
            [row for t in tenant_ids for row in (
                (t, "2024-01-01", "bench-growth"),
                (t, f"2024-11-{rng.randint(2, 28):02d}", "bench-scale"))],
        "usage_records (tenant_id, metric, used_on, quantity_base_units)":
            [row for t in tenant_ids for row in (
                (t, "storage", "2024-11-05", rng.randint(100, 400) * GB + rng.randint(0, GB)),
                (t, "storage", "2024-11-20", rng.randint(100, 400) * GB))],
        "tenant_discounts (tenant_id, position, label, percent, amount_minor, currency)":
            [row for t in tenant_ids for row in (
                (t, 1, "Enterprise discount", "10", None, None),
                (t, 2, "Promotional credit", None, 500, "USD"))],
    }
    with engine.begin() as connection:
        connection.execute(text("""
            INSERT INTO plans (plan_id, name, currency, recurring_price_minor, usage_metric,
                               usage_unit_name, usage_base_unit_name, usage_base_units_per_unit,
                               usage_included_base_units, usage_price_per_unit)
            VALUES ('bench-growth', 'Growth', 'USD', 19900, 'storage', 'GB', 'byte', 1000000000,
                    200000000000, 0.05),
                   ('bench-scale', 'Scale', 'USD', 49900, 'storage', 'GB', 'byte', 1000000000,
                    500000000000, 0.023)
        """))
        cursor = connection.connection.driver_connection.cursor()
        for target, rows in tables.items():
            with cursor.copy(f"COPY {target} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


_INVOICE_COLUMNS = ("tenant_id, invoice_id, period_start, period_end, period_label, status, "
                    "currency, subtotal_minor, discount_minor, credit_minor, total_minor, "
                    "unused_discount_minor, created_by")
_LINE_COLUMNS = ("tenant_id, invoice_id, line_no, kind, description, amount_minor, exact_amount, "
                 "explanation")


_Part = list[tuple[str, str, bytes]]  # (table, columns, rows in COPY's binary format)


def _export(engine: Engine, count: int) -> list[_Part]:
    """The rows the run wrote, split into `count` contiguous tenant ranges, like its batches."""
    parts = []
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        for number in range(1, count + 1):
            part = []
            for table, columns in (("invoices", _INVOICE_COLUMNS),
                                   ("invoice_lines", _LINE_COLUMNS)):
                out = io.BytesIO()
                with cursor.copy(f"""
                    COPY (SELECT {columns} FROM {table} WHERE tenant_id IN (
                            SELECT tenant_id FROM (
                                SELECT tenant_id, ntile({count}) OVER (ORDER BY tenant_id) AS part
                                FROM tenants) AS split
                            WHERE part = {number}))
                    TO STDOUT (FORMAT binary)
                """) as copy:
                    for chunk in copy:
                        out.write(chunk)
                part.append((table, columns, out.getvalue()))
            parts.append(part)
    return parts


def _copy_into(engine: Engine, parts: list[_Part], connections: int) -> tuple[int, float]:
    """COPY the run's rows into a copy of the seeded database on `connections` connections at
    once, each in its own transaction; (rows, seconds)."""
    shares = [parts[number::connections] for number in range(connections)]
    ready = threading.Barrier(connections + 1)

    def load(share: list[_Part]) -> None:
        with engine.begin() as connection:  # commits the driver's transaction on the way out
            cursor = connection.connection.driver_connection.cursor()
            ready.wait()
            for part in share:
                for table, columns, data in part:
                    copy_sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
                    with cursor.copy(copy_sql) as copy:
                        copy.write(data)

    with ThreadPoolExecutor(max_workers=connections) as pool:
        loads = [pool.submit(load, share) for share in shares]
        ready.wait()
        started = time.perf_counter()
        for finished in loads:
            finished.result()
        seconds = time.perf_counter() - started
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT (SELECT count(*) FROM invoices) + (SELECT count(*) FROM invoice_lines)"
        )).scalar_one()
    return rows, seconds


class _ServerCpu:
    """CPU seconds used by the server's backends on `engine`'s database since creation.

    Read from /proc, so only when the server runs on this machine; backends that
    exited in between (the run keeps its pool open, so none should) are missed."""

    def __init__(self, engine: Engine) -> None:
        # A connection of its own: one taken from the run's pool would leave out its backend.
        self._engine = create_engine(engine.url, poolclass=NullPool)
        self._start = self._sample()

    def seconds(self) -> str:
        used = self.used()
        return "unknown (server not local)" if used is None else f"{used:.2f} s"

    def used(self) -> float | None:
        """The CPU seconds, or None when the server is not local."""
        now = self._sample()
        self._engine.dispose()
        if now is None or self._start is None:
            return None
        used = sum(ticks - self._start.get(pid, 0) for pid, ticks in now.items())
        return used / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> dict[int, int] | None:
        with self._engine.connect() as connection:
            pids = connection.execute(text("""
                SELECT pid FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
            """)).scalars().all()
        ticks = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None
            ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
        return ticks


if __name__ == "__main__":
    main()
