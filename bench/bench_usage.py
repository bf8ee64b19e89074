"""Benchmark: importing usage events at platform scale (issue 14).

A CSV file of `--events` events for `--tenants` tenants (January 2024, spread over
its days) is written to a temporary folder, then:

1. imported by `db.usage_events.import_usage_path` (what `python -m db.usage import`
   runs) in a process of its own: events/s (goal >= 200,000) and that process's
   peak memory (goal: flat, under 500 MB, from 1M to 10M events: run it at both sizes);
2. the physical limit: a raw COPY of the same file into `usage_events` of an
   identically seeded database, in the same run; the import's rate / COPY's rate
   (goal >= 1/3);
3. the same file imported again, every event a duplicate: events/s (goal >= 500,000),
   and no invoice changed. The same bytes are known by their digest (a repeat of the
   first import, nothing read into the database), so the same events in other bytes
   (the lines in reverse order) are imported again too: each line found a duplicate by
   its key, the rate of a file that is not a copy;
4. month-end for January for every tenant, on a copy of the seeded database whose
   usage is recorded as before events (one `usage_records` row per tenant with the
   same January total, so the same usage lines) and on the database holding the
   imported events (one row per tenant, metric and day): invoices/s of each (goal:
   with events within 10 % of without).

It uses scratch databases of its own: on DATABASE_URL's server when set (created and
dropped, the server as it is configured), else on an embedded server in a temporary folder
with a production server's settings (`bench.scratch.PRODUCTION_SETTINGS`, docs/deployment.md;
`--server-defaults`: PostgreSQL's own). The settings are printed with the figures.

    python bench/bench_usage.py [--events 10000000] [--tenants 100000] [--no-month-end]
                                [--server-defaults]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_month_end import (  # noqa: E402
    _ServerCpu,
    _version,
)
from bench.scratch import (  # noqa: E402
    PRODUCTION_SETTINGS,
    bench_server,
    create_database,
    drop_database,
    server_settings,
)
from db.database import make_engine, migrate_to_head  # noqa: E402
from db.month_end import run_month_end  # noqa: E402
from db.usage_days import roll_up_pending_days  # noqa: E402
from tests.actors import finance  # noqa: E402

GB = 10**9
COPY_CHUNK_BYTES = 1 << 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--no-month-end", action="store_true",
                        help="skip the month-end comparison (part 4)")
    parser.add_argument("--server-defaults", action="store_true",
                        help="the embedded server with PostgreSQL's default settings")
    args = parser.parse_args()

    server, cleanup = bench_server(None if args.server_defaults else PRODUCTION_SETTINGS)
    names = {role: f"ledgerline_bench_{role}_{uuid.uuid4().hex[:8]}"
             for role in ("seed", "events", "copy", "no_events")}
    folder = Path(tempfile.mkdtemp(prefix="ledgerline-bench-usage-"))
    try:
        seed = create_database(server, names["seed"])
        migrate_to_head(seed)
        _seed(seed, args.tenants)
        print(f"{args.events:,} events for {args.tenants:,} tenants; server: {_version(seed)}; "
              f"{os.cpu_count()} cores")
        print(f"server settings: {server_settings(seed)}")
        seed.dispose()
        dbs = {role: create_database(server, name, template=names["seed"])
               for role, name in names.items() if role != "seed"}
        path = folder / "usage.csv"
        reordered = folder / "usage-reversed.csv"
        started = time.perf_counter()
        monthly = _write_file(path, args.events, args.tenants)
        _write_file(reordered, args.events, args.tenants, reverse=True)
        _record_usage_as_today(dbs["no_events"], monthly)
        print(f"file: {path.stat().st_size / 1e6:,.0f} MB written in "
              f"{time.perf_counter() - started:.1f} s")

        wal_before = _wal(dbs["events"])
        imported = _import_in_own_process(dbs["events"].url, path)
        import_rate = args.events / imported["seconds"]
        print(f"import:        {imported['seconds']:8.2f} s {import_rate:12,.0f} events/s  "
              f"(goal >= 200,000); {imported['counts']}; peak memory "
              f"{imported['max_rss_mb']:,.0f} MB (goal < 500, flat from 1M to 10M); {_load()}")
        print(f"  import's WAL and checkpoints: {_wal(dbs['events'], wal_before)}")
        copy_seconds = _raw_copy(dbs["copy"], path)
        copy_rate = args.events / copy_seconds
        print(f"raw COPY:      {copy_seconds:8.2f} s {copy_rate:12,.0f} events/s  {_load()}")
        print(f"import / COPY: {import_rate / copy_rate:8.1%}  (goal >= 33 %)")

        _import_again(dbs["events"], path, "re-import:    ", args.events,
                      goal="  (goal >= 500,000)")
        _import_again(dbs["events"], reordered, "  same events, lines reversed:", args.events)
        _roll_up(dbs["events"])

        if not args.no_month_end:
            # What autovacuum does within minutes of a big import, done before the clock, not
            # during it: month-end's usage sums are index-only scans only over all-visible
            # pages (the baseline's rows got the same), and an autovacuum of ten million
            # events (here, or in the raw COPY's database, dropped for that) running beside
            # one month-end and not the other took one of the two cores from it.
            dbs.pop("copy").dispose()
            drop_database(server, names.pop("copy"))
            with dbs["events"].connect().execution_options(
                    isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
            _month_ends(server, names, dbs, args.tenants)
        for engine in dbs.values():
            engine.dispose()
    finally:
        for name in names.values():
            drop_database(server, name)
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()
        cleanup()


def _load() -> str:
    """The load average beside each figure: other work on the machine moves every figure."""
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} / {five:.1f}"


def _wal(engine: Engine, since: str | None = None) -> str:
    """The server's WAL position, checkpoints so far; with `since` (an earlier answer), how
    much WAL and how many checkpoints came in between."""
    with engine.connect() as connection:
        lsn, checkpoints = connection.execute(text(
            "SELECT pg_current_wal_lsn()::text, num_timed + num_requested "
            "FROM pg_stat_checkpointer")).one()
        if since is None:
            return f"{lsn} {checkpoints}"
        lsn_before, checkpoints_before = since.split()
        wal = connection.execute(text("SELECT pg_wal_lsn_diff(CAST(:a AS pg_lsn), "
                                      "CAST(:b AS pg_lsn))"), {"a": lsn, "b": lsn_before}
                                 ).scalar_one()
    return (f"{float(wal) / 1e9:.2f} GB of WAL, "
            f"{checkpoints - int(checkpoints_before)} checkpoints")


def _seed(engine: Engine, count: int) -> None:
    """Tenants on one storage plan (GB, 100 GB included, $0.05 per GB) since 2023."""
    with engine.begin() as connection:
        connection.execute(text("""
            INSERT INTO plans (plan_id, name, currency, recurring_price_minor, usage_metric,
                               usage_unit_name, usage_base_unit_name, usage_base_units_per_unit,
                               usage_included_base_units, usage_price_per_unit)
            VALUES ('bench-storage', 'Storage', 'USD', 19900, 'storage', 'GB', 'byte',
                    1000000000, 100000000000, 0.05)
        """))
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy("COPY tenants (tenant_id, name, currency) FROM STDIN") as copy:
            for number in range(count):
                copy.write_row((_tenant(number), _tenant(number), "USD"))
        with cursor.copy("COPY subscriptions (tenant_id, starts_on, plan_id) FROM STDIN") as copy:
            for number in range(count):
                copy.write_row((_tenant(number), "2023-12-01", "bench-storage"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def _tenant(number: int) -> str:
    return f"bench-{number:06d}"


def _write_file(path: Path, events: int, tenants: int, reverse: bool = False) -> list[int]:
    """Write the events (`reverse`: the same lines, last first); returns each tenant's January
    total (base units)."""
    monthly = [0] * tenants
    with path.open("w") as out:
        out.write("tenant_id,event_id,metric,quantity,occurred_at\n")
        batch = []
        for n in range(events - 1, -1, -1) if reverse else range(events):
            quantity = (n % 997 + 1) * GB // 50
            monthly[n % tenants] += quantity
            batch.append(f"{_tenant(n % tenants)},evt-{n:010d},storage,{quantity},"
                         f"2024-01-{n % 31 + 1:02d}T{n % 24:02d}:{n % 60:02d}:00Z\n")
            if len(batch) == 10_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
    return monthly


def _record_usage_as_today(engine: Engine, monthly: list[int]) -> None:
    """The month-end baseline: the same usage as it was recorded before events, one
    `usage_records` row per tenant for the month (the same usage lines, no events)."""
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy("COPY usage_records (tenant_id, metric, used_on, quantity_base_units)"
                         " FROM STDIN") as copy:
            for number, quantity in enumerate(monthly):
                copy.write_row((_tenant(number), "storage", "2024-01-15", quantity))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE usage_records")


def _import_in_own_process(url: URL, path: Path) -> dict[str, object]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_import, args=(url.render_as_string(hide_password=False),
                                                    str(path), results))
    process.start()
    outcome = results.get()
    process.join()
    if isinstance(outcome, str):
        raise SystemExit(f"import failed: {outcome}")
    return outcome


def _import(url: str, path: str, results: multiprocessing.Queue) -> None:
    from sqlalchemy.orm import Session

    from db.usage_events import import_usage_path

    engine = make_engine(url)
    try:
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            result = import_usage_path(session, Path(path), actor=finance("bench"))
        seconds = time.perf_counter() - started
        counts = result.counts
        with engine.connect() as connection:
            repeats = connection.execute(text(
                "SELECT repeats_import_id FROM usage_imports WHERE import_id = :i"),
                {"i": result.import_id}).scalar_one()
        results.put({
            "repeats": (f"a repeat of import #{repeats} (same bytes)" if repeats
                        else "read event by event"),
            "seconds": seconds,
            "counts": (f"{counts.new:,} new, {counts.duplicate:,} duplicates, "
                       f"{counts.conflict:,} conflicts, {counts.late:,} late"),
            # ru_maxrss is in KiB on Linux
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        })
    except Exception as error:  # the parent prints it and stops
        results.put(f"{type(error).__name__}: {error}")
    finally:
        engine.dispose()


def _raw_copy(engine: Engine, path: Path) -> float:
    """COPY the file's rows as they are into `usage_events` (same table, keys and checks)."""
    with engine.begin() as connection:
        import_id = connection.execute(text("""
            INSERT INTO usage_imports (source, actor, actor_role)
            VALUES ('command', 'bench', 'finance') RETURNING import_id""")).scalar_one()
        connection.exec_driver_sql(
            f"ALTER TABLE usage_events ALTER COLUMN import_id SET DEFAULT {int(import_id)}")
    server_cpu = _ServerCpu(engine)
    started = time.perf_counter()
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy("COPY usage_events (tenant_id, event_id, metric, quantity_base_units,"
                         " occurred_at) FROM STDIN (FORMAT csv, HEADER)") as copy, \
                path.open("rb") as source:
            while chunk := source.read(COPY_CHUNK_BYTES):
                copy.write(chunk)
    seconds = time.perf_counter() - started
    print(f"  raw COPY server CPU: {server_cpu.seconds()}")
    return seconds


