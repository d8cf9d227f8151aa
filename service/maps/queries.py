"""Map layers as GeoJSON: simplified in metres, then sent as EPSG:4326 with 6 decimals (~0.1 m)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.coverage.queries import FEATURE_STATUS
from service.layers import LAYERS, Layer, on_map

SIMPLIFY_M = 1.0


def layer_sql(layer: Layer) -> tuple[str, str]:
    """The popup columns of a map layer, and the join to the status versions valid as of."""
    if layer.status_field is None:
        return ", ".join(f"f.{name}" for name in layer.map_fields), ""
    versioned = {layer.status_field: f"fs.status AS {layer.status_field}"}
    versioned["status_since"] = "fs.status_since"
    columns = ", ".join(versioned.get(name, f"f.{name}") for name in layer.map_fields)
    join = f"JOIN feature_status fs ON fs.feature_table = '{layer.name}' AND fs.feature_id = f.id"
    return columns, join


def _feature(row: Any) -> dict[str, Any]:
    properties = {key: value for key, value in row._mapping.items() if key not in {"geometry"}}
    for key, value in properties.items():
        if isinstance(value, dt.date):
            properties[key] = value.isoformat()
        elif value is not None and not isinstance(value, str | int | float | bool):
            properties[key] = float(value)
    return {"type": "Feature", "id": row.id, "geometry": row.geometry, "properties": properties}


def layer(session: Session, m: int, name: str, as_of: dt.date, srid: int = 4326) -> dict[str, Any]:
    """One layer as a FeatureCollection; features without a version by `as_of` are left out."""
    spec = LAYERS[name]
    columns, join = layer_sql(spec)
    where = "f.id = :m" if name == "municipality" else "f.municipality_id = :m"
    geometry = (
        "f.geom"
        if spec.geometry == "Point"
        else f"ST_SimplifyPreserveTopology(f.geom, {SIMPLIFY_M})"
    )
    geometry = f"ST_Transform({geometry}, {int(srid)})"
    digits = 6 if srid == 4326 else 2
    rows = session.execute(
        text(
            f"WITH {FEATURE_STATUS} SELECT f.id, {columns}, "
            f"CAST(ST_AsGeoJSON({geometry}, {digits}) AS json) AS geometry "
            f"FROM {name} f {join} WHERE {where} ORDER BY f.id"
        ),
        {"m": m, "as_of": as_of},
    ).all()
    return {"type": "FeatureCollection", "features": [_feature(row) for row in rows]}


def map_layers(
    session: Session, m: int, as_of: dt.date, srid: int = 4326
) -> dict[str, dict[str, Any]]:
    """Every layer the map shows (never the addresses: they stay on the server)."""
    return {name: layer(session, m, name, as_of, srid) for name in on_map()}


def town_outlines(session: Session, ids: list[int], srid: int = 4326) -> dict[str, Any]:
    """Municipality outlines by AGS, simplified like every map layer (the Kreis map's shapes)."""
    rows = session.execute(
        text(
            "SELECT ags, CAST(ST_AsGeoJSON(ST_Transform("
            f"ST_SimplifyPreserveTopology(geom, {SIMPLIFY_M}), :srid), :digits) AS json) "
            "FROM municipality WHERE id = ANY(:ids)"
        ),
        {"ids": ids, "srid": srid, "digits": 6 if srid == 4326 else 2},
    ).all()
    return {str(ags): geometry for ags, geometry in rows}
