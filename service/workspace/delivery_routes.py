"""The workspace's delivery upload (`/redaktion/lieferung`): preview a provider's file, then commit.

The upload is read by the same code as `POST /imports` (`packages.uploads`) and previewed and
committed by `packages.deliveries`, so the page and the API accept and refuse the same files.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.auth.dependencies import SentCsrfDep, SessionUserDep, check_csrf, csrf_token
from service.auth.routes import sign_in_redirect
from service.auth.sessions import SignedIn, wait_in_words
from service.auth.tokens import authorize
from service.core.errors import InvalidDataError, Problem, TooManyRequestsError
from service.core.settings import Settings
from service.layers import COLLECTIONS, importable
from service.packages import deliveries, uploads
from service.web import params
from service.web.deps import SessionDep, SettingsDep
from service.web.security import page_headers
from service.web.templates import templates
from service.web.throttle import take_upload
from service.workspace import delivery_queries, rules

router = APIRouter(tags=["Redaktion"], include_in_schema=False)

PAGE = "/redaktion/lieferung"
ImportId = params.ImportId
EXTRA_FIELDS = ("csrf_token",)  # beside the fields `POST /imports` reads
UPLOAD_SETTING = "BROADBAND_UPLOAD_LIMIT"
MATCHES = [("name", "nach Name"), ("external_id", "nach externer Kennung")]


def _page(
    request: Request,
    settings: Settings,
    user: SignedIn,
    status: int = 200,
    **context: Any,
) -> Response:
    context = {
        "user": user,
        "csrf_token": csrf_token(request),
        "layers": [(name, COLLECTIONS[name].german_title) for name in importable()],
        "matches": MATCHES,
        "label": rules.label,
        "value_label": rules.value_label,
        **context,
    }
    return templates.TemplateResponse(
        request,
        "redaktion/lieferung.html",
        context,
        status_code=status,
        headers=page_headers(settings),
    )


def _refused(problems: list[Problem], summary: str) -> dict[str, Any]:
    return {"problems": problems, "summary": summary}


def _too_many(request: Request, settings: Settings, user: SignedIn, wait: int) -> Response:
    """The form again (429), saying in the page's words when the next upload is possible."""
    message = (
        f"Von dieser Adresse kamen zu viele Lieferungen (Grenze: {UPLOAD_SETTING}). "
        f"Bitte versuchen Sie es {wait_in_words(wait)} erneut."
    )
    refused = _refused([Problem("Lieferung", None, None, message)], "zu viele Lieferungen")
    response = _page(request, settings, user, 429, **refused)
    response.headers["Retry-After"] = str(wait)
    return response


@router.get(PAGE, name="delivery_form")
def delivery_form(request: Request, settings: SettingsDep, user: SessionUserDep) -> Response:
    """The upload form."""
    if user is None:
        return sign_in_redirect(request, settings)
    return _page(request, settings, user)


@router.post(PAGE, name="delivery_upload")
async def delivery_upload(
    request: Request, settings: SettingsDep, user: SessionUserDep
) -> Response:
    """Check the file and store its preview (nothing else), then show it (303 to its page)."""
    if user is None:
        return sign_in_redirect(request, settings)
    try:
        take_upload(request)  # counted before the body is read, as `POST /imports` does
        async with uploads.delivery_upload(request, settings.max_import_bytes, EXTRA_FIELDS) as (
            delivery,
            form,
        ):
            check_csrf(user, uploads.text_field(form, "csrf_token"))
            authorize(user.principal, COLLECTIONS[delivery.layer])
            factory = request.app.state.sessionmaker
            record = await run_in_threadpool(deliveries.preview, factory, delivery, user.name)
    except TooManyRequestsError as limited:
        return _too_many(request, settings, user, limited.retry_after)
    except InvalidDataError as error:
        return _page(request, settings, user, 422, **_refused(error.problems, error.summary))
    return RedirectResponse(f"{PAGE}/{record.public_id}", 303, headers=page_headers(settings))


def _shown(
    request: Request,
    settings: Settings,
    user: SignedIn,
    session: Session,
    import_id: uuid.UUID,
    status: int = 200,
    **context: Any,
) -> Response:
    """The preview (or, once committed, the result) with the map of the affected features."""
    record = deliveries.stored(session, import_id, user.principal)
    collection = delivery_queries.affected(
        session, record.layer, record.match, record.preview, record.features
    )
    return _page(request, settings, user, status, record=record, affected=collection, **context)


@router.get(f"{PAGE}/{{import_id}}", name="delivery_preview")
def delivery_preview(
    request: Request,
    settings: SettingsDep,
    user: SessionUserDep,
    session: SessionDep,
    import_id: ImportId,
) -> Response:
    """The stored preview as a table and a map, with the one commit button (or the result)."""
    if user is None:
        return sign_in_redirect(request, settings)
    return _shown(request, settings, user, session, import_id)


@router.post(f"{PAGE}/{{import_id}}/uebernehmen", name="delivery_commit")
def delivery_commit(
    request: Request,
    settings: SettingsDep,
    user: SessionUserDep,
    sent_csrf: SentCsrfDep,
    import_id: ImportId,
) -> Response:
    """Apply exactly the preview in one transaction; refused (409) if the layer changed since."""
    if user is None:
        return sign_in_redirect(request, settings)
    check_csrf(user, sent_csrf)
    factory = request.app.state.sessionmaker
    try:
        deliveries.commit(factory, import_id, user.principal, settings.import_statement_timeout_ms)
    except InvalidDataError as error:
        with factory() as session:
            refused = _refused(error.problems, error.summary)
            return _shown(request, settings, user, session, import_id, 409, **refused)
    return RedirectResponse(f"{PAGE}/{import_id}", 303, headers=page_headers(settings))
