"""Reads a delivery (GeoPackage, zipped Shapefile, GeoJSON, CSV or spreadsheet) into EPSG:25832."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS
from pyproj.exceptions import CRSError, ProjError

from service.core.errors import InvalidDataError, Problem
from service.layers import STORAGE_CRS

TABLES = (".csv", ".txt", ".xlsx", ".ods")
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "geometrie")
LON = ("lon", "lng", "long", "longitude", "laenge", "länge")
LAT = ("lat", "latitude", "breite")
EAST = ("x", "rechtswert", "easting", "ostwert")
NORTH = ("y", "hochwert", "northing", "nordwert")
EWKT = re.compile(r"^\s*SRID=(\d+);(.*)$", re.IGNORECASE | re.DOTALL)
SYSTEM_PROJ_DATA = Path("/usr/share/proj")

# The pip build of PROJ ships no transformation grids; Debian's proj-data has the German BETA2007
# grid, without which Gauss-Krüger (DHDN) coordinates are off by up to a metre or two.
if SYSTEM_PROJ_DATA.is_dir():
    pyproj.datadir.append_data_dir(str(SYSTEM_PROJ_DATA))


@dataclass(frozen=True)
class ReadOptions:
    """How to read a delivery: which layer in the file, its CRS if it has none, its encoding."""

    source_layer: str | None = None
    crs: str | None = None
    encoding: str | None = None


def _refuse(name: str, message: str) -> InvalidDataError:
    return InvalidDataError([Problem(name, None, None, message)], f"cannot read {name}")


def _crs(value: str, name: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise _refuse(name, f"unknown CRS {value!r}: {exc}") from exc


def _member(path: Path, layer: str, options: ReadOptions, limit: int) -> str:
    """The dataset inside a zip: its one Shapefile (or the one named like the layer)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [e for e in archive.infolist() if not e.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(path.name, f"not a readable zip file: {exc}") from exc
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > limit:
        raise _refuse(path.name, f"unpacks to {unpacked:,} bytes, over the limit of {limit:,}")
    names = [  # macOS adds __MACOSX/ and ._ resource forks, which are not data
        e.filename
        for e in entries
        if not e.filename.startswith("__MACOSX/") and not Path(e.filename).name.startswith("._")
    ]
    readable = [n for n in names if n.lower().endswith((".shp", ".gpkg", ".geojson", ".json"))]
    wanted = options.source_layer or layer
    chosen = [n for n in readable if Path(n).stem == wanted] or readable
    if len(chosen) != 1:
        found = ", ".join(readable) or "nothing readable"
        raise _refuse(path.name, f"expected one Shapefile (or --source-layer), found {found}")
    shapefile = chosen[0]
    if shapefile.lower().endswith(".shp"):
        stem = shapefile[:-4]
        missing = [
            s for s in (".shx", ".dbf") if not any(n.lower() == (stem + s).lower() for n in names)
        ]
        if missing:
            raise _refuse(path.name, f"{shapefile} comes without {' and '.join(missing)}")
    return f"/vsizip/{path}/{shapefile}"


def _layer_in(path: str, name: str, layer: str, options: ReadOptions) -> str | None:
    """The layer of a multi-layer file to read: the one asked for, the only one, or the target's."""
    layers = [str(entry[0]) for entry in pyogrio.list_layers(path)]
    if options.source_layer is not None:
        if options.source_layer not in layers:
            raise _refuse(name, f"no layer {options.source_layer!r}; layers: {', '.join(layers)}")
        return options.source_layer
    if len(layers) <= 1:
        return None
    if layer in layers:
        return layer
    raise _refuse(name, f"several layers ({', '.join(layers)}): choose one with --source-layer")


def _read_vector(path: Path, layer: str, options: ReadOptions, limit: int) -> gpd.GeoDataFrame:
    zipped = path.suffix.lower() == ".zip"
    source = _member(path, layer, options, limit) if zipped else str(path)
    try:
        chosen = _layer_in(source, path.name, layer, options)
        # Dates as text: validation reads them and names a bad one (GDAL would fail on 2021-02-30).
        is_geojson = source.lower().endswith((".geojson", ".json"))
        geojson = {"DATE_AS_STRING": "YES"} if is_geojson else {}
        frame = pyogrio.read_dataframe(
            source, layer=chosen, encoding=options.encoding, datetime_as_string=True, **geojson
        )
    except (DataSourceError, DataLayerError, ValueError) as exc:
        raise _refuse(path.name, f"not a readable GIS file: {exc}") from exc
    except (UnicodeDecodeError, LookupError) as exc:
        raise _refuse(path.name, f"cannot decode the attributes: {exc}; try --encoding") from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        raise _refuse(path.name, "holds no geometries")
    return frame


def _decode(raw: bytes, name: str, encoding: str | None) -> str:
    """UTF-8 (or UTF-16 with its BOM) unless told otherwise; never a silent guess."""
    if encoding is None:
        encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        message = f"not valid {encoding} at byte {exc.start}: give --encoding, e.g. cp1252"
        raise _refuse(name, message) from exc
    except LookupError as exc:
        raise _refuse(name, f"unknown encoding {encoding!r}") from exc


def _csv(path: Path, options: ReadOptions) -> pd.DataFrame:
    text = _decode(path.read_bytes(), path.name, options.encoding)
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t")
        separator = dialect.delimiter
    except csv.Error:
        separator = ","
    try:
        return pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _refuse(path.name, f"not a readable CSV table: {exc}") from exc


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    found = [c for c in frame.columns if str(c).strip().lower() in names]
    return found[0] if found else None


def _numbers(values: pd.Series, column: str, name: str) -> list[float]:
    numbers = []
    for row, value in enumerate(values, start=1):
        try:
            numbers.append(float(str(value).strip().replace(",", ".")))
        except ValueError:
            raise InvalidDataError(
                [Problem(name, f"#{row}", column, f"expected a number, got {value!r}")],
                f"cannot read {name}",
            ) from None
    return numbers


def _geometries(frame: pd.DataFrame, name: str) -> tuple[Any, str | None, list[str]]:
    """Geometries from WKT/EWKT, lon/lat or x/y columns; the CRS they imply; the columns used."""
    wkt = _column(frame, WKT_COLUMNS)
    if wkt is not None:
        texts = [str(v) for v in frame[wkt]]
        srids = {m.group(1) for t in texts if (m := EWKT.match(t))}
        if len(srids) > 1:
            raise _refuse(name, f"mixed SRIDs in {wkt}: {', '.join(sorted(srids))}")
        plain = [m.group(2) if (m := EWKT.match(t)) else t for t in texts]
        try:
            geometries = shapely.from_wkt(plain)
        except shapely.errors.ShapelyError as exc:
            raise _refuse(name, f"column {wkt} holds text that is not WKT: {exc}") from exc
        return geometries, (f"EPSG:{srids.pop()}" if srids else None), [wkt]
    for xs, ys, implied in ((LON, LAT, "EPSG:4326"), (EAST, NORTH, None)):
        x, y = _column(frame, xs), _column(frame, ys)
        if x is not None and y is not None:
            points = shapely.points(_numbers(frame[x], x, name), _numbers(frame[y], y, name))
            return points, implied, [x, y]
    raise _refuse(
        name, "no geometry: expected a WKT column or lon/lat or x/y (Rechtswert/Hochwert)"
    )


def _read_table(path: Path, options: ReadOptions) -> gpd.GeoDataFrame:
    if path.suffix.lower() in (".csv", ".txt"):
        frame = _csv(path, options)
    else:
        try:
            frame = pyogrio.read_dataframe(  # the first row names the columns, always
                path, layer=options.source_layer, read_geometry=False, HEADERS="FORCE"
            )
        except (DataSourceError, DataLayerError, ValueError) as exc:
            raise _refuse(path.name, f"not a readable spreadsheet: {exc}") from exc
    geometries, implied, used = _geometries(frame, path.name)
    attributes = frame.drop(columns=used)
    return gpd.GeoDataFrame(attributes, geometry=list(geometries), crs=implied)


def read_delivery(
    path: Path, layer: str, options: ReadOptions, limit: int = 2**62
) -> gpd.GeoDataFrame:
    """Read a file and bring it into EPSG:25832; a file that says no CRS needs `--crs`."""
    if not path.is_file():
        raise _refuse(path.name, "no such file")
    if path.suffix.lower() in TABLES:
        frame = _read_table(path, options)
    else:
        frame = _read_vector(path, layer, options, limit)
    if frame.empty:
        raise _refuse(path.name, "holds no features")
    # GeoJSON without a `crs` member is WGS 84 only by default, so --crs may say otherwise.
    implicit = path.suffix.lower() in (".geojson", ".json")
    if options.crs is not None:
        given = _crs(options.crs, path.name)
        declared = frame.crs
        if (
            declared is not None
            and not implicit
            and not declared.equals(given, ignore_axis_order=True)
        ):
            message = f"declares {declared.to_string()}, but --crs says {options.crs}"
            raise _refuse(path.name, message)
        frame = frame.set_crs(given, allow_override=True)
    elif frame.crs is None:
        message = "declares no coordinate reference system: give one with --crs, e.g. EPSG:25832"
        raise _refuse(path.name, message)
    try:
        projected: gpd.GeoDataFrame = frame.to_crs(STORAGE_CRS)
    except (ProjError, CRSError) as exc:
        raise _refuse(path.name, f"cannot be brought into {STORAGE_CRS}: {exc}") from exc
    return projected
