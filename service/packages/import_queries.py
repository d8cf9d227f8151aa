"""Previews and commits imports: the preview is stored, and commit applies exactly that preview."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.core.errors import ConflictError, NotFoundError, Problem
from service.db import history, refusals
from service.db.models import Import
from service.db.state import ewkb
from service.features.status_dates import DateSource, StatusDate
from service.features.write_queries import SAME_GEOMETRY_M
from service.layers import LAYERS, FieldType
from service.packages.importing import Checked, ImportRequest, Match, key_columns, key_of
from service.packages.queries import stage
from service.packages.validation import Feature, plain

PREVIEW_DAYS = 7
"""An uncommitted preview is discarded after this many days (it holds the whole delivery)."""

EXACT_COMPARISON_WORK = 4_000_000
"""Vertices of the stored shape times those of the delivered one up to which the preview
compares them exactly (Hausdorff distance, which costs their product: ~0.1 s here)."""
SIMPLIFY_M = 0.5
"""Above that, shapes are compared simplified to this tolerance, or, if still too large, by the
area of their symmetric difference over the stored perimeter (an average offset); such a
comparison is marked `moved_approximate`, and any shape not the same to the millimetre counts as
moved, so an approximation never drops a change."""

# How far a matched shape moved: exact, simplified, or by area (a named SQL fragment).
MOVED = """CASE
  WHEN ST_NPoints(t.geom)::bigint * ST_NPoints(s.geom) <= :exact
    THEN ST_HausdorffDistance(t.geom, s.geom)
  WHEN ST_NPoints(ST_SimplifyPreserveTopology(t.geom, :tolerance))::bigint
       * ST_NPoints(ST_SimplifyPreserveTopology(s.geom, :tolerance)) <= :exact
    THEN ST_HausdorffDistance(
      ST_SimplifyPreserveTopology(t.geom, :tolerance),
      ST_SimplifyPreserveTopology(s.geom, :tolerance)
    )
  ELSE ST_Area(ST_SymDifference(t.geom, s.geom)) / GREATEST(ST_Perimeter(t.geom), 1)
END AS moved,
ST_NPoints(t.geom)::bigint * ST_NPoints(s.geom) > :exact AS moved_approximate,
NOT ST_OrderingEquals(ST_SnapToGrid(t.geom, 0.001), ST_SnapToGrid(s.geom, 0.001)) AS reshaped"""


def current_rows(
    session: Session, layer: str, municipality_id: int, match: Match
) -> dict[tuple[str, ...], dict[str, Any]]:
    """The stored features of a layer by their match key, with every package field."""
    fields = list(LAYERS[layer].fields)
    rows = session.execute(
        text(f"SELECT id, {', '.join(fields)} FROM {layer} WHERE municipality_id = :m"),
        {"m": municipality_id},
    ).mappings()
    columns = key_columns(layer, match)
    found: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        key = key_of(dict(row), columns)
        if key is not None:
            found[key] = dict(row)
    return found


def fingerprint(session: Session, layer: str, municipality_id: int) -> str:
    """Changes whenever a feature of the layer is added, removed or updated (versions bump)."""
    value: str = session.execute(
        text(
            f"SELECT md5(coalesce(string_agg(id || ':' || version, ',' ORDER BY id), '')) "
            f"FROM {layer} WHERE municipality_id = :m"
        ),
        {"m": municipality_id},
    ).scalar_one()
    return value


def _label(layer: str, values: dict[str, Any]) -> str:
    return " ".join(
        str(values[name]) for name in LAYERS[layer].label if values.get(name) is not None
    )


def _with_status_date(entry: dict[str, Any], found: StatusDate | None) -> dict[str, Any]:
    """The entry with the date its status holds from and where that came from, if it has one."""
    if found is None:
        return entry
    return {**entry, "status_date": {"date": found.day.isoformat(), "from": found.source.value}}


def _date_summary(checked: Checked, given: dt.date | None) -> dict[str, Any]:
    """How many statuses take their date from where: the file, the delivery's date, today …"""
    counts = {source.value: 0 for source in DateSource}
    for found in checked.dates.values():
        counts[found.source.value] += 1
    return {"given": given.isoformat() if given else None, "counts": counts}


