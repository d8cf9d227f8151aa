"""Reads a municipality's layers for export, in package form."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.coverage.figures import past_date
from service.db.state import municipality
from service.layers import LAYERS
from service.packages.exports import frame_of


def package_frames(
    session: Session, ags: str | None, as_of: dt.date | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the municipality (as it stood at the end of `as_of`, if given), in package
    field order, in EPSG:25832."""
    town = municipality(session, ags)
    day = past_date(session, as_of)
    frames = {}
    for layer, spec in LAYERS.items():
        fields = ", ".join(spec.fields)
        source = layer if day is None else f"broadband_{layer}_at(:as_of) AS {layer}"
        where = "id = :m" if layer == "municipality" else "municipality_id = :m"
        rows = session.execute(
            text(
                f"SELECT {fields}, ST_AsBinary(geom) AS geom FROM {source} "
                f"WHERE {where} ORDER BY id"
            ),
            {"m": town.id, "as_of": day},
        ).mappings()
        frames[layer] = frame_of(layer, [dict(row) for row in rows])
    return frames
