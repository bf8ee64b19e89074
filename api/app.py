"""The application: routes, the door they share, the body limit and the problem handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from api.body_limit import BodyLimit
from api.door import Door
from api.invoice_lane import InvoiceLane
from api.problems import install_problem_handlers
from api.routes import credits, invoices, tenants, usage
from api.usage_lane import UsageLane
from db.database import make_sessionmaker
from db.reading_pool import reading_pool

DESCRIPTION = """Send usage events, create tenants and change their plans, generate, read and
finalize invoices, grant credits.

Authenticate with `Authorization: Bearer <key>` (keys: `python -m db.api_keys create`).
Money is a decimal string beside its currency, never a JSON number. Errors are
`application/problem+json` (RFC 9457) naming the `field` that was wrong.
Changes sent with an `Idempotency-Key` header answer the first response again when
repeated (keys kept 30 days); the same key with another body is 409.
Bodies above 4 MiB are refused (413)."""


def create_app(engine: Engine) -> FastAPI:
    door = Door(make_sessionmaker(engine), reading_pool(engine.url))

    @asynccontextmanager
    async def readers_open(_app: FastAPI) -> AsyncIterator[None]:
        await door.readers.open()
        try:
            yield
        finally:
            await door.readers.close()

    app = FastAPI(title="Ledgerline billing API", version="1", description=DESCRIPTION,
                  lifespan=readers_open)
    app.state.door = door
    install_problem_handlers(app)
    for module in (usage, tenants, invoices, credits):
        app.include_router(module.router)
    app.add_middleware(BodyLimit)
    return app


def serving_app(engine: Engine) -> UsageLane:
    """What uvicorn serves: the usage lane (`api.usage_lane`) and the invoice lane
    (`api.invoice_lane`) in front of the app."""
    app = create_app(engine)
    return UsageLane(InvoiceLane(app, app.state.door), app.state.door)
