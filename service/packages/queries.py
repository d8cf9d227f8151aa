"""Writes a checked package: set-based sync via staging, so unchanged features keep ids."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

from service.coverage.reference_queries import replace_reference
from service.db import bulk, history
from service.db.state import ewkb
from service.layers import LAYERS
from service.packages.diff import LayerDiff
from service.packages.validation import Feature, Package


def _count(session: Session, sql: str, params: dict[str, Any]) -> int:
    """Run a write statement and return how many rows it touched."""
    result = cast(CursorResult[Any], session.execute(text(sql), params))
    return result.rowcount


def _upsert_municipality(session: Session, feature: Feature) -> tuple[int, LayerDiff]:
    params = {**feature.properties, "geom": ewkb(feature.geometry)}
    found = session.execute(
        text("SELECT id FROM municipality WHERE ags = :ags"), {"ags": params["ags"]}
    ).scalar_one_or_none()
    if found is None:
        history.mark_baseline(session, "municipality", None)
        new_id: int = session.execute(
            text(
                "INSERT INTO municipality (ags, name, geom) "
                "VALUES (:ags, :name, CAST(:geom AS geometry)) RETURNING id"
            ),
            params,
        ).scalar_one()
        return new_id, LayerDiff(1, 0, 0, 0)
    updated = _count(
        session,
        "UPDATE municipality SET name = :name, geom = CAST(:geom AS geometry) "
        "WHERE id = :id AND (name IS DISTINCT FROM :name "
        "OR NOT ST_OrderingEquals(geom, CAST(:geom AS geometry)))",
        {**params, "id": found},
    )
    return found, LayerDiff(0, updated, 0, 1 - updated)


def stage(
    session: Session, layer: str, features: list[Feature], key: tuple[str, ...] | None = None
) -> str:
    """Copy the package's features into a temporary table shaped like the target table."""
    spec = LAYERS[layer]
    columns = list(spec.fields)
    staging = f"staging_{layer}"
    column_list = ", ".join(columns)
    session.execute(text(f"DROP TABLE IF EXISTS {staging}"))
    session.execute(
        text(
            f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS "
            f"SELECT {column_list}, geom FROM {layer} WITH NO DATA"
        )
    )
    if features:
        placeholders = ", ".join(f":{column}" for column in columns)
        rows: list[dict[str, Any]] = [
            {**feature.properties, "geom": ewkb(feature.geometry)} for feature in features
        ]
        session.execute(
            text(
                f"INSERT INTO {staging} ({column_list}, geom) "
                f"VALUES ({placeholders}, CAST(:geom AS geometry))"
            ),
            rows,
        )
    # Indexed and analysed, so the joins stay fast even while the target's statistics are stale
    # (a first load in the same transaction would otherwise nested-loop: seconds, not millis).
    session.execute(text(f"CREATE INDEX ON {staging} ({', '.join(key or spec.key)})"))
    session.execute(text(f"ANALYZE {staging}"))
    return staging


def _sync_layer(
    session: Session, layer: str, municipality_id: int, features: list[Feature], in_bulk: bool
) -> LayerDiff:
    """Stage the layer, then delete, update and insert in three set-based statements."""
    spec = LAYERS[layer]
    columns = list(spec.fields)
    history.mark_baseline(session, layer, municipality_id)
    staging = stage(session, layer, features)
    same_key = " AND ".join(f"t.{column} = s.{column}" for column in spec.key)
    column_list = ", ".join(columns)
    old = ", ".join(f"t.{column}" for column in columns)
    new = ", ".join(f"s.{column}" for column in columns)
    scope = {"m": municipality_id}
    deleted = _count(
        session,
        f"DELETE FROM {layer} t WHERE t.municipality_id = :m "
        f"AND NOT EXISTS (SELECT 1 FROM {staging} s WHERE {same_key})",
        scope,
    )
    updated = _count(
        session,
        f"UPDATE {layer} t SET ({column_list}, geom) = ({new}, s.geom) FROM {staging} s "
        f"WHERE t.municipality_id = :m AND {same_key} "
        f"AND (({old}) IS DISTINCT FROM ({new}) OR NOT ST_OrderingEquals(t.geom, s.geom))",
        scope,
    )
    fresh = (
        f"FROM {staging} s WHERE NOT EXISTS "
        f"(SELECT 1 FROM {layer} t WHERE t.municipality_id = :m AND {same_key})"
    )
    if in_bulk:
        incoming = session.execute(text(f"SELECT count(*) {fresh}"), scope).scalar_one()
        bulk.defer_indexes(session, layer, int(incoming))
    inserted = _count(
        session,
        f"INSERT INTO {layer} (municipality_id, {column_list}, geom) "
        f"SELECT :m, {new}, s.geom {fresh}",
        scope,
    )
    return LayerDiff(inserted, updated, deleted, len(features) - inserted - updated)


def load_package(session: Session, package: Package) -> dict[str, LayerDiff]:
    """Make the database hold exactly the package's data for its municipality; never commits."""
    municipality_id, diff = _upsert_municipality(session, package.municipality)
    diffs = {"municipality": diff}
    in_bulk = bulk.is_bulk(sum(len(features) for features in package.layers.values()))
    with bulk.bulk_load(session, [municipality_id]) if in_bulk else nullcontext():
        for layer, features in package.layers.items():
            diffs[layer] = _sync_layer(session, layer, municipality_id, features, in_bulk)
    if package.reference is not None:
        diffs["reference_figures"] = replace_reference(session, package.reference)
    return diffs


def is_empty(session: Session) -> bool:
    """Whether no municipality has been loaded yet."""
    return bool(session.execute(text("SELECT NOT EXISTS (SELECT 1 FROM municipality)")).scalar())
