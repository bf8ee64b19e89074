"""The application: routes, the door they share, the body limit and the problem handlers."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from api.body_limit import BodyLimit
from api.door import Door
from api.problems import install_problem_handlers
from api.routes import credits, invoices, tenants, usage
from db.database import make_sessionmaker

DESCRIPTION = """Send usage events, create tenants and change their plans, generate, read and
finalize invoices, grant credits.

Authenticate with `Authorization: Bearer <key>` (keys: `python -m db.api_keys create`).
Money is a decimal string beside its currency, never a JSON number. Errors are
`application/problem+json` (RFC 9457) naming the `field` that was wrong.
Changes sent with an `Idempotency-Key` header answer the first response again when
repeated (keys kept 30 days); the same key with another body is 409.
Bodies above 4 MiB are refused (413)."""


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(title="Ledgerline billing API", version="1", description=DESCRIPTION)
    app.state.door = Door(make_sessionmaker(engine))
    install_problem_handlers(app)
    for module in (usage, tenants, invoices, credits):
        app.include_router(module.router)
    app.add_middleware(BodyLimit)
    return app
