"""Benchmark the billing HTTP API on loopback, beside the same operation called in-process.

A scratch database gets Initech's November invoice (SPEC 4: a plan line, a 10 %
discount and a $50.00 promotion, four lines with their sentences) and an API key;
`python -m api` serves it on a free port of 127.0.0.1, and for `--seconds` each:

- `GET /v1/invoices/{tenant}/{id}` from `--clients` concurrent keep-alive
  connections (default 32): requests per second and p50/p99 latency. Goal:
  >= 1,000 requests/s with p99 < 50 ms. Printed beside the same operation called
  in-process: `Door.read_invoice` (the key, `require`, the invoice's JSON in one
  statement on the API's async reading pool) from as many coroutines on one uvloop.
- `POST /v1/usage-events` in batches of 1,000 events (when the metering issue's
  operation exists): events per second end to end. Goal: >= 100,000 events/s.
  Printed beside the ingestion operation called in-process with the same batches.

The load generator is a small asyncio HTTP/1.1 client on uvloop (one coroutine per
connection) so that the client, not the server, is the lighter side of the
machine's two cores. Traffic goes to 127.0.0.1 only; every loop ends at its time
limit.

Run from the repository root::

    python bench/bench_api.py                    # 10 s per figure
    python bench/bench_api.py --seconds 5 --clients 32 --only get
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count, islice, repeat
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import uvloop  # noqa: E402
from sqlalchemy.engine import URL  # noqa: E402

from api.door import Door  # noqa: E402
from bench.scratch import PRODUCTION_SETTINGS, scratch_database  # noqa: E402
from billing_core.access import Role  # noqa: E402
from billing_core.periods import calendar_month  # noqa: E402
from db.api_keys import create_api_key  # noqa: E402
from db.database import make_engine, make_sessionmaker, migrate_to_head  # noqa: E402
from db.invoicing import generate_invoice  # noqa: E402
from db.reading_pool import reading_pool  # noqa: E402
from db.usage_events import import_usage_events  # noqa: E402
from tests.actors import finance  # noqa: E402
from tests.integration.factories import (  # noqa: E402
    add_fixed_discount,
    add_percent_discount,
    add_plan,
    add_tenant,
)

TENANT = "ent-initech"
METERED_TENANTS = 1000
BATCH = 1000
STORAGE_TERMS = ("storage", "TB", "byte", 10**12, 10**12, Decimal("23.00"))
STARTUP_SECONDS = 120


@dataclass(frozen=True)
class Figure:
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: int
    cpu_seconds: float = 0.0
    """CPU time the serving side spent (the API server with its database backends, or this
    process and its backends in-process): unlike requests/s, it hardly moves when other
    programs share the machine."""
    database_cpu_seconds: float = 0.0
    """The part of `cpu_seconds` that the PostgreSQL backends spent."""

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def prepare(url: URL) -> tuple[int, str]:
    """Initech's November draft and a finance API key; returns (invoice id, key)."""
    engine = make_engine(url)
    migrate_to_head(engine)
    with make_sessionmaker(engine).begin() as session:
        add_plan(session, "bench-compute-1000", 100000)
        add_tenant(session, TENANT, plans=[(date(2024, 1, 1), "bench-compute-1000")])
        add_percent_discount(session, TENANT, 1, "10", "Enterprise discount")
        add_fixed_discount(session, TENANT, 2, 5000, "Promotional credit")
        invoice_id = generate_invoice(session, TENANT, calendar_month("2024-11"),
                                      actor=finance("bench@test")).invoice_id
        key = create_api_key(session, "bench-finance", Role.FINANCE,
                             actor=finance("bench@test")).key
        add_plan(session, "bench-metered", 10000, usage=STORAGE_TERMS)
        for number in range(METERED_TENANTS):
            add_tenant(session, f"bench-meter-{number:04d}",
                       plans=[(date(2024, 1, 1), "bench-metered")])
    engine.dispose()
    return invoice_id, key


