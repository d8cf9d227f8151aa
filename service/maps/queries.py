"""Map layers as GeoJSON: simplified in metres, then sent as EPSG:4326 with 6 decimals (~0.1 m).

Today's map reads the tables; a past date reads `broadband_<table>_at(d)`, the features (and
their outlines and statuses) as they stood at the end of that day.
"""

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


def source(name: str, past: dt.date | None) -> str:
    """The table to read: the live one today, its state at the end of a past day otherwise."""
    return name if past is None else f"broadband_{name}_at(:day)"


def _geometry(spec: Layer, srid: int, column: str = "f.geom") -> str:
    simplified = (
        column
        if spec.geometry == "Point"
        else f"ST_SimplifyPreserveTopology({column}, {SIMPLIFY_M})"
    )
    digits = 6 if srid == 4326 else 2
    return f"CAST(ST_AsGeoJSON(ST_Transform({simplified}, {int(srid)}), {digits}) AS json)"


def layer(
    session: Session,
    m: int,
    name: str,
    as_of: dt.date,
    srid: int = 4326,
    past: dt.date | None = None,
) -> dict[str, Any]:
    """One layer as a FeatureCollection; features without a version by `as_of` are left out.

    `past` (the date itself, or None for today) reads the state of that day: its features with
    the outline and status they had then.
    """
    spec = LAYERS[name]
    where = "f.id = :m" if name == "municipality" else "f.municipality_id = :m"
    if past is None:
        columns, join = layer_sql(spec)
        head = f"WITH {FEATURE_STATUS} "
    else:  # the state function carries the status valid then and leaves out features without
        columns, join, head = ", ".join(f"f.{c}" for c in spec.map_fields), "", ""
    rows = session.execute(
        text(
            f"{head}SELECT f.id, {columns}, {_geometry(spec, srid)} AS geometry "
            f"FROM {source(name, past)} f {join} WHERE {where} ORDER BY f.id"
        ),
        {"m": m, "as_of": as_of, "day": past},
    ).all()
    return {"type": "FeatureCollection", "features": [_feature(row) for row in rows]}


def map_layers(
    session: Session, m: int, as_of: dt.date, srid: int = 4326, past: dt.date | None = None
) -> dict[str, dict[str, Any]]:
    """Every layer the map shows (never the addresses: they stay on the server), of today or,
    with `past`, as they stood that day."""
    return {name: layer(session, m, name, as_of, srid, past) for name in on_map()}


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


# Areas and Bauerschaften that differ between two dates, one row per change: added, removed,
# redrawn (with the outline it had before) or given another status (with the outline it has).
CHANGED = """
SELECT coalesce(n.id, w.id) AS id, coalesce(n.name, w.name) AS name,
    CASE WHEN w.id IS NULL THEN 'added' WHEN n.id IS NULL THEN 'removed'
        WHEN NOT ST_OrderingEquals(w.geom, n.geom) THEN 'redrawn' ELSE 'status' END AS change,
    w.status AS status_before, n.status AS status_after,
    {geometry} AS geometry
FROM (SELECT id, name, status, geom FROM broadband_{table}_at(:before)
      WHERE municipality_id = :m) w
FULL JOIN (SELECT id, name, status, geom FROM broadband_{table}_at(:after)
      WHERE municipality_id = :m) n ON n.id = w.id
WHERE w.id IS NULL OR n.id IS NULL OR NOT ST_OrderingEquals(w.geom, n.geom)
    OR w.status IS DISTINCT FROM n.status
ORDER BY 3, 2, 1
"""
CHANGING = ("areas", "hamlets")


def changes(
    session: Session, m: int, before: dt.date, after: dt.date, srid: int = 4326
) -> dict[str, Any]:
    """What changed in the areas and Bauerschaften from the end of `before` to that of `after`,
    as one FeatureCollection; a removed or redrawn feature comes with its earlier outline."""
    features = []
    for name in CHANGING:
        kept = "CASE WHEN n.id IS NULL OR NOT ST_OrderingEquals(w.geom, n.geom) THEN w.geom "
        geometry = _geometry(LAYERS[name], srid, f"{kept}ELSE n.geom END")
        rows = session.execute(
            text(CHANGED.format(table=name, geometry=geometry)),
            {"m": m, "before": before, "after": after},
        ).all()
        for row in rows:
            feature = _feature(row)
            feature["id"] = f"{name}/{row.id}"
            feature["properties"]["layer"] = name
            features.append(feature)
    return {"type": "FeatureCollection", "features": features}


def first_recorded(session: Session, m: int) -> dt.date | None:
    """The earliest date the municipality's statuses go back to: where its past begins."""
    day: dt.date | None = session.execute(
        text("SELECT min(status_since) FROM status_history WHERE municipality_id = :m"),
        {"m": m},
    ).scalar_one()
    return day
