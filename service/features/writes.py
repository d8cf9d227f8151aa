"""The one write path for single features: check → lock → version → store, in one transaction.

The OGC API, the coordinator's workspace and anything else that edits one feature call these
functions, so validation, the If-Match/version check, the dated status, the change log (written
by the triggers, with the actor) and the coverage update (also triggers) happen the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from shapely.geometry import mapping
from sqlalchemy.orm import Session, sessionmaker

from service.core.crs import DEFAULT, STORAGE, Crs
from service.core.errors import BadRequestError, InvalidDataError, Problem
from service.db import state
from service.db.engine import set_actor, transaction
from service.features import checks, splitting, write_queries
from service.features import queries as items
from service.features.records import Row
from service.layers import Collection

T = TypeVar("T")
VersionCheck = Callable[[int], None]
"""Raises (412, or the workspace's conflict) unless the stored version is the one read."""


def _label(document: Any, feature_id: int | None = None) -> str:
    name = None
    if isinstance(document, dict) and isinstance(document.get("properties"), dict):
        name = document["properties"].get("name")
    where = "new feature" if feature_id is None else f"#{feature_id}"
    return f"{where} {name!r}" if isinstance(name, str) else where


def create(
    factory: sessionmaker[Session], collection: Collection, document: Any, crs: Crs, actor: str
) -> Row:
    """Insert a new feature after every check; returns it as stored (in CRS84)."""
    label = _label(document)
    draft = checks.check(document, collection, label, crs)
    with transaction(factory, actor) as session:
        boundary = state.boundary_for(session, draft.geometry, None)
        checks.check_inside(draft, collection, label, boundary.geometry, boundary.name)
        properties = checks.dated_status(collection, {}, draft.properties, state.today(session))
        draft = checks.Draft(properties, draft.geometry, draft.swapped)
        new_id = write_queries.create(session, collection, draft, boundary.id, recorded_now=True)
        return items.one(session, collection, new_id, DEFAULT)


def merged(patch: Any, current: write_queries.Current, collection: Collection, fid: int) -> Any:
    """Apply a JSON merge patch to the stored feature's properties (and maybe its geometry)."""
    if not isinstance(patch, dict):
        raise BadRequestError(
            [Problem(collection.id, f"#{fid}", None, "a merge patch must be a JSON object")],
            "invalid merge patch",
        )
    properties = patch.get("properties", {})
    if properties is not None and not isinstance(properties, dict):
        raise BadRequestError(
            [Problem(collection.id, f"#{fid}", "properties", "expected a JSON object")],
            "invalid merge patch",
        )
    stored = checks.json_values(current.properties)
    document: dict[str, Any] = {
        "type": "Feature",
        "properties": checks.merge_patch(stored, properties or {}),
    }
    if "geometry" in patch:
        document["geometry"] = patch["geometry"]
    return document


def _apply_change(
    session: Session,
    collection: Collection,
    fid: int,
    document: Any,
    crs: Crs,
    version_check: VersionCheck,
    patch: bool,
) -> None:
    """Lock, check the version, validate and store, inside the caller's transaction."""
    current = write_queries.lock(session, collection, fid)
    version_check(current.version)
    if patch:
        document = merged(document, current, collection, fid)
    label = _label(document, fid)
    draft = checks.check(document, collection, label, crs, geometry_required=not patch)
    boundary = state.boundary_for(session, None, current.municipality_id)
    checks.check_inside(draft, collection, label, boundary.geometry, boundary.name)
    properties = checks.dated_status(
        collection, current.properties, draft.properties, state.today(session)
    )
    write_queries.replace(session, collection, current, fid, properties, draft.geometry)


def change(
    factory: sessionmaker[Session],
    collection: Collection,
    fid: int,
    document: Any,
    crs: Crs,
    actor: str,
    version_check: VersionCheck,
    patch: bool,
) -> Row:
    """Replace (or merge-patch) a feature the client read at a version it proves."""
    with transaction(factory, actor) as session:
        _apply_change(session, collection, fid, document, crs, version_check, patch)
        return items.one(session, collection, fid, DEFAULT)


def preview_change(
    factory: sessionmaker[Session],
    collection: Collection,
    fid: int,
    document: Any,
    crs: Crs,
    actor: str,
    version_check: VersionCheck,
    patch: bool,
    measure: Callable[[Session], T],
) -> tuple[T, T]:
    """What `change` would do, measured before and after the same write, then rolled back.

    The triggers update coverage inside the transaction, so `measure` sees the exact effect;
    every check `change` makes is made here too, and nothing is ever committed.
    """
    with factory() as session:
        session.begin()
        try:
            set_actor(session, actor)
            before = measure(session)
            _apply_change(session, collection, fid, document, crs, version_check, patch)
            after = measure(session)
        finally:
            session.rollback()
    return before, after


def delete(
    factory: sessionmaker[Session],
    collection: Collection,
    fid: int,
    actor: str,
    version_check: VersionCheck,
) -> None:
    """Delete a feature the client read at a version it proves; the change log keeps it."""
    with transaction(factory, actor) as session:
        current = write_queries.lock(session, collection, fid)
        version_check(current.version)
        write_queries.remove(session, collection, fid)


def split(
    factory: sessionmaker[Session],
    collection: Collection,
    fid: int,
    line: Any,
    crs: Crs,
    actor: str,
    version_check: VersionCheck,
) -> tuple[Row, Row]:
    """Cut an area in two along a line, in one transaction: all of it is written or nothing.

    The feature keeps the larger part (and its id and history); a copy of its properties named
    "<name> (Teil 2)", without the external id, gets the other part. Both go through every check.
    """
    try:
        cutter = checks.to_storage(splitting.read_line(line), crs)
    except splitting.SplitError as exc:
        raise InvalidDataError([splitting.split_problem(exc)], "cannot split the area") from exc
    with transaction(factory, actor) as session:
        current = write_queries.lock(session, collection, fid)
        version_check(current.version)
        try:
            first, second = splitting.divide(
                write_queries.geometry(session, collection, fid), cutter
            )
        except splitting.SplitError as exc:
            raise InvalidDataError([splitting.split_problem(exc)], "cannot split the area") from exc
        kept = {"type": "Feature", "geometry": mapping(first)}
        _apply_change(session, collection, fid, kept, STORAGE, lambda _: None, True)
        properties = checks.json_values(current.properties)
        properties |= {"name": f"{properties.get('name')} (Teil 2)", "external_id": None}
        document = {"type": "Feature", "properties": properties, "geometry": mapping(second)}
        draft = checks.check(document, collection, _label(document), STORAGE)
        boundary = state.boundary_for(session, None, current.municipality_id)
        checks.check_inside(draft, collection, _label(document), boundary.geometry, boundary.name)
        new_id = write_queries.create(session, collection, draft, boundary.id, recorded_now=True)
        return items.one(session, collection, fid, DEFAULT), items.one(
            session, collection, new_id, DEFAULT
        )