def usage_events(batch_number: int) -> list[dict[str, object]]:
    """Batch `batch_number`: BATCH new events over the metered tenants, in December 2024 (a
    period without an invoice yet, as a meter's current month is)."""
    start = datetime(2024, 12, 1, tzinfo=UTC)
    return [{"tenant_id": f"bench-meter-{(batch_number * BATCH + n) % METERED_TENANTS:04d}",
             "event_id": f"evt-{batch_number}-{n}", "metric": "storage", "quantity": 1000 + n,
             "occurred_at": (start + timedelta(seconds=batch_number * BATCH + n)).isoformat()}
            for n in range(BATCH)]


def usage_requests(key: str, batches: Iterator[int]) -> Iterator[bytes]:
    for batch_number in batches:
        body = json.dumps({"events": usage_events(batch_number)}).encode()
        yield (f"POST /v1/usage-events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def serve(url: URL, workers: int | None) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False)}
    chosen = [] if workers is None else ["--workers", str(workers)]
    server = subprocess.Popen([sys.executable, "-m", "api", "--port", str(port), *chosen],
                              cwd=REPO_ROOT, env=env)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=5):
                return server, port
        except OSError:
            time.sleep(0.2)  # between two looks
    server.kill()
    raise RuntimeError("the API did not start")


async def _connection(port: int, requests: Iterator[bytes], stop_at: float,
                      latencies: list[float], failures: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            if time.monotonic() >= stop_at:
                break
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if not head.startswith(b"HTTP/1.1 2"):
                failures.append(1)
    finally:
        writer.close()


def load(port: int, requests: Iterator[bytes], clients: int, seconds: float,
         serving: Serving) -> Figure:
    """`clients` connections send `requests` (shared: each is sent once) until they run out or
    `seconds` pass."""
    latencies: list[float] = []
    failures: list[int] = []
    before = cpu_snapshot(serving)

    async def run() -> float:
        started = time.perf_counter()
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(_connection(port, requests, stop_at, latencies, failures)
                               for _ in range(clients)))
        return time.perf_counter() - started

    # uvloop, as the server runs on: the client is the lighter side of the shared cores.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        elapsed = runner.run(run())
    return Figure(len(latencies), elapsed, latencies, len(failures),
                  *cpu_spent(before, cpu_snapshot(serving), serving))


def in_process(call: Callable[[], object], threads: int, seconds: float,
               serving: Serving) -> Figure:
    latencies: list[float] = []
    before = cpu_snapshot(serving)
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                call()
            except StopIteration:  # the work built ahead is used up
                return
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return Figure(len(latencies), time.perf_counter() - started, latencies, 0,
                  *cpu_spent(before, cpu_snapshot(serving), serving))


def in_process_async(call: Callable[[], Awaitable[object]], tasks: int, seconds: float,
                     serving: Serving, opened: Callable[[], Awaitable[object]],
                     closed: Callable[[], Awaitable[object]]) -> Figure:
    """`in_process` for a coroutine: `tasks` coroutines on one uvloop, as a server process runs
    them (`opened` and `closed` run on that loop before and after)."""
    latencies: list[float] = []

    async def worker(stop_at: float) -> None:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - started) * 1000)

    async def run() -> tuple[float, dict[int, float], dict[int, float]]:
        await opened()
        try:
            await asyncio.gather(*(worker(time.monotonic() + 1.0) for _ in range(tasks)))  # warm
            latencies.clear()
            before = cpu_snapshot(serving)
            started = time.perf_counter()
            stop_at = time.monotonic() + seconds
            await asyncio.gather(*(worker(stop_at) for _ in range(tasks)))
            return time.perf_counter() - started, before, cpu_snapshot(serving)
        finally:
            await closed()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        elapsed, before, after = runner.run(run())
    return Figure(len(latencies), elapsed, latencies, 0, *cpu_spent(before, after, serving))


def get_request(invoice_id: int, key: str) -> bytes:
    return (f"GET /v1/invoices/{TENANT}/{invoice_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {key}\r\n\r\n").encode()


