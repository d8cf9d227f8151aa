"""Reads a delivery (GeoPackage, zipped Shapefile, GeoJSON, CSV or spreadsheet) into EPSG:25832."""

from __future__ import annotations

import contextlib
import copy
import csv
import functools
import glob
import io
import re
import shutil
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
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
from service.core.limits import ImportLimits, over_limit, unpacks_too_far
from service.core.spreadsheet import restored
from service.layers import STORAGE_CRS
from service.packages.vertex_bounds import (
    ShapefileLayer,
    Stored,
    StoredLayer,
    geopackage_layer,
)

TABLES = (".csv", ".txt", ".xlsx", ".ods")
NAME_COLUMNS = ("name", "bezeichnung", "bezeichnun", "gebiet", "ortsteil")
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "geometrie")
LON = ("lon", "lng", "long", "longitude", "laenge", "länge")
LAT = ("lat", "latitude", "breite")
EAST = ("x", "rechtswert", "easting", "ostwert")
NORTH = ("y", "hochwert", "northing", "nordwert")
EWKT = re.compile(r"^\s*SRID=(\d+);(.*)$", re.IGNORECASE | re.DOTALL)
SYSTEM_PROJ_DATA = Path("/usr/share/proj")
CHUNK = 1 << 20
# How a row starts in a spreadsheet's XML, counted while it inflates (xlsx, then ods).
ROW_STARTS = (b"<row ", b"<row>", b"<table:table-row ", b"<table:table-row>")
# Triggers GDAL and the GeoPackage standard create themselves (R-tree index, feature counts).
STANDARD_TRIGGER = re.compile(
    r"^(rtree_.+_(insert|update[1-7]?|delete)|trigger_(insert|delete)_feature_count_.+|gpkg_.+)$",
    re.IGNORECASE,
)

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


def _rows_in(tail: bytes, chunk: bytes) -> int:
    """Rows starting in `chunk`, or across from `tail` (the end of the chunk before)."""
    return sum((tail[len(tail) - len(start) + 1 :] + chunk).count(start) for start in ROW_STARTS)


def _inflate(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, name: str, budget: int, limit: int
) -> int:
    """Inflate one member, counting, never trusting its header; return its real size."""
    unbounded = copy.copy(entry)
    unbounded.file_size = 2**62  # read what really comes out; the count below stops it
    size = 0
    with archive.open(unbounded) as member:
        while chunk := member.read(CHUNK):
            size += len(chunk)
            if size > budget:
                raise unpacks_too_far(name, limit)
    if size != entry.file_size:
        message = f"{entry.filename}: the header says {entry.file_size:,} bytes, it holds {size:,}"
        raise _refuse(name, message)
    return size


def _spreadsheet_rows(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> int:
    """How many rows a sheet (xlsx) or the content (ods) starts, counted as it inflates."""
    rows, tail = 0, b""
    with archive.open(entry) as member:
        while chunk := member.read(CHUNK):
            rows += _rows_in(tail, chunk)
            tail = chunk[-(max(len(s) for s in ROW_STARTS) - 1) :]
    return rows


def check_archive(path: Path, limits: ImportLimits) -> list[zipfile.ZipInfo]:
    """A zip-based file's members, once every one inflated within the limits (rows too, for
    spreadsheets), so no reader after us inflates a bomb or trusts a lying header."""
    spreadsheet = path.suffix.lower() in (".xlsx", ".ods")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [e for e in archive.infolist() if not e.is_dir()]
            budget = limits.unpacked_bytes
            for entry in entries:
                budget -= _inflate(archive, entry, path.name, budget, limits.unpacked_bytes)
            sheets = [e for e in entries if _is_sheet(e.filename)] if spreadsheet else []
            rows = sum(_spreadsheet_rows(archive, e) for e in sheets)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error) as exc:
        raise _refuse(path.name, f"not a readable zip file: {exc}") from exc
    if rows > limits.rows + 1:  # the first row names the columns
        message = f"holds {rows - 1:,} rows, over the limit of {limits.rows:,}"
        raise over_limit(path.name, message, "BROADBAND_MAX_DELIVERY_ROWS")
    return entries


def _is_sheet(name: str) -> bool:
    return name == "content.xml" or (name.startswith("xl/worksheets/") and name.endswith(".xml"))


def _member(path: Path, layer: str, options: ReadOptions, limits: ImportLimits) -> str:
    """The dataset inside a zip: its one Shapefile (or the one named like the layer)."""
    entries = check_archive(path, limits)
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
        return layers[0] if layers else None
    if layer in layers:
        return layer
    raise _refuse(name, f"several layers ({', '.join(layers)}): choose one with --source-layer")


