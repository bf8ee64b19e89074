"""An error nobody planned for reaches the client as a plain 500 problem document: no trace, no
exception text; the trace goes to the server's log."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI

from api.problems import install_problem_handlers


def test_an_unexpected_error_is_a_problem_without_a_trace(caplog):
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("connection string postgresql://secret@db")

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            return await http.get("/boom")

    # In a thread of its own: a browser test earlier in the process may leave this thread's
    # event loop running, and asyncio.run refuses to start inside one.
    with caplog.at_level(logging.ERROR, logger="api"), ThreadPoolExecutor(1) as runner:
        answer = runner.submit(asyncio.run, ask()).result()

    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": "about:blank", "title": "Internal Server Error", "status": 500,
        "detail": "Something went wrong on our side; nothing was changed. Try again, and tell "
                  "the billing team if it keeps happening."}
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert "connection string" in caplog.text  # the log keeps what the client never sees
