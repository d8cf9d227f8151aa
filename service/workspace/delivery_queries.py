"""Geometries of a delivery preview for its map: the new features, the stored ones it touches."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.layers import LAYERS
from service.packages.importing import Match, key_columns, key_of

TO_GEOJSON = "ST_AsGeoJSON(ST_Transform({geom}, 4326), 6)"
NEW_GEOMETRY = text(
    "SELECT " + TO_GEOJSON.format(geom="ST_GeomFromEWKB(decode(:hex, 'hex'))") + " AS geojson"
)


def _stored(session: Session, layer: str, ids: list[int]) -> dict[int, str]:
    if layer not in LAYERS or not ids:
        return {}
    rows = session.execute(
        text(f"SELECT id, {TO_GEOJSON.format(geom='geom')} FROM {layer} WHERE id = ANY(:ids)"),
        {"ids": ids},
    )
    return {int(row[0]): str(row[1]) for row in rows}


def _feature(geojson: str, name: str, change: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": json.loads(geojson),
        "properties": {"name": name, "change": change},
    }


def _key(layer: str, match: str, properties: dict[str, Any]) -> tuple[str, ...] | None:
    columns = key_columns(layer, Match.EXTERNAL_ID if match == "external_id" else Match.NAME)
    return key_of(properties, columns)


def affected(
    session: Session, layer: str, match: str, preview: dict[str, Any], features: list[Any]
) -> dict[str, Any]:
    """A FeatureCollection (EPSG:4326) of what the import adds, changes and leaves missing."""
    added = {_key(layer, match, item["properties"]): item["feature"] for item in preview["added"]}
    found: list[dict[str, Any]] = []
    for item in features:
        name = added.get(_key(layer, match, item["properties"]))
        if name is not None:
            geojson = session.execute(NEW_GEOMETRY, {"hex": item["geom"]}).scalar_one()
            found.append(_feature(geojson, name, "added"))
    for change in ("changed", "missing"):
        entries = {int(entry["id"]): entry["feature"] for entry in preview[change]}
        for fid, geojson in _stored(session, layer, list(entries)).items():
            found.append(_feature(geojson, entries[fid], change))
    return {"type": "FeatureCollection", "features": found}