def check_geopackage(path: Path, name: str | None = None) -> None:
    """Refuse a GeoPackage with views (a layer that runs a query) or triggers of its own,
    looked at with SQLite, read-only, before GDAL runs anything of it."""
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute(
                "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger')"
            ).fetchall()
    except sqlite3.Error as exc:
        raise _refuse(name or path.name, f"not a readable GeoPackage: {exc}") from exc
    views = sorted(str(name) for kind, name in rows if kind == "view")
    triggers = sorted(
        str(name) for kind, name in rows if kind == "trigger" and not STANDARD_TRIGGER.match(name)
    )
    if views:
        message = f"holds SQL views ({', '.join(views)}); deliver tables, not views"
        raise _refuse(name or path.name, message)
    if triggers:
        message = f"carries triggers of its own ({', '.join(triggers)}); deliver plain tables"
        raise _refuse(name or path.name, message)


def check_size(frame: pd.DataFrame, name: str, limits: ImportLimits) -> None:
    """Refuse a delivery with too many features or vertices, naming the feature and the limit."""
    if len(frame) > limits.rows:
        message = f"holds more than {limits.rows:,} features"
        raise over_limit(name, message, "BROADBAND_MAX_DELIVERY_ROWS")
    if not isinstance(frame, gpd.GeoDataFrame):
        return
    counts = shapely.get_num_coordinates(frame.geometry.array)
    for number, count in enumerate(counts, start=1):
        if count > limits.vertices_per_feature:
            message = (
                f"has {int(count):,} vertices, over the limit of {limits.vertices_per_feature:,}"
            )
            feature = _feature_label(frame, number)
            raise over_limit(name, message, "BROADBAND_MAX_VERTICES_PER_FEATURE", feature)
    total = int(counts.sum())
    if total > limits.vertices_per_delivery:
        message = (
            f"has {total:,} vertices in all, over the limit of {limits.vertices_per_delivery:,}"
        )
        raise over_limit(name, message, "BROADBAND_MAX_VERTICES_PER_DELIVERY")


def _feature_label(frame: pd.DataFrame, number: int, row: int | None = None) -> str:
    """`#3 Kernstadt`: the feature's number in the file and its name (from the frame's `row`,
    by default the number's), where it has one."""
    names = [c for c in frame.columns if str(c).strip().lower() in NAME_COLUMNS]
    value = frame.iloc[number - 1 if row is None else row][names[0]] if names else None
    return f"#{number} {value}" if isinstance(value, str) and value.strip() else f"#{number}"


def _stored_label(source: str, layer: str, options: ReadOptions, feature: Stored) -> str:
    """The label of a feature not read yet: its attributes alone, read by its id."""
    try:
        frame = pyogrio.read_dataframe(
            source,
            layer=layer,
            encoding=options.encoding,
            read_geometry=False,
            fids=[feature.fid],
        )
    except (DataSourceError, DataLayerError, ValueError, UnicodeDecodeError, LookupError):
        return f"#{feature.number}"
    return _feature_label(frame, feature.number, 0) if len(frame) else f"#{feature.number}"


def check_stored_vertices(
    stored: StoredLayer, name: str, limits: ImportLimits, label: Callable[[Stored], str]
) -> None:
    """Refuse a delivery with too many vertices, as `check_size` would, from the sizes and
    record headers of its geometries, before any of them is built in memory."""
    heavy, ceilings = [], 0
    for feature in stored.features(limits.rows + 1):
        ceilings += feature.ceiling
        if feature.ceiling > limits.vertices_per_feature:
            heavy.append(feature)
    # A geometry too large by its size whose structure cannot be walked (an extension's blob)
    # is refused by its ceiling: handing it to GDAL would build what the limit is there to stop.
    over = [
        (feature, count, count is None)
        for feature, count in stored.vertices(heavy)
        if (count if count is not None else feature.ceiling) > limits.vertices_per_feature
    ]
    if over:
        feature, most, unwalked = min(over, key=lambda found: found[0].number)
        has = f"may have up to {feature.ceiling:,}" if unwalked else f"has {most:,}"
        message = f"{has} vertices, over the limit of {limits.vertices_per_feature:,}"
        raise over_limit(name, message, "BROADBAND_MAX_VERTICES_PER_FEATURE", label(feature))
    if ceilings <= limits.vertices_per_delivery:
        return
    total = 0
    for _, count in stored.vertices(stored.features(limits.rows + 1)):
        total += count or 0
        if total > limits.vertices_per_delivery:
            message = (
                f"has at least {total:,} vertices in all, "
                f"over the limit of {limits.vertices_per_delivery:,}"
            )
            raise over_limit(name, message, "BROADBAND_MAX_VERTICES_PER_DELIVERY")


@contextlib.contextmanager
def _opened_shapefile(path: Path, source: str) -> Iterator[StoredLayer | None]:
    """The .shp and .shx GDAL is about to read, in the zip or beside the file."""
    with contextlib.ExitStack() as stack:
        prefix = f"/vsizip/{path}/"
        if source.startswith(prefix):
            archive = stack.enter_context(zipfile.ZipFile(path))
            member = source.removeprefix(prefix)
            index = {n.lower(): n for n in archive.namelist()}.get(member[:-4].lower() + ".shx")
            if index is None:
                yield None
                return
            shp, shx = archive.open(member), archive.open(index)
        else:
            shp_path = Path(source)
            sidecars = shp_path.parent.glob(f"{glob.escape(shp_path.stem)}.*")
            shx_path = next((p for p in sidecars if p.suffix.lower() == ".shx"), None)
            if shx_path is None:
                yield None
                return
            shp, shx = shp_path.open("rb"), shx_path.open("rb")
        stack.enter_context(shp)
        stack.enter_context(shx)
        yield ShapefileLayer(shp, shx)


