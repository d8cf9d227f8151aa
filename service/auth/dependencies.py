"""Who is writing: a bearer token's holder or a signed-in user; cookie writes must carry CSRF.

A token in the `Authorization` header is checked as before. Without one, the session cookie of
`/redaktion/anmelden` names the user; because a browser sends cookies on its own, a write with
the cookie must also send the session's CSRF token (header `X-CSRF-Token`, or the form field
`csrf_token` of a url-encoded form). Multipart bodies are not read here (uploads stream to their
route): they send the header, or their route checks the field with `check_csrf`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.auth import accounts, sessions
from service.auth import queries as token_store
from service.auth.sessions import SignedIn
from service.auth.tokens import Principal, bearer
from service.core import metrics
from service.core.errors import AuthenticationError, PermissionDeniedError
from service.db.engine import transaction
from service.web.throttle import client_address, rate_limits

_scheme = HTTPBearer(
    auto_error=False,
    description="A token from `broadband token create`. A browser signed in at "
    "/redaktion/anmelden may write with its session cookie plus the `X-CSRF-Token` header.",
)
_UNSET = object()
FORM_TYPE = "application/x-www-form-urlencoded"


def now() -> dt.datetime:
    """The time sessions and lock-outs are judged by."""
    return dt.datetime.now(dt.UTC)


def session_user(request: Request) -> SignedIn | None:
    """The user of a live session cookie, or None; looked up once per request."""
    cached = getattr(request.state, "signed_in", _UNSET)
    if cached is not _UNSET:
        return cast(SignedIn | None, cached)
    secret = request.cookies.get(sessions.COOKIE)
    user = None
    if secret:
        with transaction(request.app.state.sessionmaker, "session") as session:
            user = accounts.current(session, secret, now())
    request.state.signed_in = user
    return user


SessionUserDep = Annotated[SignedIn | None, Depends(session_user)]


def csrf_token(request: Request) -> str:
    """The token a signed-in page puts in its forms and fetches; empty when no one is signed in."""
    user = session_user(request)
    return "" if user is None else user.csrf_token


def check_csrf(user: SignedIn, sent: str | None) -> None:
    """403 unless the request sent back the session's CSRF token."""
    if not sessions.csrf_matches(user.csrf_token, sent):
        raise PermissionDeniedError(
            f"a write with the session cookie must send the CSRF token of the signed-in page "
            f"(header {sessions.CSRF_HEADER} or form field {sessions.CSRF_FIELD}); "
            "reload the page and try again"
        )


def _small_form(request: Request) -> bool:
    """A url-encoded form of a known, bounded size, sent with the cookie and without a token."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    limit: int = request.app.state.settings.max_body_bytes
    return (
        media_type == FORM_TYPE
        and sessions.COOKIE in request.cookies
        and "authorization" not in request.headers
        and re.fullmatch(r"[0-9]{1,30}", declared) is not None
        and int(declared) <= limit
    )


async def sent_csrf_token(request: Request) -> str | None:
    """The CSRF token sent back: the header, else the field of a small url-encoded form."""
    header = request.headers.get(sessions.CSRF_HEADER)
    if header:
        return header
    if request.method not in sessions.UNSAFE_METHODS or not _small_form(request):
        return None
    # Read whole first, so the route can still read the body; when the route's Form()
    # parameters consumed it already, the stream is gone but the parsed form is cached.
    with contextlib.suppress(RuntimeError):
        await request.body()
    value = (await request.form()).get(sessions.CSRF_FIELD)
    return value if isinstance(value, str) else None


SentCsrfDep = Annotated[str | None, Depends(sent_csrf_token)]


def _known_token(request: Request) -> Principal:
    try:
        secret = bearer(request.headers.get("authorization"))
    except AuthenticationError:
        metrics.authentication_failed("malformed")
        raise
    with request.app.state.sessionmaker() as session:
        found = token_store.find(session, secret)
    if found is None:
        metrics.authentication_failed("unknown_token")
        raise AuthenticationError("unknown or revoked token")
    return found


def _token_holder(request: Request) -> Principal:
    """The token's holder; a wrong token counts against the address, and once the address is
    over its limit, a wrong token gets 429. A right token always passes: 256 random bits cannot
    be guessed, and one prober behind a shared proxy address must not lock every editor out."""
    if not request.headers.get("authorization"):
        metrics.authentication_failed("missing")
        raise AuthenticationError(
            "writes need an `Authorization: Bearer <token>` header, or a session: "
            "sign in at /redaktion/anmelden"
        )
    try:
        return _known_token(request)
    except AuthenticationError:
        rate_limits(request).auth_failures.take(client_address(request))  # 429 once over
        raise


def principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)],
    sent_csrf: SentCsrfDep,
) -> Principal:
    """The token holder or the signed-in user, or 401; the role is checked per collection."""
    if request.headers.get("authorization") or sessions.COOKIE not in request.cookies:
        return _token_holder(request)
    user = session_user(request)
    if user is None:
        metrics.authentication_failed("session_ended")
        raise AuthenticationError(
            "the session has ended (signed out, timed out, or the account was disabled): "
            "sign in again at /redaktion/anmelden"
        )
    if request.method in sessions.UNSAFE_METHODS:
        check_csrf(user, sent_csrf)
    return user.principal


PrincipalDep = Annotated[Principal, Depends(principal)]
