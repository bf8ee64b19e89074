"""Every error the API answers is a problem document (RFC 9457), and never a stack trace.

`application/problem+json` with `type` ("about:blank": the status says it all),
`title` (the status's phrase), `status`, `detail` (a sentence a person can act
on) and, when one input was wrong, `field`, the name the client sent it under
("amount", "Idempotency-Key", "events.3.quantity"); `errors` lists every wrong
field when there are several.

What becomes which status is decided here once:

- 401 (with `WWW-Authenticate: Bearer`): no key, an unknown or a revoked key
  (`Unauthenticated`);
- 403: `PermissionDenied`, the key's role may not;
- 404: `NotFound`;
- 400: a body that is not JSON;
- 413: a body larger than `MAX_BODY_BYTES` (`api.body_limit`);
- 422: wrong types, unknown or missing fields, money as a JSON number,
  `InvalidInput`, `CurrencyMismatch`, and a usage batch with bad events
  (`UsageBatchRefused`: `errors` names each, `events.2.quantity` for the third);
- 409: any other `BillingError`: a state that forbids the change (already
  finalized, a plan change or discount reaching into a finalized period (its `field`
  named), a draft re-priced since it was reviewed), an idempotency key reused
  for another request, a credit that needs a second approver;
- 500: anything else, "nothing was changed"; the trace goes to the server's log only.

Every change runs in one transaction that rolls back when anything is raised, so a
refused or failed request has changed nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from billing_core.access import PermissionDenied
from billing_core.errors import BillingError, CurrencyMismatch, InvalidInput
from billing_core.subscriptions import PeriodClosed
from billing_core.usage_events import LineProblem, UsageBatchRefused
from db.errors import NotFound

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("api")


class Unauthenticated(Exception):
    """The request carried no usable API key."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


def problem(status: int, detail: str, *, field: str | None = None,
            errors: Sequence[Mapping[str, str]] = (),
            headers: Mapping[str, str] | None = None) -> Response:
    document: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase,
                                "status": status, "detail": detail}
    if field is not None:
        document["field"] = field
    if errors:
        document["errors"] = list(errors)
    return Response(json.dumps(document), status_code=status, media_type=PROBLEM_JSON,
                    headers=headers)


def billing_error_status(error: BillingError) -> int:
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, PeriodClosed):
        # It names its field (the date reaching into the period), but the input is well formed:
        # the period's state forbids it, as for any other change to a finalized invoice.
        return 409
    if isinstance(error, InvalidInput | CurrencyMismatch):
        return 422
    return 409


def unauthenticated_problem(error: Unauthenticated) -> Response:
    return problem(401, error.detail, headers={"WWW-Authenticate": "Bearer"})


def billing_problem(error: BillingError) -> Response:
    if isinstance(error, UsageBatchRefused):
        wrong = [_event_field(line) for line in error.problems]
        return problem(422, str(error), field=wrong[0]["field"], errors=wrong)
    field = error.field if isinstance(error, InvalidInput) else None
    return problem(billing_error_status(error), str(error), field=field)


def unexpected_problem(method: str, path: str, error: Exception) -> Response:
    """500: the trace goes to the server's log, never to the client."""
    log.error("%s %s failed", method, path, exc_info=error)
    return problem(500, "Something went wrong on our side; nothing was changed. Try again, "
                        "and tell the billing team if it keeps happening.")


def problem_of(error: Exception, method: str, path: str) -> Response:
    """What a lane ahead of FastAPI (`api.invoice_lane`, `api.usage_lane`) answers for an
    error, as the handlers below answer it inside FastAPI."""
    if isinstance(error, Unauthenticated):
        return unauthenticated_problem(error)
    if isinstance(error, BillingError):
        return billing_problem(error)
    return unexpected_problem(method, path, error)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Unauthenticated)
    async def unauthenticated(_request: Request, error: Unauthenticated) -> Response:
        return unauthenticated_problem(error)

    @app.exception_handler(BillingError)
    async def billing_error(_request: Request, error: BillingError) -> Response:
        return billing_problem(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> Response:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            return problem(400, "The body is not valid JSON.", field="body")
        wrong = [_wrong_field(item) for item in error.errors()] or [
            {"field": "body", "detail": "is not valid"}]
        detail = "; ".join(f"{item['field']}: {item['detail']}" for item in wrong)
        return problem(422, detail, field=wrong[0]["field"], errors=wrong)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> Response:
        detail = (error.detail if isinstance(error.detail, str)
                  else HTTPStatus(error.status_code).phrase)
        return problem(error.status_code, detail, headers=error.headers,
                       field="body" if error.status_code == 413 else None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        return unexpected_problem(request.method, request.url.path, error)


def _event_field(line: LineProblem) -> dict[str, str]:
    """A bad event of a usage batch, named as pydantic names fields: `events.2.quantity` is the
    third event (paths count from 0; positions in sentences and results count from 1)."""
    path = f"events.{line.line_no - 1}" + (f".{line.field}" if line.field else "")
    return {"field": path, "detail": f"event {line.line_no:,}: {line.problem}"}


def _wrong_field(item: Mapping[str, Any]) -> dict[str, str]:
    """pydantic's error -> {"field": "events.3.quantity", "detail": "..."}; the location's first
    part ("body", "query", "path", "header") is left out."""
    location = [str(part) for part in item.get("loc", ())[1:]]
    message = str(item.get("msg", "is not valid")).removeprefix("Value error, ")
    if item.get("type") == "extra_forbidden":
        message = "is not a field of this request"
    return {"field": ".".join(location) or "body", "detail": message}
