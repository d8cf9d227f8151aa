"""Sign-in and sign-out pages of the workspace (`/redaktion`): a German form, a session cookie."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from service.auth import accounts, sessions
from service.auth.accounts import Opened, Refusal, Refused
from service.auth.dependencies import SentCsrfDep, SessionUserDep, check_csrf, now
from service.core import metrics
from service.core.settings import Settings
from service.db.engine import transaction
from service.web.deps import SettingsDep
from service.web.security import page_headers
from service.web.templates import templates
from service.web.throttle import client_address, rate_limits

router = APIRouter(tags=["Redaktion"], include_in_schema=False)

SIGN_IN = "/redaktion/anmelden"
SIGN_OUT = "/redaktion/abmelden"

WRONG = "Name oder Passwort falsch."
DISABLED = "Dieses Konto ist deaktiviert. Bitte wenden Sie sich an die Administration."
STALE_FORM = (
    "Das Anmeldeformular war abgelaufen oder Cookies sind blockiert. "
    "Bitte erlauben Sie Cookies für diese Seite und melden Sie sich erneut an."
)
STATUS = {Refusal.WRONG: 401, Refusal.LOCKED: 429, Refusal.DISABLED: 403}

FormText = Annotated[str, Form()]


def _cookie(response: Response, settings: Settings, name: str, value: str, path: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(sessions.ABSOLUTE_TIMEOUT.total_seconds()),
        path=path,
        secure=sessions.cookie_secure(settings.environment),
        httponly=True,
        samesite="strict",
    )


def _forget(response: Response, settings: Settings, name: str, path: str) -> None:
    response.delete_cookie(
        name,
        path=path,
        secure=sessions.cookie_secure(settings.environment),
        httponly=True,
        samesite="strict",
    )


def _form(
    request: Request,
    settings: Settings,
    *,
    name: str = "",
    next_page: str | None = None,
    message: str | None = None,
    status: int = 200,
    retry_after: int | None = None,
) -> Response:
    """The form, with the pre-session token that must come back with it (double submit)."""
    token = request.cookies.get(sessions.FORM_COOKIE) or ""
    if not sessions.looks_like_secret(token):
        token = sessions.new_secret()
    context = {
        "user": None,
        "form_token": token,
        "name": name,
        "next_page": sessions.safe_next(next_page) if next_page else None,
        "message": message,
    }
    response = templates.TemplateResponse(
        request, "anmelden.html", context, status_code=status, headers=page_headers(settings)
    )
    _cookie(response, settings, sessions.FORM_COOKIE, token, SIGN_IN)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _refusal(refused: Refused) -> str:
    if refused.reason is Refusal.LOCKED and refused.locked_until is not None:
        until = sessions.local_clock(refused.locked_until)
        return f"Zu viele Fehlversuche: Das Konto ist bis {until} Uhr gesperrt."
    return DISABLED if refused.reason is Refusal.DISABLED else WRONG


def _lock_wait(refused: Refused) -> int | None:
    """Seconds until a locked account may try again, for `Retry-After`."""
    if refused.locked_until is None:
        return None
    return max(1, int((refused.locked_until - now()).total_seconds()))


def _slow_down(wait: int) -> str:
    return (
        "Zu viele fehlgeschlagene Anmeldungen von dieser Adresse. "
        f"Bitte versuchen Sie es {sessions.wait_in_words(wait)} erneut."
    )


def _redirect(target: str, settings: Settings) -> RedirectResponse:
    return RedirectResponse(target, status_code=303, headers=page_headers(settings))


def sign_in_redirect(request: Request, settings: Settings) -> RedirectResponse:
    """Where a workspace page sends someone who is not signed in; they come back afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _redirect(f"{SIGN_IN}?{urlencode({'next': here})}", settings)


@router.get(SIGN_IN, name="sign_in_page")
def sign_in_page(
    request: Request,
    settings: SettingsDep,
    user: SessionUserDep,
    next_page: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    """The sign-in form; someone signed in already goes straight on."""
    if user is not None:
        return _redirect(sessions.safe_next(next_page), settings)
    return _form(request, settings, next_page=next_page)


@router.post(SIGN_IN, name="sign_in")
def sign_in(
    request: Request,
    settings: SettingsDep,
    name: FormText = "",
    password: FormText = "",
    csrf_token: FormText = "",
    next_page: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Check name and password; on success a session cookie and a 303 to the workspace.

    An address with too many failed sign-ins is refused before anything is checked, so a
    guesser gets no answer about the password (and costs no Argon2 time) until the window frees.
    """
    name = name.strip()
    failures, client = rate_limits(request).auth_failures, client_address(request)
    with failures.one_at_a_time(client):  # tested, verified and counted in turn per address
        wait = failures.retry_after(client)
        if wait is not None:
            return _form(
                request,
                settings,
                name=name,
                next_page=next_page,
                message=_slow_down(wait),
                status=429,
                retry_after=wait,
            )
        if not sessions.csrf_matches(request.cookies.get(sessions.FORM_COOKIE), csrf_token):
            metrics.sign_in_failed("stale_form")
            return _form(
                request, settings, name=name, next_page=next_page, message=STALE_FORM, status=403
            )
        with transaction(request.app.state.sessionmaker, "sign-in") as session:
            outcome = accounts.sign_in(session, name, password, now())
        if isinstance(outcome, Refused):
            metrics.sign_in_failed(outcome.reason.value)
            failures.count(client)
            return _form(
                request,
                settings,
                name=name,
                next_page=next_page,
                message=_refusal(outcome),
                status=STATUS[outcome.reason],
                retry_after=_lock_wait(outcome),
            )
    return _signed_in(outcome, settings, next_page)


def _signed_in(opened: Opened, settings: Settings, next_page: str) -> Response:
    response = _redirect(sessions.safe_next(next_page), settings)
    _cookie(response, settings, sessions.COOKIE, opened.secret, "/")
    _forget(response, settings, sessions.FORM_COOKIE, SIGN_IN)
    return response


@router.post(SIGN_OUT, name="sign_out")
def sign_out(
    request: Request, settings: SettingsDep, user: SessionUserDep, sent_csrf: SentCsrfDep
) -> Response:
    """End the session server-side and drop the cookie; without a live session only the latter."""
    if user is not None:
        check_csrf(user, sent_csrf)
        with transaction(request.app.state.sessionmaker, user.name) as session:
            accounts.sign_out(session, request.cookies.get(sessions.COOKIE, ""), now())
    response = _redirect(SIGN_IN, settings)
    _forget(response, settings, sessions.COOKIE, "/")
    return response