def _import_again(engine: Engine, path: Path, label: str, events: int, goal: str = "") -> None:
    """Import events all stored already (the same file, or the same events in other bytes),
    and check that no invoice changed."""
    invoices_before = _invoice_fingerprint(engine)
    again = _import_in_own_process(engine.url, path)
    unchanged = _invoice_fingerprint(engine) == invoices_before
    print(f"{label} {again['seconds']:8.2f} s {events / again['seconds']:12,.0f} events/s"
          f"{goal}; {again['counts']}; peak memory {again['max_rss_mb']:,.0f} MB; invoices "
          f"{'unchanged' if unchanged else 'CHANGED'}; {again['repeats']}; {_load()}")


def _roll_up(engine: Engine) -> None:
    """The day totals of the import, written by the job that follows a straight import
    (db.usage_days): its own cost, after the import's clock."""
    server_cpu = _ServerCpu(engine)
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        rolled = roll_up_pending_days(session)
    seconds = time.perf_counter() - started
    print(f"roll-up job:   {seconds:8.2f} s for {rolled.imports:,} import(s), "
          f"{rolled.days:,} day rows; server CPU {server_cpu.seconds()}; {_load()}")


def _invoice_fingerprint(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as connection:
        return tuple(connection.execute(text("""
            SELECT count(*), coalesce(sum(total_minor), 0), coalesce(sum(price_version), 0)
            FROM invoices""")).one())


def _month_ends(server: URL, names: dict[str, str], dbs: dict[str, Engine],
                tenants: int) -> None:
    """Month-end with and without the events, twice each, in the order without, with, with,
    without (each on a copy of its database as it was): a drift of the machine during the
    runs (the kernel writing out what the import left, other work) weighs on both sides
    alike. Each figure is printed; the ratio is of the total times."""
    for role in ("no_events", "events"):
        dbs.pop(role).dispose()
        names[f"{role}_again"] = f"{names[role]}_again"
        create_database(server, names[f"{role}_again"], template=names[role]).dispose()
        dbs[role] = make_engine(server.set(database=names[role]))
        dbs[f"{role}_again"] = make_engine(server.set(database=names[f"{role}_again"]))
    with dbs["events"].connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("CHECKPOINT")
    rates: dict[str, list[float]] = {"no_events": [], "events": []}
    for role, database in (("no_events", "no_events"), ("events", "events"),
                           ("events", "events_again"), ("no_events", "no_events_again")):
        rates[role].append(_month_end(dbs[database], tenants))
        label = "with the events" if role == "events" else "without events"
        print(f"month-end {label + ':':16s} {rates[role][-1]:10,.0f} invoices/s  {_load()}")
    seconds = {role: sum(tenants / rate for rate in found) for role, found in rates.items()}
    print(f"month-end with events / without (one usage record a tenant), both runs: "
          f"{seconds['no_events'] / seconds['events']:.1%}  (goal >= 90 %)")


def _month_end(engine: Engine, tenants: int) -> float:
    started = time.perf_counter()
    summary = run_month_end(engine, "2024-01", actor=finance("bench"), batch_size=5000,
                            workers=2)
    seconds = time.perf_counter() - started
    if summary.invoices_created != tenants:
        raise SystemExit(f"expected {tenants:,} invoices, got {summary}")
    return tenants / seconds


if __name__ == "__main__":
    main()
