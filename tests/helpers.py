"""Small helpers for tests of every kind (unit, integration, screens)."""

from __future__ import annotations

from collections.abc import Iterator
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
