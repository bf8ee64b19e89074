"""A database server that accepts the connection and never answers is given up in seconds
(`db.database.CONNECT_TIMEOUT_SECONDS`), so the screens can say the database cannot be
reached instead of hanging for the operating system's TCP timeout."""

from __future__ import annotations

import socket
import threading

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

import db.database
from db.database import make_engine

GIVE_UP_AFTER = 60  # seconds: generous on a busy machine, far below "never"


def _connect_to_a_silent_server(query: str = "") -> tuple[bool, list[BaseException]]:
    """(still waiting after GIVE_UP_AFTER, what the attempt raised) against a socket that
    accepts connections and never says a word."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        engine = make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{port}/nothing{query}")
        raised: list[BaseException] = []

        def connect() -> None:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
            except BaseException as error:  # noqa: BLE001 - the test reads what it was
                raised.append(error)

        attempt = threading.Thread(target=connect, daemon=True)
        attempt.start()
        attempt.join(timeout=GIVE_UP_AFTER)
        engine.dispose()
        return attempt.is_alive(), raised


def test_a_server_that_never_answers_is_given_up(monkeypatch):
    monkeypatch.setattr(db.database, "CONNECT_TIMEOUT_SECONDS", 2)
    waiting, raised = _connect_to_a_silent_server()
    assert not waiting, f"the connection attempt was still waiting after {GIVE_UP_AFTER} s"
    assert len(raised) == 1 and isinstance(raised[0], OperationalError), raised


def test_a_connect_timeout_in_the_url_wins(monkeypatch):
    monkeypatch.setattr(db.database, "CONNECT_TIMEOUT_SECONDS", 10 * GIVE_UP_AFTER)
    waiting, raised = _connect_to_a_silent_server("?connect_timeout=2")
    assert not waiting, "the URL's connect_timeout was not used"
    assert len(raised) == 1 and isinstance(raised[0], OperationalError), raised
