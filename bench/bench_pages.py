"""Benchmark every screen's first full render on a database with 100,000 invoices.

A scratch database gets the demo data (the incident tenants the screens show by
default) plus synthetic tenants invoiced by the real month-end run
(`db.month_end.run_month_end`) for enough months to reach the wanted number of
invoices, and the legacy billing file of `bench_reconciliation.py` (100,000
legacy invoices of every kind, imported as finance would, so Reconciliation
shows its ~54,000 proposed corrections), and saved allocation runs that split a
shared cost across every synthetic tenant (Cost allocation's past runs, 25,000
shares each at the default size); then each page file is run once with
Streamlit's `AppTest`, as a direct link would run it, and the seconds it took
are printed as a table.

Goals: every page under 1 s, the invoice list under 0.5 s.

Run from the repository root::

    python bench/bench_pages.py                     # 100,000 invoices
    python bench/bench_pages.py --invoices 1000000 --months 10  # the list's stress size
    python bench/bench_pages.py --legacy-invoices 0  # without the legacy file
    python bench/bench_pages.py --allocation-runs 0  # without saved allocation runs
    python bench/bench_pages.py --existing postgresql+psycopg://...  # a populated database

Without `DATABASE_URL` an embedded PostgreSQL is started in a temporary folder;
with it, a scratch database is created on that server and dropped afterwards.
Pages that do not exist yet are listed as missing, not timed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from bench_reconciliation import legacy_csv  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import URL, make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.scratch import scratch_database  # noqa: E402
from billing_core.money import Money  # noqa: E402
from db.allocation_runs import allocate_by_weights  # noqa: E402
from db.database import make_engine, migrate_to_head  # noqa: E402
from db.demo_data import load_demo_data  # noqa: E402
from db.month_end import run_month_end  # noqa: E402
from db.reconciliation import import_legacy_file  # noqa: E402
from tests.actors import finance  # noqa: E402

# (page file, query parameters): each screen as a direct link opens it; {initech} is the id
# of Initech's November invoice (SPEC 4), read from the database.
PAGES: list[tuple[str, dict[str, str]]] = [
    ("Home.py", {}),
    ("pages/1_Invoices.py", {}),
    ("pages/1_Invoices.py", {"period": "2024-11", "status": "draft"}),
    ("pages/2_Invoice.py", {"tenant": "ent-initech", "invoice": "{initech}"}),
    ("pages/3_Preview.py", {}),
    ("pages/4_Credits.py", {}),
    ("pages/5_Cost_allocation.py", {}),
    ("pages/6_Month_end.py", {}),
    ("pages/7_Tenant.py", {"tenant": "ent-initech"}),
    ("pages/8_Audit_log.py", {}),
    ("pages/9_Reconciliation.py", {}),
    ("pages/10_Usage.py", {}),
    ("pages/11_Tenants_and_plans.py", {}),
]
GOAL_SECONDS = {"pages/1_Invoices.py": 0.5}
DEFAULT_GOAL_SECONDS = 1.0
LEGACY_TENANTS = 1000
BENCH_PLANS = [("bench-49", "Bench starter", 4900), ("bench-199", "Bench growth", 19900),
               ("bench-999", "Bench enterprise", 99900)]


def add_bench_tenants(engine: Engine, count: int) -> None:
    """`count` active tenants `bench-0000001`..., on three plans, all billed from day 1."""
    with engine.begin() as connection:
        for plan_id, name, price_minor in BENCH_PLANS:
            connection.execute(text("""
                INSERT INTO plans (plan_id, name, currency, recurring_price_minor)
                VALUES (:plan_id, :name, 'USD', :price) ON CONFLICT (plan_id) DO NOTHING
            """), {"plan_id": plan_id, "name": name, "price": price_minor})
        connection.execute(text("""
            INSERT INTO tenants (tenant_id, name, currency, billing_anchor_day)
            SELECT 'bench-' || lpad(g::text, 7, '0'), 'Bench tenant ' || g, 'USD', 1
            FROM generate_series(1, :count) g
        """), {"count": count})
        connection.execute(text("""
            INSERT INTO subscriptions (tenant_id, starts_on, plan_id)
            SELECT tenant_id, DATE '2023-01-01',
                   (ARRAY['bench-49', 'bench-199', 'bench-999'])[1 + abs(hashtext(tenant_id)) % 3]
            FROM tenants WHERE tenant_id LIKE 'bench-%'
        """))


def months_back(last: date, count: int) -> list[str]:
    """`count` month labels ending with `last`'s month, oldest first."""
    labels = []
    year, month = last.year, last.month
    for _ in range(count):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return labels[::-1]