def _diff(
    session: Session,
    staging: str,
    layer: str,
    m: int,
    key: tuple[str, ...],
    dates: dict[tuple[str, ...], StatusDate],
) -> dict[str, Any]:
    """What applying the staged features would do, feature by feature."""
    fields = list(LAYERS[layer].fields)
    same = " AND ".join(f"t.{c} = s.{c}" for c in key)
    matched = session.execute(
        text(
            f"SELECT t.id, {', '.join(f't.{f} AS old_{f}, s.{f} AS new_{f}' for f in fields)}, "
            f"{MOVED}, ST_Area(s.geom) - ST_Area(t.geom) AS area_change "
            f"FROM {layer} t JOIN {staging} s ON {same} WHERE t.municipality_id = :m ORDER BY t.id"
        ),
        {"m": m, "exact": EXACT_COMPARISON_WORK, "tolerance": SIMPLIFY_M},
    ).mappings()
    changed, unchanged = [], 0
    for row in matched:
        differing = {
            f: {"old": plain(row[f"old_{f}"]), "new": plain(row[f"new_{f}"])}
            for f in fields
            if plain(row[f"old_{f}"]) != plain(row[f"new_{f}"])
        }
        moved = float(row["moved"]) > SAME_GEOMETRY_M or (
            bool(row["moved_approximate"]) and bool(row["reshaped"])
        )
        if not differing and not moved:
            unchanged += 1
            continue
        new = {f: row[f"new_{f}"] for f in fields}
        entry: dict[str, Any] = {
            "id": row["id"],
            "feature": _label(layer, new),
            "fields": differing,
            "geometry_changed": moved,
        }
        entry = _with_status_date(entry, dates.get(key_of(new, key) or ()))
        if moved:  # the farthest any part of the shape moved (Hausdorff distance)
            entry["moved_m"] = round(float(row["moved"]), 2)
            if row["moved_approximate"]:  # compared simplified or by area: see MOVED
                entry["moved_approximate"] = True
        if moved and LAYERS[layer].geometry != "Point":
            entry["area_change_m2"] = round(float(row["area_change"]), 1)
        changed.append(entry)
    added = session.execute(
        text(
            f"SELECT {', '.join(f's.{f}' for f in fields)} FROM {staging} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {layer} t WHERE t.municipality_id = :m AND {same})"
        ),
        {"m": m},
    ).mappings()
    missing = session.execute(
        text(
            f"SELECT t.id, {', '.join(f't.{f}' for f in fields)} FROM {layer} t "
            f"WHERE t.municipality_id = :m AND NOT EXISTS (SELECT 1 FROM {staging} s WHERE {same}) "
            "ORDER BY t.id"
        ),
        {"m": m},
    ).mappings()
    return {
        "added": [
            _with_status_date(
                {"feature": _label(layer, dict(r)), "properties": {f: plain(r[f]) for f in fields}},
                dates.get(key_of(dict(r), key) or ()),
            )
            for r in added
        ],
        "changed": changed,
        "unchanged": unchanged,
        "missing": [{"id": r["id"], "feature": _label(layer, dict(r))} for r in missing],
    }


def _summary(diff: dict[str, Any], delete_missing: bool) -> dict[str, Any]:
    counts = {
        "added": len(diff["added"]),
        "changed": len(diff["changed"]),
        "unchanged": diff["unchanged"],
        "missing": len(diff["missing"]),
    }
    return {**diff, "counts": counts, "missing_will_be": "deleted" if delete_missing else "kept"}


def _stored_features(features: list[Feature]) -> list[dict[str, Any]]:
    return [
        {
            "label": f.label,
            "properties": {k: plain(v) for k, v in f.properties.items()},
            "geom": ewkb(f.geometry),
        }
        for f in features
    ]


def _typed(spec: Any, name: str, value: Any) -> Any:
    """A stored JSON value back in its column type (already checked at the preview)."""
    if value is None:
        return None
    if spec.fields[name].kind is FieldType.DATE:
        return dt.date.fromisoformat(value)
    return value


def _features(layer: str, stored: list[dict[str, Any]]) -> list[Feature]:
    """The checked features as stored with the preview, typed again."""
    spec = LAYERS[layer]
    return [
        Feature(
            item["label"],
            {name: _typed(spec, name, item["properties"].get(name)) for name in spec.fields},
            shapely.from_wkb(bytes.fromhex(item["geom"])),
        )
        for item in stored
    ]


@dataclass(frozen=True)
class Plan:
    """What a commit does, by feature id: the preview's decisions, nothing recomputed."""

    layer: str
    municipality_id: int
    key: tuple[str, ...]
    changed: list[int]
    moved: list[int]
    deleted: list[int]


def _plan(layer: str, m: int, key: tuple[str, ...], preview: dict[str, Any], delete: bool) -> Plan:
    changed = [entry["id"] for entry in preview["changed"]]
    moved = [entry["id"] for entry in preview["changed"] if entry["geometry_changed"]]
    deleted = [entry["id"] for entry in preview["missing"]] if delete else []
    return Plan(layer, m, key, changed, moved, deleted)


def _apply(session: Session, plan: Plan, staging: str) -> None:
    """Delete, update, insert: deletions first, so a freed name or id can be taken in the file."""
    fields = list(LAYERS[plan.layer].fields)
    same = " AND ".join(f"t.{c} = s.{c}" for c in plan.key)
    new_values = ", ".join(f"s.{f}" for f in fields)
    scope = {"m": plan.municipality_id}
    if plan.deleted:
        session.execute(
            text(f"DELETE FROM {plan.layer} WHERE id = ANY(:gone)"), {"gone": plan.deleted}
        )
    session.execute(
        text(
            f"UPDATE {plan.layer} t SET ({', '.join(fields)}) = ({new_values}), "
            "geom = CASE WHEN t.id = ANY(:moved) THEN s.geom ELSE t.geom END "
            f"FROM {staging} s WHERE t.municipality_id = :m AND {same} AND t.id = ANY(:changed)"
        ),
        {**scope, "changed": plan.changed, "moved": plan.moved},
    )
    session.execute(
        text(
            f"INSERT INTO {plan.layer} (municipality_id, {', '.join(fields)}, geom) "
            f"SELECT :m, {new_values}, s.geom FROM {staging} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {plan.layer} t WHERE t.municipality_id = :m AND {same})"
        ),
        scope,
    )


