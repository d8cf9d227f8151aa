"""Writes the municipality's data package out as GeoPackage, GeoJSON, CSV or Shapefile."""

from __future__ import annotations

import datetime as dt
import tempfile
import warnings
import zipfile
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from service.core.spreadsheet import neutralised
from service.layers import LAYERS, STORAGE_CRS
from service.packages.validation import plain


class ExportFormat(StrEnum):
    """The formats a package can be exported in."""

    GPKG = "gpkg"
    GEOJSON = "geojson"
    CSV = "csv"
    SHP = "shp"


def _plain(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Dates as ISO text and shares as floats: every format then reads them back the same."""
    result = frame.copy()
    for column in result.columns:
        if column == result.geometry.name:
            continue
        values = list(result[column])
        if any(isinstance(v, dt.date | Decimal) for v in values):
            result[column] = [plain(v) for v in values]
    return result


def csv_text(frame: gpd.GeoDataFrame, srid: int) -> str:
    """A layer as CSV with an EWKT `geometry` column, so the CRS travels with the coordinates.

    Text that a spreadsheet would run as a formula gets a leading `'` (numbers stay numbers).
    """
    table = pd.DataFrame(_plain(frame).drop(columns=frame.geometry.name))
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = [neutralised(value) for value in table[column]]
    wkt = shapely.to_wkt(frame.geometry.values, rounding_precision=-1)
    table["geometry"] = [f"SRID={srid};{text}" for text in wkt]
    # CRLF, as RFC 4180 has it: a carriage return inside a cell is then quoted as well.
    return str(table.to_csv(index=False, lineterminator="\r\n"))


def _write_layer(frame: gpd.GeoDataFrame, layer: str, fmt: ExportFormat, folder: Path) -> None:
    plain = _plain(frame)
    if fmt is ExportFormat.GEOJSON:
        pyogrio.write_dataframe(plain, folder / f"{layer}.geojson", driver="GeoJSON")
    elif fmt is ExportFormat.CSV:
        (folder / f"{layer}.csv").write_text(csv_text(frame, 25832), encoding="utf-8")
    else:
        with warnings.catch_warnings():  # DBF names are cut to 10 characters; import maps them back
            warnings.simplefilter("ignore", RuntimeWarning)
            pyogrio.write_dataframe(plain, folder / f"{layer}.shp", encoding="UTF-8")


def write_package(frames: dict[str, gpd.GeoDataFrame], fmt: ExportFormat, out: Path) -> Path:
    """Write every layer; GeoPackage is one file, the others a folder (or a .zip of it)."""
    if fmt is ExportFormat.GPKG:
        out.unlink(missing_ok=True)
        for layer, frame in frames.items():
            pyogrio.write_dataframe(_plain(frame), out, layer=layer, driver="GPKG")
        return out
    if out.suffix != ".zip":
        out.mkdir(parents=True, exist_ok=True)
        for layer, frame in frames.items():
            _write_layer(frame, layer, fmt, out)
        return out
    with tempfile.TemporaryDirectory(prefix="broadband-export-") as scratch:
        folder = Path(scratch)
        for layer, frame in frames.items():
            _write_layer(frame, layer, fmt, folder)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, path.name)
    return out


def frame_of(layer: str, rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Rows with a WKB `geom` into a layer frame in EPSG:25832, package fields in package order."""
    fields = list(LAYERS[layer].fields)
    geometries = [shapely.from_wkb(bytes(row["geom"])) for row in rows]
    data = {name: [row[name] for row in rows] for name in fields}
    return gpd.GeoDataFrame(data, geometry=geometries, crs=STORAGE_CRS)
