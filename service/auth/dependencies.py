"""Who is writing: the bearer token's holder, looked up by the hash of the secret."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.auth import queries as token_store
from service.auth.tokens import Principal, bearer
from service.core.errors import AuthenticationError

_scheme = HTTPBearer(auto_error=False, description="A token from `broadband token create`")


def principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)],
) -> Principal:
    """The token holder, or 401; the role is checked per collection by the route."""
    secret = bearer(request.headers.get("authorization"))
    with request.app.state.sessionmaker() as session:
        found = token_store.find(session, secret)
    if found is None:
        raise AuthenticationError("unknown or revoked token")
    return found


PrincipalDep = Annotated[Principal, Depends(principal)]
