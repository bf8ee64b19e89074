"""Small helpers for tests of every kind (unit, integration, screens)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from billing_core.money import Money


def usd(amount: str | int) -> Money:
    """`usd("12.50")`: an amount in dollars, written as SPEC.md writes it."""
    return Money(amount, "USD")


@contextmanager
def committed_session(url: URL | str) -> Iterator[Session]:
    """A Session on a short-lived engine of its own, committed when the block ends (rolled
    back if it raises): for rows a screen or a server must see from its own connections."""
    from db.database import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


CommandRun = Callable[..., tuple[int, str, str]]


def command_in_process(main: Callable[[list[str]], int], url: URL, monkeypatch,
                       capsys) -> CommandRun:
    """`python -m db.<tool> ...` as `run(argv, stdin="")` -> (exit status, stdout, stderr), in
    this process on `url`'s database. In-process because a child process pays Python,
    SQLAlchemy and Alembic start-up on every call (tens of seconds for a few commands on a
    busy machine)."""
    import db.database

    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    monkeypatch.setattr(db.database, "_engine", None)

    def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(argv)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