def import_legacy_bench_file(engine: Engine, invoices: int) -> None:
    """`bench_reconciliation.legacy_csv` for `LEGACY_TENANTS` tenants of its own, imported as
    finance imports a file (validated, stored, reconciled)."""
    with engine.begin() as connection:
        connection.execute(text("""
            INSERT INTO tenants (tenant_id, name, currency)
            SELECT 'legacy-' || lpad(n::text, 5, '0'), 'Legacy tenant ' || n, 'USD'
            FROM generate_series(0, :last) AS n
        """), {"last": LEGACY_TENANTS - 1})
    started = time.perf_counter()
    content = legacy_csv(invoices, LEGACY_TENANTS, prefix="legacy-")
    with Session(engine) as session, session.begin():
        result = import_legacy_file(session, content, "bench-legacy.csv",
                                    actor=finance("bench"))
    print(f"  legacy file: {result.invoice_count:,} invoices, {result.allocation_count:,} "
          f"allocation shares imported in {time.perf_counter() - started:.1f} s", flush=True)


def save_allocation_runs(engine: Engine, runs: int) -> None:
    """`runs` saved splits of one shared cost across every synthetic tenant, by weights that
    differ from run to run (the same in every bench run: seeded), as finance saves them."""
    with engine.connect() as connection:
        tenant_ids = list(connection.execute(text(
            "SELECT tenant_id FROM tenants WHERE tenant_id LIKE 'bench-%' ORDER BY tenant_id"
        )).scalars())
    started = time.perf_counter()
    for run in range(runs):
        chance = random.Random(run)
        weights = {tenant_id: chance.randint(1, 1000) for tenant_id in tenant_ids}
        with Session(engine) as session, session.begin():
            allocate_by_weights(session, "Shared database cluster",
                                Money.from_minor_units(10_000_000 + 12_345 * run, "USD"),
                                weights, actor=finance("bench"))
    print(f"  {runs} allocation runs of {len(tenant_ids):,} tenants each saved in "
          f"{time.perf_counter() - started:.1f} s", flush=True)