def _refused(layer: str, error: IntegrityError) -> ConflictError:
    """A clash with stored data (a name another feature keeps, say), named by its constraint.

    The database's own text (values, SQL) is logged with the request id, never sent.
    """
    message = refusals.refusal(error, f"import into {layer}")
    constraint = refusals.constraint_of(error)
    return ConflictError(
        [Problem(layer, None, constraint, f"the stored data refuses this change: {message}")],
        f"import into {layer} clashes with stored data",
    )


def _trial(session: Session, plan: Plan, staging: str) -> None:
    """Run the commit's statements and roll them back: a clash shows at the preview, not later."""
    savepoint = session.begin_nested()
    try:
        _apply(session, plan, staging)
    except IntegrityError as exc:
        savepoint.rollback()
        raise _refused(plan.layer, exc) from exc
    savepoint.rollback()


def preview(
    session: Session,
    request: ImportRequest,
    municipality_id: int,
    checked: Checked,
    actor: str,
    seen: str,
) -> Import:
    """Stage the checked features, work out the diff, try it, and keep it for the commit.

    `seen` is the layer's fingerprint when the file was checked against it; if the layer has
    changed since, the values filled in from it may be stale, so the preview is refused.
    """
    layer = request.layer
    if fingerprint(session, layer, municipality_id) != seen:
        raise ConflictError(
            [Problem(layer, None, None, "changed while the file was checked; preview it again")],
            f"{layer} changed during the preview",
        )
    key = key_columns(layer, request.match)
    staging = stage(session, layer, checked.features, key)
    found = _diff(session, staging, layer, municipality_id, key, checked.dates)
    diff = _summary(found, request.delete_missing)
    if LAYERS[layer].status_field is not None:
        diff["status_dates"] = _date_summary(checked, request.status_since)
    _trial(session, _plan(layer, municipality_id, key, diff, request.delete_missing), staging)
    session.execute(  # previews keep whole deliveries; unused ones do not pile up
        text(
            "DELETE FROM imports WHERE committed_at IS NULL "
            "AND created_at < now() - make_interval(days => :days)"
        ),
        {"days": PREVIEW_DAYS},
    )
    record = Import(
        actor=actor,
        file_name=request.name,
        layer=layer,
        municipality_id=municipality_id,
        match="external_id" if request.match is Match.EXTERNAL_ID else "key",
        delete_missing=request.delete_missing,
        fingerprint=seen,
        features=_stored_features(checked.features),
        preview=diff,
    )
    session.add(record)
    session.flush()
    return record


def get(session: Session, import_id: uuid.UUID, lock: bool = False) -> Import:
    """One import by its public id, or 404."""
    statement = select(Import).where(Import.public_id == import_id)
    found = session.execute(statement.with_for_update() if lock else statement).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"no import {import_id}")
    return found


def _conflict(record: Import, message: str) -> ConflictError:
    return ConflictError(
        [Problem(record.layer, None, None, message)], f"import {record.public_id}: {message}"
    )


def commit(session: Session, import_id: uuid.UUID, actor: str) -> Import:
    """Apply the stored preview, exactly; 409 if the layer changed since or it was applied."""
    record = get(session, import_id, lock=True)
    if record.committed_at is not None:
        raise _conflict(record, f"already committed at {record.committed_at.isoformat()}")
    layer, m = record.layer, record.municipality_id
    session.execute(text(f"LOCK TABLE {layer} IN SHARE ROW EXCLUSIVE MODE"))  # no writer slips in
    if fingerprint(session, layer, m) != record.fingerprint:
        raise _conflict(record, f"{layer} changed since the preview; preview the file again")
    session.execute(
        text("SELECT set_config('broadband.source', :source, true)"),
        {"source": f"import {record.public_id}: {record.file_name}"},
    )
    history.mark_baseline(session, layer, m)
    key = ("external_id",) if record.match == "external_id" else LAYERS[layer].key
    staging = stage(session, layer, _features(layer, record.features), key)
    plan = _plan(layer, m, key, record.preview, record.delete_missing)
    try:
        with session.begin_nested():
            _apply(session, plan, staging)
    except IntegrityError as exc:
        raise _refused(layer, exc) from exc
    record.committed_at = session.execute(text("SELECT now()")).scalar_one()
    record.committed_by = actor
    record.transaction_id = session.execute(text("SELECT txid_current()")).scalar_one()
    return record
