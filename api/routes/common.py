"""What every route takes: the caller's key, and the door of the app serving it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.door import Door

_bearer = HTTPBearer(auto_error=False, description="An API key from `python -m db.api_keys "
                                                   "create`, sent as `Bearer <key>`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def door_of(request: Request) -> Door:
    door: Door = request.app.state.door
    return door
