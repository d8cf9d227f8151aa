"""Pages of the coordinator's workspace: overview, edit form with preview, conflicts, history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from service.auth.dependencies import SentCsrfDep, SessionUserDep, check_csrf
from service.auth.routes import sign_in_redirect
from service.auth.sessions import SignedIn
from service.auth.tokens import authorize
from service.core import crs
from service.core.errors import InvalidDataError, NotFoundError, PermissionDeniedError
from service.core.settings import Settings
from service.core.vocabulary import GERMAN_LABELS, Connection, Kind, Status
from service.features import writes
from service.layers import LAYERS, Collection
from service.maps import webmap
from service.web.deps import SessionDep, SettingsDep
from service.web.security import page_headers
from service.web.templates import templates
from service.workspace import queries, rules

router = APIRouter(tags=["Redaktion"], include_in_schema=False)

HOME = "/redaktion"
ENDED = "Ihre Sitzung ist beendet. Bitte melden Sie sich erneut an; es wurde nichts gespeichert."


async def form_values(request: Request) -> dict[str, str]:
    """The url-encoded form of a POST, text fields only."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(form_values)]


def _page(
    request: Request,
    settings: Settings,
    user: SignedIn | None,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> Response:
    base = {"user": user, "csrf_token": "" if user is None else user.csrf_token, **context}
    return templates.TemplateResponse(
        request, f"redaktion/{template}", base, status_code=status, headers=page_headers(settings)
    )


def _message(
    request: Request, settings: Settings, user: SignedIn | None, status: int, title: str, text: str
) -> Response:
    context = {"title": title, "text": text, "status": status}
    return _page(request, settings, user, "meldung.html", context, status)


def _collection(layer: str) -> Collection:
    collection = LAYERS.get(layer)
    if collection is None or collection.write_role is None:
        raise NotFoundError(f"no editable layer {layer!r}")
    return collection


def _forbidden(user: SignedIn, collection: Collection) -> str | None:
    try:
        authorize(user.principal, collection)
    except PermissionDeniedError:
        return (
            f"Die Ebene „{collection.german_title}“ darf nur die Administration bearbeiten; "
            "Ihre Rolle ist Redaktion."
        )
    return None


def _redirect(target: str, settings: Settings) -> RedirectResponse:
    return RedirectResponse(target, status_code=303, headers=page_headers(settings))


def _filters(status: str | None, kind: str | None, name: str | None, sort: str) -> queries.Filters:
    column = sort.removeprefix("-")
    return queries.Filters(
        status or None,
        kind or None,
        (name or "").strip() or None,
        column if column in rules.SORTABLE else "name",
        sort.startswith("-"),
    )


def _overview_map(
    settings: Settings,
    tables: list[tuple[Collection, list[queries.OverviewRow]]],
    labels: list[tuple[str, str]],
) -> dict[str, Any]:
    """What the overview's map reads: the tables' ids, and the public map's colours and labels."""
    return {
        "ids": {collection.name: [row.id for row in rows] for collection, rows in tables},
        "areaStyles": {
            str(style.key): {"colour": style.colour, "dash": style.dash}
            for style in webmap.AREA_STYLES
        },
        "schoolStyles": {str(key): colour for key, (colour, _) in webmap.SCHOOL_STYLES.items()},
        "labels": dict(labels),
        "basemap": settings.basemap or "",
        "attribution": settings.basemap_attribution if settings.basemap else "",
    }


def _writer(
    request: Request, settings: Settings, user: SignedIn | None, sent_csrf: str | None, layer: str
) -> Response | tuple[SignedIn, Collection]:
    """Who may write this layer from a form: signed in, the page's CSRF token, the right role."""
    if user is None:
        return _message(request, settings, None, 401, "Nicht angemeldet", ENDED)
    check_csrf(user, sent_csrf)
    collection = _collection(layer)
    if (refusal := _forbidden(user, collection)) is not None:
        return _message(request, settings, user, 403, "Keine Berechtigung", refusal)
    return user, collection


@router.get(HOME, name="workspace_overview")
def overview(
    request: Request,
    settings: SettingsDep,
    user: SessionUserDep,
    session: SessionDep,
    status: str | None = None,
    kind: str | None = None,
    name: str | None = None,
    sort: str = "name",
) -> Response:
    """Areas, Bauerschaften and schools with status, date and the addresses each one covers."""
    if user is None:
        return sign_in_redirect(request, settings)
    filters = _filters(status, kind, name, sort)
    tables = [
        (LAYERS[layer], queries.overview(session, LAYERS[layer], filters))
        for layer in rules.OVERVIEW_LAYERS
    ]
    statuses = [(s.value, GERMAN_LABELS[s]) for s in (*Status, *Connection)]
    context = {
        "tables": tables,
        "filters": filters,
        "query": {"status": filters.status or "", "kind": filters.kind or "", "name": name or ""},
        "statuses": statuses,
        "kinds": [(k.value, GERMAN_LABELS[k]) for k in Kind],
        "rules": rules,
        "map": _overview_map(settings, tables, statuses),
        "legend": webmap.AREA_STYLES,
        "school_legend": webmap.SCHOOL_STYLES,
    }
    return _page(request, settings, user, "uebersicht.html", context)


def _form_page(
    request: Request,
    settings: Settings,
    user: SignedIn,
    collection: Collection,
    feature_id: int,
    values: dict[str, Any],
    version: int,
    *,
    originals: dict[str, str],
    problems: list[Any] | None = None,
    effect: list[str] | None = None,
    saved: bool = False,
) -> Response:
    errors, general = rules.field_errors(problems or [])
    context = {
        "originals": originals,
        "original_prefix": rules.ORIGINAL,
        "collection": collection,
        "feature_id": feature_id,
        "fields": rules.form_fields(collection, values, errors),
        "version": version,
        "general": general,
        "effect": effect,
        "saved": saved,
        "name": values.get("name") or f"#{feature_id}",
    }
    return _page(request, settings, user, "formular.html", context, 422 if problems else 200)


@router.get(HOME + "/{layer}/{feature_id:int}", name="workspace_form")
def edit_form(
    request: Request,
    settings: SettingsDep,
    user: SessionUserDep,
    session: SessionDep,
    layer: str,
    feature_id: int,
    gespeichert: Annotated[bool, Query()] = False,
) -> Response:
    """The edit form of one feature, with the vocabulary as German choices."""
    if user is None:
        return sign_in_redirect(request, settings)
    collection = _collection(layer)
    if (refusal := _forbidden(user, collection)) is not None:
        return _message(request, settings, user, 403, "Keine Berechtigung", refusal)
    row = queries.feature(session, collection, feature_id)
    return _form_page(
        request,
        settings,
        user,
        collection,
        feature_id,
        row.properties,
        row.version,
        originals=rules.read_texts(collection, row.properties),
        saved=gespeichert,
    )


def _version(form: dict[str, str]) -> int:
    text = form.get("version", "")
    return int(text) if text.isdigit() else -1


def _conflict_page(
    request: Request,
    settings: Settings,
    user: SignedIn,
    collection: Collection,
    feature_id: int,
    form: dict[str, str],
) -> Response:
    """Nothing was written: whose change is in the way, theirs beside mine, and a way on."""
    factory = request.app.state.sessionmaker
    with factory() as session:
        row = queries.feature(session, collection, feature_id)
        newest = queries.feature_history(session, collection, feature_id, 1)
    rows, merged = rules.merge(collection, row.properties, form)
    context = {
        "collection": collection,
        "feature_id": feature_id,
        "name": row.properties.get("name") or f"#{feature_id}",
        "newest": newest[0].entry if newest else None,
        "when": rules.german_time(newest[0].entry.changed_at) if newest else "",
        "rows": rows,
        "merged": merged,
        "originals": rules.read_texts(collection, row.properties),
        "original_prefix": rules.ORIGINAL,
        "version": row.version,
    }
    return _page(request, settings, user, "konflikt.html", context, 409)


@router.post(HOME + "/{layer}/{feature_id:int}", name="workspace_save")
def save(
    request: Request,
    settings: SettingsDep,
    user: SessionUserDep,
    sent_csrf: SentCsrfDep,
    form: FormDep,
    layer: str,
    feature_id: int,
) -> Response:
    """Preview the effect of the form (rolled back) or save it through the one write path."""
    allowed = _writer(request, settings, user, sent_csrf, layer)
    if isinstance(allowed, Response):
        return allowed
    user, collection = allowed
    properties = rules.properties_from_form(collection, form)
    originals = {name: form.get(rules.ORIGINAL + name, "") for name in collection.fields}
    version = _version(form)
    factory = request.app.state.sessionmaker
    document = rules.patch_document(properties)
    check = rules.version_check(version)
    try:
        if form.get("action") == "preview":
            before, after = writes.preview_change(
                factory,
                collection,
                feature_id,
                document,
                crs.DEFAULT,
                user.name,
                check,
                True,
                lambda session: queries.measure(session, collection, feature_id),
            )
            status = properties.get(collection.status_field or "")
            name = str(properties.get("name") or f"#{feature_id}")
            effect = [rules.effect_text(name, status, before, after)]
            if collection.name in ("areas", "hamlets"):
                effect.append(rules.feature_text(after))
            return _form_page(
                request,
                settings,
                user,
                collection,
                feature_id,
                properties,
                version,
                originals=originals,
                effect=effect,
            )
        writes.change(
            factory, collection, feature_id, document, crs.DEFAULT, user.name, check, True
        )
    except rules.VersionConflictError:
        return _conflict_page(request, settings, user, collection, feature_id, form)
    except InvalidDataError as exc:
        return _form_page(
            request,
            settings,
            user,
            collection,
            feature_id,
            properties,
            version,
            originals=originals,
            problems=exc.problems,
        )
    return _redirect(f"{HOME}/{layer}/{feature_id}?gespeichert=true", settings)


def _history_page(
    request: Request,
    settings: Settings,
    user: SignedIn,
    collection: Collection,
    feature_id: int,
    *,
    message: str | None = None,
    status: int = 200,
) -> Response:
    factory = request.app.state.sessionmaker
    with factory() as session:
        entries = queries.feature_history(session, collection, feature_id, 500)
        current = queries.feature_or_none(session, collection, feature_id)
    context = {
        "collection": collection,
        "feature_id": feature_id,
        "entries": entries,
        "current": current,
        "message": message,
        "may_write": _forbidden(user, collection) is None,
        "rules": rules,
        "name": _name(current, entries, feature_id),
    }
    return _page(request, settings, user, "verlauf.html", context, status)


def _name(current: Any, entries: list[queries.Logged], feature_id: int) -> str:
    if current is not None and current.properties.get("name"):
        return str(current.properties["name"])
    for logged in entries:
        if logged.new and logged.new.get("name"):
            return str(logged.new["name"])
    return f"#{feature_id}"


@router.get(HOME + "/{layer}/{feature_id:int}/verlauf", name="workspace_feature_history")
def feature_history(
    request: Request,
    settings: SettingsDep,
    user: SessionUserDep,
    layer: str,
    feature_id: int,
    wiederhergestellt: Annotated[bool, Query()] = False,
) -> Response:
    """Who changed this feature when, field by field, with a way back to each older version."""
    if user is None:
        return sign_in_redirect(request, settings)
    collection = _collection(layer)
    message = (
        "Die Fassung wurde als neue Änderung wiederhergestellt." if wiederhergestellt else None
    )
    return _history_page(request, settings, user, collection, feature_id, message=message)


@router.post(HOME + "/{layer}/{feature_id:int}/wiederherstellen", name="workspace_restore")
def restore(
    request: Request,
    settings: SettingsDep,
    user: SessionUserDep,
    sent_csrf: SentCsrfDep,
    form: FormDep,
    layer: str,
    feature_id: int,
) -> Response:
    """Write an older version again as a new change; the history itself is never rewritten."""
    allowed = _writer(request, settings, user, sent_csrf, layer)
    if isinstance(allowed, Response):
        return allowed
    user, collection = allowed
    change_id = form.get("change_id", "")
    factory = request.app.state.sessionmaker
    with factory() as session:
        logged = queries.logged_row(session, int(change_id)) if change_id.isdigit() else None
    if logged is None or logged[:2] != (collection.name, feature_id) or logged[2] is None:
        raise NotFoundError(f"no restorable version {change_id!r} of {layer} #{feature_id}")
    document = rules.restored_document(collection, logged[2])
    try:
        writes.change(
            factory,
            collection,
            feature_id,
            document,
            crs.STORAGE,
            user.name,
            rules.version_check(_version(form)),
            False,
        )
    except rules.VersionConflictError:
        text = (
            "Inzwischen hat jemand anderes geändert; nichts wurde gespeichert. Bitte erneut prüfen."
        )
        return _history_page(
            request, settings, user, collection, feature_id, message=text, status=409
        )
    except InvalidDataError as exc:
        text = "Diese Fassung lässt sich nicht wiederherstellen: " + "; ".join(
            str(problem) for problem in exc.problems
        )
        return _history_page(
            request, settings, user, collection, feature_id, message=text, status=422
        )
    return _redirect(f"{HOME}/{layer}/{feature_id}/verlauf?wiederhergestellt=true", settings)


@router.get(HOME + "/verlauf", name="workspace_history")
def town_history(
    request: Request,
    settings: SettingsDep,
    user: SessionUserDep,
    session: SessionDep,
    seite: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """Every change in the municipality, newest first, one page at a time."""
    if user is None:
        return sign_in_redirect(request, settings)
    town = queries.the_municipality(session)
    offset = (seite - 1) * rules.PAGE_SIZE
    entries, total = queries.town_history(session, town.id, rules.PAGE_SIZE, offset)
    context = {
        "town": town,
        "entries": entries,
        "page": seite,
        "pages": max(1, -(-total // rules.PAGE_SIZE)),
        "total": total,
        "rules": rules,
        "layers": LAYERS,
    }
    return _page(request, settings, user, "gesamtverlauf.html", context)