def populate(engine: Engine, invoices: int, months: int, legacy_invoices: int,
             allocation_runs: int) -> None:
    """Demo data, then synthetic tenants invoiced by month-end runs up to `invoices` in total,
    then the legacy file of `legacy_invoices` invoices (none for 0), then `allocation_runs`
    saved splits across the synthetic tenants."""
    started = time.perf_counter()
    load_demo_data(engine)
    tenants = max(1, invoices // months)
    add_bench_tenants(engine, tenants)
    for label in months_back(date(2024, 11, 1), months):
        summary = run_month_end(engine, label, actor=finance("bench"), batch_size=5000)
        print(f"  month-end {label}: {summary.invoices_created:,} created", flush=True)
    if legacy_invoices:
        import_legacy_bench_file(engine, legacy_invoices)
    save_allocation_runs(engine, allocation_runs)
    with engine.connect() as connection:
        total = connection.execute(text("SELECT count(*) FROM invoices")).scalar_one()
        connection.execute(text("ANALYZE"))
    print(f"  {total:,} invoices in {time.perf_counter() - started:.0f} s", flush=True)


def time_pages(url: URL, rounds: int) -> list[tuple[str, str, list[float] | None]]:
    """Seconds of each page's full render with AppTest, `rounds` times; None when missing."""
    from streamlit import logger
    from streamlit.testing.v1 import AppTest

    from billing_core.access import Actor, Role
    from ledgerline_ui.shell.setup import ACTOR_KEY

    # Every screen renders only its sign-in form for a visitor: time them signed in.
    finance = Actor("finance@demo", Role.FINANCE)

    logger.set_log_level("error")  # AppTest outside a server warns about its script context
    with create_engine(url).connect() as connection:
        initech = str(connection.execute(text(
            "SELECT invoice_id FROM invoices WHERE tenant_id = 'ent-initech'"
            " AND period_label = '2024-11'")).scalar_one())
    os.environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
    os.environ["LEDGERLINE_DEMO"] = "0"
    # One untimed run starts the process's engine and checks migrations (once per
    # process in the app too), so the table shows the pages, not the start-up.
    warm = AppTest.from_file(str(REPO_ROOT / "Home.py"), default_timeout=600)
    warm.session_state[ACTOR_KEY] = finance
    warm.run()
    # A server scans the installed packages for Streamlit components once, at start; an
    # AppTest scans them again on its first run (1-2 s here). Hand each page the warm run's
    # registry so the figures are the page's, not that scan's.
    components = warm._bidi_component_manager
    results: list[tuple[str, str, list[float] | None]] = []
    for page, query in PAGES:
        path = REPO_ROOT / page
        query = {key: value.format(initech=initech) for key, value in query.items()}
        shown = "&".join(f"{key}={value}" for key, value in query.items())
        if not path.exists():
            results.append((page, shown, None))
            continue
        seconds = []
        for _ in range(rounds):
            app = AppTest.from_file(str(path), default_timeout=600)
            app._bidi_component_manager = components
            for key, value in query.items():
                app.query_params[key] = value
            app.session_state[ACTOR_KEY] = finance
            started = time.perf_counter()
            app.run()
            seconds.append(time.perf_counter() - started)
            if app.exception:
                print(f"  {page}: raised {app.exception[0].value}", flush=True)
            if any(title.value == "Sign in" for title in app.title):
                raise SystemExit(f"{page} showed the sign-in form: its timing would be meaningless")
        results.append((page, shown, seconds))
    return results


def print_table(results: list[tuple[str, str, list[float] | None]], invoices: int,
                legacy_invoices: int) -> None:
    print(f"\nFirst full render per page, AppTest, {invoices:,} invoices and "
          f"{legacy_invoices:,} legacy invoices (then a second render of the same page):")
    print(f"{'page':<60} {'first s':>8} {'again s':>8} {'goal s':>7}  verdict")
    for page, query, seconds in results:
        goal = GOAL_SECONDS.get(page, DEFAULT_GOAL_SECONDS)
        name = f"{page}?{query}" if query else page
        if seconds is None:
            print(f"{name:<60} {'-':>8} {'-':>8} {goal:>7.1f}  missing (not built yet)")
            continue
        again = f"{seconds[1]:8.3f}" if len(seconds) > 1 else f"{'-':>8}"
        verdict = "ok" if seconds[0] < goal else "SLOW"
        print(f"{name:<60} {seconds[0]:8.3f} {again} {goal:>7.1f}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=100_000,
                        help="synthetic invoices to add to the demo data (default 100,000)")
    parser.add_argument("--months", type=int, default=4,
                        help="months the synthetic invoices are spread over (default 4)")
    parser.add_argument("--legacy-invoices", type=int, default=100_000,
                        help="legacy invoices in the imported legacy file (default 100,000; "
                             "0: no legacy file)")
    parser.add_argument("--allocation-runs", type=int, default=7,
                        help="saved allocation runs across every synthetic tenant (default 7)")
    parser.add_argument("--rounds", type=int, default=2, help="renders per page (default 2)")
    parser.add_argument("--existing", metavar="URL",
                        help="time the pages on this already populated database instead")
    arguments = parser.parse_args()
    if arguments.existing:
        url = make_url(arguments.existing)
        with create_engine(url).connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM invoices")).scalar_one()
            legacy = connection.execute(text("SELECT count(*) FROM legacy_invoices")).scalar_one()
        print_table(time_pages(url, arguments.rounds), count, legacy)
        return
    with scratch_database() as url:
        engine = make_engine(url)
        migrate_to_head(engine)
        print(f"Populating {url.database} ...", flush=True)
        populate(engine, arguments.invoices, arguments.months, arguments.legacy_invoices,
                 arguments.allocation_runs)
        engine.dispose()
        results = time_pages(url, arguments.rounds)
        print_table(results, arguments.invoices, arguments.legacy_invoices)
        from db.database import get_engine
        from db.jobs import stop_background_workers

        stop_background_workers()  # the screens' job worker listens on the scratch database
        get_engine().dispose()  # let the scratch database be dropped


if __name__ == "__main__":
    main()
