"""Benchmark: a price rise for 10,000 tenants, re-pricing their November drafts.

The tenants are `bench_month_end`'s (a plan change in November, usage over the
allowance, 10 % and $5.00 off: five lines each). Month-end generates their
November drafts; then the plan they are on becomes a new version at a higher
price (`db.plans.new_plan_version`) and every tenant on it moves to that
version from 2024-11-29 (`db.subscriptions.move_plan_version`), inside their
draft period, so every draft is re-priced in the move's one transaction. The
figures printed, from the same run and the same tenants:

1. month-end's generation rate (invoices/s), for scale;
2. the move's preview (a count and the money difference, saving nothing);
3. the move itself: drafts re-priced per second, goal >= 5,000.

Beside the rates: the load average, and the CPU seconds of this process and of
the server's backends (when the server is local), because other work on the
machine moves the rates. Re-pricing overlaps its Python with the server's
writes (`db.statement_worker`), so with two cores free the move takes about
the larger of the two CPU figures, not their sum.

It uses a scratch database of its own: on DATABASE_URL's server when set
(created and dropped), else on an embedded server in a temporary folder.

    python bench/bench_bulk_move.py [--tenants 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_month_end import (  # noqa: E402
    PERIOD_LABEL,
    _seed,
    _ServerCpu,
    _version,
)

from bench.scratch import bench_server, create_database, drop_database  # noqa: E402
from billing_core.money import Money  # noqa: E402
from db.change_preview import run_and_undo  # noqa: E402
from db.database import migrate_to_head  # noqa: E402
from db.month_end import run_month_end  # noqa: E402
from db.plans import new_plan_version  # noqa: E402
from db.subscriptions import move_plan_version  # noqa: E402
from tests.actors import finance  # noqa: E402

MOVE_ON = date(2024, 11, 29)  # after every seeded plan change (days 2-28): all are on the plan
ACTOR = finance("bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10_000)
    args = parser.parse_args()

    server, cleanup = bench_server()
    name = f"ledgerline_bench_{uuid.uuid4().hex[:8]}"
    try:
        engine = create_database(server, name)
        migrate_to_head(engine)
        _seed(engine, args.tenants)
        print(f"{args.tenants:,} tenants, 5 lines each; server: {_version(engine)}; "
              f"{os.cpu_count()} cores")

        server_cpu, started_cpu = _ServerCpu(engine), time.process_time()
        started = time.perf_counter()
        summary = run_month_end(engine, PERIOD_LABEL, actor=ACTOR)
        generation_seconds = time.perf_counter() - started
        if summary.invoices_created != args.tenants:
            raise SystemExit(f"expected {args.tenants} invoices, got {summary}")
        print(f"month-end generation: {generation_seconds:6.2f} s  "
              f"{args.tenants / generation_seconds:8,.0f} invoices/s  "
              f"{_where_the_time_went(started_cpu, server_cpu)}")

        with Session(engine) as session, session.begin():
            risen = new_plan_version(session, "bench-scale", Money("549.00", "USD"), actor=ACTOR)

        with Session(engine) as session, session.begin():
            started = time.perf_counter()
            preview = run_and_undo(session, lambda: move_plan_version(
                session, "bench-scale", risen.plan_id, MOVE_ON, actor=ACTOR))
            preview_seconds = time.perf_counter() - started
        print(f"move preview:         {preview_seconds:6.2f} s  {preview.tenants:,} tenants, "
              f"difference {', '.join(str(m) for m in preview.difference.values())}, "
              "nothing saved")

        server_cpu, started_cpu = _ServerCpu(engine), time.process_time()
        with Session(engine) as session, session.begin():
            started = time.perf_counter()
            moved = move_plan_version(session, "bench-scale", risen.plan_id, MOVE_ON,
                                      actor=ACTOR)
            session.flush()
        move_seconds = time.perf_counter() - started  # the commit included
        if len(moved.repriced) != args.tenants:
            raise SystemExit(f"expected {args.tenants} drafts re-priced, got "
                             f"{len(moved.repriced)}")
        print(f"bulk move:            {move_seconds:6.2f} s  "
              f"{len(moved.repriced) / move_seconds:8,.0f} drafts re-priced/s  (goal >= 5,000)  "
              f"{_where_the_time_went(started_cpu, server_cpu)}")
        with engine.connect() as connection:
            versions = connection.execute(text(
                "SELECT min(price_version), max(price_version) FROM invoices")).one()
        print(f"draft price versions after the move: {tuple(versions)}")
        engine.dispose()
    finally:
        drop_database(server, name)
        cleanup()


def _where_the_time_went(started_cpu: float, server_cpu: _ServerCpu) -> str:
    """Load average now, and the CPU seconds this process and the server's backends used."""
    client = time.process_time() - started_cpu
    server = server_cpu.used()
    server_text = "unknown (server not local)" if server is None else f"{server:.2f} s"
    return (f"[load {os.getloadavg()[0]:.1f}; CPU: this process {client:.2f} s, "
            f"server {server_text}]")


if __name__ == "__main__":
    main()