def print_row(label: str, figure: Figure, unit: str = "requests/s", scale: int = 1) -> None:
    cpu_ms = figure.cpu_seconds * 1000 / max(figure.requests, 1)
    database_ms = figure.database_cpu_seconds * 1000 / max(figure.requests, 1)
    print(f"{label:<46} {figure.per_second * scale:>10,.0f} {unit:<10} "
          f"p50 {statistics.median(figure.latencies_ms) if figure.latencies_ms else 0:6.1f} ms  "
          f"p99 {figure.percentile(0.99):6.1f} ms  CPU {cpu_ms:5.2f} ms/call "
          f"(PostgreSQL {database_ms:5.2f})  ({figure.requests:,} calls, {figure.failures} failed)")


@dataclass(frozen=True)
class Serving:
    """Whose CPU serves the calls: these processes, and the PostgreSQL backends (one per
    connection, forked) of `database`."""

    pids: tuple[int, ...]
    database: str


def server_side(server_pid: int, url: URL) -> Serving:
    """The API server with its workers (`--workers`), and its database's backends."""
    import psutil

    workers = [child.pid for child in psutil.Process(server_pid).children(recursive=True)]
    return Serving((server_pid, *workers), str(url.database))


EXITED_BACKENDS = 0
"""The snapshot's key for the CPU of backends that have ended (an overflow connection closed
between the two looks): the postmaster's reaped children, counted with the database."""


