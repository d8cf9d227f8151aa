"""Reads a municipality's layers for export, in package form."""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.db.state import municipality
from service.layers import LAYERS
from service.packages.exports import frame_of


def package_frames(session: Session, ags: str | None) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the municipality, in package field order, in EPSG:25832."""
    town = municipality(session, ags)
    frames = {}
    for layer, spec in LAYERS.items():
        fields = ", ".join(spec.fields)
        where = "id = :m" if layer == "municipality" else "municipality_id = :m"
        rows = session.execute(
            text(
                f"SELECT {fields}, ST_AsBinary(geom) AS geom FROM {layer} WHERE {where} ORDER BY id"
            ),
            {"m": town.id},
        ).mappings()
        frames[layer] = frame_of(layer, [dict(row) for row in rows])
    return frames