def _check_before_reading(
    path: Path, source: str, layer: str | None, options: ReadOptions, limits: ImportLimits
) -> None:
    """The vertex limits, checked from a GeoPackage's or Shapefile's structure; other formats
    are checked once read (`check_size`)."""
    if layer is None:
        return
    opened: contextlib.AbstractContextManager[StoredLayer | None]
    if source.lower().endswith(".gpkg"):
        opened = geopackage_layer(Path(source), layer)
    elif source.lower().endswith(".shp"):
        opened = _opened_shapefile(path, source)
    else:
        return
    with opened as stored:
        if stored is not None:
            label = functools.partial(_stored_label, source, layer, options)
            check_stored_vertices(stored, path.name, limits, label)


def _unpacked_geopackage(path: Path, member: str, folder: Path) -> Path:
    """A GeoPackage inside a zip, unpacked (already counted) and checked like one outside."""
    unpacked = folder / "delivery.gpkg"
    with (
        zipfile.ZipFile(path) as archive,
        archive.open(member) as packed,
        unpacked.open("wb") as out,
    ):
        shutil.copyfileobj(packed, out, CHUNK)
    check_geopackage(unpacked, f"{path.name}/{member}")
    return unpacked


def _vector_source(
    path: Path, layer: str, options: ReadOptions, limits: ImportLimits, folder: Path
) -> str:
    """What GDAL reads: the file, or its zip's one dataset (a GeoPackage unpacked into
    `folder`), each checked as far as can be before GDAL opens it."""
    if path.suffix.lower() == ".gpkg":
        check_geopackage(path)
    if path.suffix.lower() != ".zip":
        return str(path)
    source = _member(path, layer, options, limits)
    if source.lower().endswith(".gpkg"):
        return str(_unpacked_geopackage(path, source.removeprefix(f"/vsizip/{path}/"), folder))
    return source


def _read_vector(
    path: Path, layer: str, options: ReadOptions, limits: ImportLimits
) -> gpd.GeoDataFrame:
    with tempfile.TemporaryDirectory(prefix="broadband-delivery-") as folder:
        return _read_dataset(
            path, _vector_source(path, layer, options, limits, Path(folder)), layer, options, limits
        )


def _read_dataset(
    path: Path, source: str, layer: str, options: ReadOptions, limits: ImportLimits
) -> gpd.GeoDataFrame:
    try:
        chosen = _layer_in(source, path.name, layer, options)
        _check_before_reading(path, source, chosen, options, limits)
        # Dates as text: validation reads them and names a bad one (GDAL would fail on 2021-02-30).
        is_geojson = source.lower().endswith((".geojson", ".json"))
        geojson = {"DATE_AS_STRING": "YES"} if is_geojson else {}
        frame = pyogrio.read_dataframe(
            source,
            layer=chosen,
            encoding=options.encoding,
            datetime_as_string=True,
            max_features=limits.rows + 1,  # one more, to know it is over
            **geojson,
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


def _csv(path: Path, options: ReadOptions, rows: int) -> pd.DataFrame:
    text = _decode(path.read_bytes(), path.name, options.encoding)
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t")
        separator = dialect.delimiter
    except csv.Error:
        separator = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, nrows=rows + 1
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _refuse(path.name, f"not a readable CSV table: {exc}") from exc
    # Our CSV exports quote formula-like text with a leading ' (spreadsheet safety): undo that.
    return frame.map(restored)


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


def _read_table(path: Path, options: ReadOptions, limits: ImportLimits) -> gpd.GeoDataFrame:
    if path.suffix.lower() in (".csv", ".txt"):
        frame = _csv(path, options, limits.rows)
    else:
        check_archive(path, limits)
        try:
            frame = pyogrio.read_dataframe(  # the first row names the columns, always
                path,
                layer=options.source_layer,
                read_geometry=False,
                max_features=limits.rows + 1,
                HEADERS="FORCE",
            )
        except (DataSourceError, DataLayerError, ValueError) as exc:
            raise _refuse(path.name, f"not a readable spreadsheet: {exc}") from exc
    check_size(frame, path.name, limits)
    geometries, implied, used = _geometries(frame, path.name)
    attributes = frame.drop(columns=used)
    return gpd.GeoDataFrame(attributes, geometry=list(geometries), crs=implied)


def read_delivery(
    path: Path, layer: str, options: ReadOptions, limits: ImportLimits | None = None
) -> gpd.GeoDataFrame:
    """Read a file and bring it into EPSG:25832; a file that says no CRS needs `--crs`."""
    limits = limits or ImportLimits()
    if not path.is_file():
        raise _refuse(path.name, "no such file")
    if path.suffix.lower() in TABLES:
        frame = _read_table(path, options, limits)
    else:
        frame = _read_vector(path, layer, options, limits)
    check_size(frame, path.name, limits)
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