def cpu_snapshot(serving: Serving) -> dict[int, float]:
    """CPU seconds so far of each serving process, and of the backends that have ended."""
    pids, database = serving.pids, serving.database
    import psutil

    backends = [p for p in psutil.process_iter(["name", "cmdline"])
                if p.info["name"] == "postgres" and database in " ".join(p.info["cmdline"] or [])]
    snapshot = {}
    for process in [psutil.Process(pid) for pid in pids] + backends:
        try:
            times = process.cpu_times()
            snapshot[process.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    try:
        reaped = psutil.Process(backends[0].ppid()).cpu_times() if backends else None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        reaped = None
    if reaped is not None:
        snapshot[EXITED_BACKENDS] = reaped.children_user + reaped.children_system
    return snapshot


def cpu_spent(before: dict[int, float], after: dict[int, float],
              serving: Serving) -> tuple[float, float]:
    """CPU seconds spent between the snapshots: by all serving processes, and by the database
    backends among them."""
    spent = {pid: seconds - before.get(pid, 0.0) for pid, seconds in after.items()}
    return (sum(spent.values()),
            sum(seconds for pid, seconds in spent.items() if pid not in serving.pids))


def bench_get(url: URL, server_pid: int, port: int, invoice_id: int, key: str, clients: int,
              seconds: float) -> None:
    serving = server_side(server_pid, url)
    load(port, repeat(get_request(invoice_id, key)), clients, 1.0, serving)  # warm the pool
    over_http = load(port, repeat(get_request(invoice_id, key)), clients, seconds, serving)
    # The server's own door and reading pool (no Sessions on this path).
    engine = make_engine(url, pool_size=1)
    door = Door(make_sessionmaker(engine), reading_pool(url))
    direct = in_process_async(lambda: door.read_invoice(key, TENANT, invoice_id), clients,
                              seconds, Serving((os.getpid(),), str(url.database)),
                              door.readers.open, door.readers.close)
    engine.dispose()
    print_row(f"GET /v1/invoices/{{tenant}}/{{id}}, {clients} clients", over_http)
    print_row(f"  in-process Door.read_invoice, {clients} coroutines", direct)
    goal_met = over_http.per_second >= 1000 and over_http.percentile(0.99) < 50
    print(f"  goal >= 1,000 requests/s with p99 < 50 ms: {'met' if goal_met else 'NOT met'}")


def bench_usage(url: URL, server_pid: int, port: int, key: str, clients: int,
                seconds: float) -> None:
    """Batches of BATCH new events from `clients` senders, then the same operation in-process
    (`import_usage_events` on the decoded events, one transaction per batch) from as many
    threads. Every batch is built before its clock starts: a meter's CPU is not the server's
    on this machine, and building 1,000 events costs about as much as storing them."""
    batches = count()
    requests = list(usage_requests(key, islice(batches, most_batches(seconds))))
    over_http = load(port, iter(requests), clients, seconds, server_side(server_pid, url))
    del requests
    engine = make_engine(url, pool_size=clients)
    sessions = make_sessionmaker(engine)
    meter = finance("bench-in-process@test")
    prepared = iter([usage_events(number)
                     for number in islice(batches, most_batches(seconds))])
    batch_lock = threading.Lock()

    def import_batch() -> object:
        with batch_lock:
            events = next(prepared)
        with sessions.begin() as session:
            return import_usage_events(session, events, actor=meter)

    direct = in_process(import_batch, clients, seconds, Serving((os.getpid(),), str(url.database)))
    engine.dispose()
    floor = database_floor(url, batches, clients, seconds)
    print_row(f"POST /v1/usage-events x {BATCH:,}, {clients} senders", over_http, "events/s",
              BATCH)
    print_row(f"  in-process import_usage_events, {clients} threads", direct, "events/s", BATCH)
    print_row(f"  database floor: the events' COPY, {clients} threads", floor, "events/s", BATCH)
    goal_met = over_http.per_second * BATCH >= 100_000 and not over_http.failures
    print(f"  goal >= 100,000 events/s: {'met' if goal_met else 'NOT met'}")


def most_batches(seconds: float) -> int:
    """Batches built ahead for a run of `seconds`: enough for 250,000 events/s (a run that
    uses them all up ends early, its rate still measured over its own time)."""
    return int(seconds * 250_000 / BATCH) + 1


def database_floor(url: URL, batches: Iterator[int], clients: int, seconds: float) -> Figure:
    """The least database work any import does for the same batches: COPY the events into
    `usage_events` (their key), one transaction per batch, nothing checked, classified or
    audited. The straight way (db.usage_straight) does this and its checks; the day totals
    follow in the roll-up job. It bounds what the endpoint can reach on this machine, whatever
    the code around it."""
    engine = make_engine(url, pool_size=clients)
    with engine.begin() as connection:
        import_id = connection.exec_driver_sql(
            "INSERT INTO usage_imports (source, actor, actor_role) "
            "VALUES ('api', 'bench-floor@test', 'finance') RETURNING import_id").scalar_one()
    prepared = iter(["".join(f"{e['tenant_id']},{e['event_id']},{e['metric']},{e['quantity']},"
                             f"{e['occurred_at']},{import_id}\n" for e in usage_events(number))
                     for number in islice(batches, most_batches(seconds))])
    batch_lock = threading.Lock()

    def copy_batch() -> None:
        with batch_lock:
            rows = next(prepared)
        connection = engine.raw_connection()
        try:
            cursor = connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor, cursor.copy("COPY usage_events (tenant_id, event_id, metric, "
                                     "quantity_base_units, occurred_at, import_id) FROM STDIN "
                                     "(FORMAT csv)") as copy:
                copy.write(rows)
            connection.commit()
        finally:
            connection.close()

    figure = in_process(copy_batch, clients, seconds, Serving((os.getpid(),), str(url.database)))
    engine.dispose()
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32, help="concurrent readers")
    parser.add_argument("--senders", type=int, default=4, help="concurrent usage senders")
    parser.add_argument("--workers", type=int, default=None,
                        help="API server processes (default: python -m api's)")
    parser.add_argument("--only", choices=("get", "usage"), help="measure one figure only")
    parser.add_argument("--server-defaults", action="store_true",
                        help="the embedded server with PostgreSQL's default settings")
    args = parser.parse_args()
    with scratch_database(settings=None if args.server_defaults else PRODUCTION_SETTINGS) as url:
        invoice_id, key = prepare(url)
        server, port = serve(url, args.workers)
        try:
            if args.only in (None, "get"):
                bench_get(url, server.pid, port, invoice_id, key, args.clients, args.seconds)
            if args.only in (None, "usage"):
                bench_usage(url, server.pid, port, key, args.senders, args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
