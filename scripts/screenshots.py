"""Screenshots of every screen as each role sees it, at 1440x900, into docs/screens/.

    .venv/bin/python scripts/screenshots.py            # all roles, every screen
    .venv/bin/python scripts/screenshots.py --out /tmp/screens --roles manager

The app runs as a new user would meet it: a fresh embedded PostgreSQL in a
temporary folder (or a scratch database on `DATABASE_URL`'s server) with the
demo data, served by `streamlit run app.py`, driven by Debian's Chromium
(`/usr/bin/chromium`) through Playwright. To show the invoice hub and the
allocation trend with something in them, two things are added to the demo data
first: a $100.00 credit note on ent-umbrella's paid October invoice, and a
second run of the demo's shared database cost. Each screen is opened by its
link and signed in as the demo user of the role; the shot is taken once
Streamlit has finished the run and drawn every table and chart (a screen that
never finishes in time is shot as it stands and named in the output). Files are
`<role>-<screen>.png`, plus a few `<role>-<screen>-<state>.png` for states a
link cannot reach (a credit request under review). PNGs are reduced to 256
colours, so the folder stays a few megabytes.

Run it again whenever a screen changes, and commit the pictures with the change.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import URL  # noqa: E402

from bench.scratch import scratch_database  # noqa: E402
from billing_core.access import Actor, Role  # noqa: E402
from billing_core.money import Money  # noqa: E402
from db.database import (  # noqa: E402
    make_engine,
    make_sessionmaker,
    migrate_to_head,
)
from db.demo_data import DEMO_PASSWORD, load_demo_data  # noqa: E402
from ledgerline_ui.shell.page_links import page_url  # noqa: E402
from tests.ui.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.ui.browser.harness import SCRIPT_RUNS, served  # noqa: E402
from tests.ui.screens import DEMO_USERS, url_text, wait_until_idle  # noqa: E402

VIEWPORT = {"width": 1440, "height": 900}
WAIT_MS = 60_000
DRAWN_MS = 30_000
ROLE_NAMES = {Role.FINANCE: "finance", Role.CUSTOMER_SUCCESS: "customer-success",
              Role.MANAGER: "manager"}
FINANCE = Actor("finance@demo", Role.FINANCE)
# Drawn: every table and chart in the window has its canvas or SVG (Streamlit draws them after
# the run, and those below the fold or in a hidden tab only when they come into view).
_DRAWN = """() => {
    const shown = selector => Array.from(document.querySelectorAll(selector)).filter(element => {
        const box = element.getBoundingClientRect();
        return box.height > 0 && box.top < window.innerHeight;
    });
    return shown('[data-testid="stDataFrame"]').every(grid => grid.querySelector('canvas'))
        && shown('[data-testid="stPlotlyChart"]').every(chart => chart.querySelector('.main-svg'))
        && document.querySelector('[data-testid="stSkeleton"]') === null;
}"""


@dataclass(frozen=True, slots=True)
class Shot:
    name: str
    path: str
    act: Callable[[object], None] | None = None
    """What to do on the screen before the shot (None: as the link opens it)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screens")
    parser.add_argument("--roles", nargs="*", choices=list(ROLE_NAMES.values()),
                        default=list(ROLE_NAMES.values()))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with demo_database() as url:
        october = add_showcase_data(url)
        env = {**os.environ, "DATABASE_URL": url_text(url), "LEDGERLINE_DEMO": "0"}
        log = Path(tempfile.mkdtemp(prefix="ledgerline-shots-")) / "server.log"
        with served("app.py", env, log) as base_url:
            take_all(base_url, args.out, october,
                     [role for role, name in ROLE_NAMES.items() if name in args.roles])


@contextmanager
def demo_database() -> Iterator[URL]:
    """A new, migrated database holding the demo data; dropped afterwards."""
    with scratch_database("ledgerline_shots") as url:
        engine = make_engine(url)
        migrate_to_head(engine)
        load_demo_data(engine)
        engine.dispose()
        yield url


