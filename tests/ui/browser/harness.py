"""The browser tests' harness: a Streamlit server on a free port, and pages that wait well.

Every wait is a condition with a generous limit, never a pause: the suite must pass on a
busy 2-core machine, where a screen can take seconds to answer. `WAIT_MS` is the limit of
every Playwright wait and `expect` assertion (set once, in conftest.py); a test gives a
longer one only where the work itself is long (a month end run).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.ui.screens import REPO_ROOT

WAIT_MS = 60_000
STARTUP_SECONDS = 90
SCRIPT_RUNS = (Path(__file__).with_name("script_runs.js")).read_text()


@contextmanager
def served(script: str | Path, env: Mapping[str, str] | None = None,
           log: Path | None = None) -> Iterator[str]:
    """Serve `script` with `streamlit run` on a free port of 127.0.0.1 from the repository root;
    yield its base URL once it answers its health check, and stop it afterwards.

    `env` replaces the environment (default: this process's); `log` keeps the server's output."""
    port = free_port()
    output = log.open("w") if log is not None else subprocess.DEVNULL
    try:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script),
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO_ROOT, env=dict(os.environ if env is None else env),
            stdout=output, stderr=subprocess.STDOUT)
    finally:
        if log is not None:
            output.close()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, server, STARTUP_SECONDS)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def new_page(browser, base_url: str | None = None, **context_options):
    """A page in a context of its own, 1400x1000 unless `viewport=` says otherwise, that counts
    its script runs (for `wait_until_idle`) and waits up to WAIT_MS. Close it with
    `page.context.close()`."""
    context = browser.new_context(base_url=base_url,
                                  **{"viewport": {"width": 1400, "height": 1000},
                                     **context_options})
    context.add_init_script(SCRIPT_RUNS)
    context.set_default_timeout(WAIT_MS)
    return context.new_page()


def table_rows(page) -> list[list[str]]:
    """The cells of every dataframe on the page, row by row (the grid's accessible table)."""
    return page.evaluate("""() => Array.from(
        document.querySelectorAll('[data-testid="stDataFrame"] table tr'),
        row => Array.from(row.querySelectorAll('td'), cell => cell.innerText))""")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(base_url: str, server: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"streamlit did not answer at {base_url} within {seconds} s")
        time.sleep(0.3)  # the pause between two looks, not the wait
