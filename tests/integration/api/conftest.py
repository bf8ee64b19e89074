"""The API's tests talk HTTP to a real server: `python -m api` under uvicorn on a free port of
127.0.0.1, started once for the package, on a database of its own (cloned from the migrated
template, so the incident's tenant ids are free to use) on the real PostgreSQL.

- `api_url`: the database's URL; `api_db`: sessions on it, for the rows a test writes or counts;
- `api_base`: the server's base URL;
- `keys`: one API key per role, plus "revoked" (a finance key, revoked) and "wrong" (never
  issued); `bearer(keys, who)` makes the header.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from billing_core.access import Role
from db.api_keys import create_api_key, revoke_api_key
from db.database import make_engine, make_sessionmaker
from tests.actors import finance
from tests.conftest import _create_database, _drop_database
from tests.ui.browser.harness import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]
STARTUP_SECONDS = 90
KEY_ADMIN = finance("key-admin@test")


@pytest.fixture(scope="package")
def api_url(_database_server: URL, _template_database: URL) -> Iterator[URL]:
    url = _create_database(_database_server, f"ledgerline_api_{uuid.uuid4().hex[:8]}",
                           template=_template_database.database)
    yield url
    _drop_database(_database_server, url.database)


@pytest.fixture(scope="package")
def api_db(api_url: URL) -> Iterator[sessionmaker[Session]]:
    """Sessions on the server's database, for the rows a test writes or counts (each `begin()`
    block commits, so the server sees them)."""
    engine = make_engine(api_url, pool_size=2)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="package")
def api_base(api_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("api") / "server.log"
    env = {**os.environ, "DATABASE_URL": api_url.render_as_string(hide_password=False)}
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "api", "--port", str(port), "--host", "127.0.0.1"],
            cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base, server, log)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="package")
def key_suffix() -> str:
    """The keys of `keys` are named "<role>-<key_suffix>" (the actor the audit log names)."""
    return uuid.uuid4().hex[:6]


@pytest.fixture(scope="package")
def keys(api_db: sessionmaker[Session], key_suffix: str) -> dict[str, str]:
    suffix = key_suffix
    with api_db.begin() as session:
        made = {role.value: create_api_key(session, f"{role.value}-{suffix}", role,
                                           actor=KEY_ADMIN).key for role in Role}
        made["revoked"] = create_api_key(session, f"revoked-{suffix}", Role.FINANCE,
                                         actor=KEY_ADMIN).key
        revoke_api_key(session, f"revoked-{suffix}", actor=KEY_ADMIN)
    made["wrong"] = "ll_" + "x" * 43
    return made


@pytest.fixture
def client(api_base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_base, timeout=60) as http:
        yield http


def bearer(keys: dict[str, str], who: str) -> dict[str, str]:
    """The Authorization header of `who` (a role, "revoked" or "wrong"); "nobody" sends none."""
    return {} if who == "nobody" else {"Authorization": f"Bearer {keys[who]}"}


def _wait_until_serving(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the API exited with {server.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API did not answer within {STARTUP_SECONDS} s:\n"
                               f"{log.read_text()}")
        time.sleep(0.2)  # the pause between two looks, not the wait