def add_showcase_data(url: URL) -> int:
    """A credit note on ent-umbrella's paid October invoice and a second allocation run of
    the demo's shared cost; returns that invoice's id."""
    from db.allocation_runs import allocate_by_weights
    from db.credits import issue_credit_note

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as session:
            october = session.execute(text(
                "SELECT invoice_id FROM invoices WHERE tenant_id = 'ent-umbrella' "
                "AND period_label = '2024-10'")).scalar_one()
            issue_credit_note(session, "ent-umbrella", october, Money(Decimal("100.00"), "USD"),
                              "Support hours billed twice", actor=FINANCE,
                              idempotency_key="screenshots-credit-note")
            label = session.execute(text(
                "SELECT label FROM allocation_runs ORDER BY run_id LIMIT 1")).scalar_one()
            allocate_by_weights(session, label, Money(Decimal("1150.00"), "USD"),
                                {"ent-acme-corp": "30", "ent-globex-industries": "38",
                                 "ent-initech": "32"}, actor=FINANCE)
    finally:
        engine.dispose()
    return october


def shots(october: int) -> list[Shot]:
    """Every screen by its link (the Invoice and Tenant screens on the disputed umbrella
    invoice), and the states a link cannot reach."""
    linked = {"/Invoice": f"/Invoice?tenant=ent-umbrella&invoice={october}",
              "/Tenant": "/Tenant?tenant=ent-umbrella"}
    every = [Shot(_screen_name(script), linked.get(path, path)) for script, path in screens()]
    return every + [Shot("credits-approval-review", "/Credits", _open_first_review)]


def screens() -> list[tuple[str, str]]:
    """Home and every page file, in the sidebar's order, with the URL each is served at."""
    pages = sorted((REPO_ROOT / "pages").glob("*.py"),
                   key=lambda file: (int(file.stem.split("_", 1)[0]), file.stem))
    return [("Home.py", "/")] + [(f"pages/{file.name}", page_url(f"pages/{file.name}"))
                                 for file in pages]


def _screen_name(script: str) -> str:
    """"pages/5_Cost_allocation.py" -> "cost-allocation"; "Home.py" -> "home"."""
    stem = Path(script).stem
    return (stem.split("_", 1)[1] if stem[0].isdigit() else stem).lower().replace("_", "-")


def _open_first_review(page) -> None:
    approve = page.get_by_role("button", name="Approve #").first
    if approve.count():
        approve.click()
        wait_until_idle(page)


def take_all(base_url: str, out: Path, october: int, roles: list[Role]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for role in roles:
                context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
                context.add_init_script(SCRIPT_RUNS)
                context.set_default_timeout(WAIT_MS)
                page = context.new_page()
                for shot in shots(october):
                    if shot.act is not None and role is not Role.FINANCE:
                        continue  # only finance decides requests
                    take(page, role, shot, out / f"{ROLE_NAMES[role]}-{shot.name}.png")
                context.close()
        finally:
            browser.close()


def take(page, role: Role, shot: Shot, file: Path) -> None:
    """Open `shot` signed in as `role`, wait until it is drawn, save a 256-colour PNG."""
    page.goto(shot.path)
    page.wait_for_selector('[data-testid="stMain"]')
    wait_until_idle(page)
    if page.get_by_role("heading", name="Sign in", exact=True).count():
        page.get_by_label("Email", exact=True).fill(DEMO_USERS[role])
        page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("heading", name="Sign in", exact=True).wait_for(state="detached")
        wait_until_idle(page)
    if shot.act is not None:
        shot.act(page)
    try:
        page.wait_for_function(_DRAWN, timeout=DRAWN_MS)
    except Exception:  # a slow chart is shot as it stands, and named
        print(f"  not fully drawn within {DRAWN_MS // 1000} s: {file.name}", flush=True)
    page.mouse.move(0, 0)  # no hover highlight in the picture
    page.screenshot(path=str(file))
    _reduce_colours(file)
    print(f"{file.relative_to(REPO_ROOT) if file.is_relative_to(REPO_ROOT) else file}",
          flush=True)


def _reduce_colours(file: Path) -> None:
    from PIL import Image

    with Image.open(file) as picture:
        reduced = picture.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    reduced.save(file, optimize=True)


if __name__ == "__main__":
    main()
