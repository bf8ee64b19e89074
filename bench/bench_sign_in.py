"""Benchmark signing in to Home: the password hash, and everything else (issue 16: the rest
under 1 s), with Streamlit's `AppTest` running Home.py as a browser's first visit would.

Printed per step: the sign-in form's first render (a new visitor), the argon2 check alone
(`db.users.verify_password`), the submitted sign-in through to Home rendered, and that
minus the hash. Run from the repository root against a database holding the demo data::

    LEDGERLINE_DEMO=1 .venv/bin/streamlit run app.py   # once, to load the demo data
    DATABASE_URL=postgresql+psycopg://... python bench/bench_sign_in.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import text  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from db.database import get_engine  # noqa: E402
from db.demo_data import DEMO_PASSWORD  # noqa: E402
from db.users import verify_password  # noqa: E402

EMAIL = "finance@demo"


def _timed(step) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to a database holding the demo data")
    os.environ["LEDGERLINE_DEMO"] = "0"
    os.chdir(REPO_ROOT)
    with get_engine().connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM users WHERE email = :e"),
                                    {"e": EMAIL}).scalar_one()
    figures: dict[str, list[float]] = {"form": [], "hash": [], "sign-in to Home": []}
    # A server scans the installed packages for Streamlit components once, at start; each
    # AppTest scans them on its first run (1-2 s). One untimed run scans, the rest share it.
    first = AppTest.from_file(str(REPO_ROOT / "Home.py"), default_timeout=120)
    components = first.run()._bidi_component_manager
    for _ in range(args.runs):
        app = AppTest.from_file(str(REPO_ROOT / "Home.py"), default_timeout=120)
        app._bidi_component_manager = components
        figures["form"].append(_timed(app.run))
        figures["hash"].append(_timed(lambda: verify_password(stored, DEMO_PASSWORD)))
        app.text_input(key="sign_in_email").input(EMAIL)
        app.text_input(key="sign_in_password").input(DEMO_PASSWORD)
        app.button[0].click()
        figures["sign-in to Home"].append(_timed(app.run))
        if not any(m.label == "Invoices" for m in app.metric):
            print("sign-in did not reach Home", file=sys.stderr)
            return 1
    median = {step: statistics.median(seconds) for step, seconds in figures.items()}
    print(f"{'step':<28}{'median s':>10}{'max s':>10}")
    for step, seconds in figures.items():
        print(f"{step:<28}{median[step]:>10.3f}{max(seconds):>10.3f}")
    print(f"{'sign-in minus the hash':<28}{median['sign-in to Home'] - median['hash']:>10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
