"""Vertex counts of a GeoPackage or Shapefile layer read from the file's structure (blob sizes,
record headers), so an oversized geometry is refused before GDAL and shapely build it in memory.

Each feature first gets a ceiling from its stored size alone (every vertex takes at least 16
bytes); only features whose ceiling is over a limit are then counted exactly, by walking their
WKB or Shapefile record headers and skipping the coordinates without reading them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import numpy as np

XY_BYTES = 16  # the least a vertex takes: two doubles
WINDOW = 1 << 16  # bytes read at a time while walking a geometry
MAX_NESTING = 32  # geometry collections within collections, as deep as GDAL reads them
GP_HEADER = 8  # "GP", version, flags, SRS id
WKB_HEAD = 5  # byte order and geometry type
ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}  # by the flags' envelope indicator
EXTENDED = 0b0010_0000  # a GeoPackage extension's own geometry encoding
EWKB_Z, EWKB_M, EWKB_SRID = 0x8000_0000, 0x4000_0000, 0x2000_0000
WKB_POINT, WKB_CURVES, WKB_RINGS = (1,), (2, 8), (3, 17)  # point; (circular) line; polygon
WKB_PARTS = (4, 5, 6, 7, 9, 10, 11, 12, 15, 16)  # multi*, collections, curves and surfaces of parts
SHP_HEADER = 100
SHP_MAGIC = 9994
SHX_RECORD = 8
SHP_RECORD_HEAD = 8 + 44  # record number and length, then shape type, box, parts, points
SHP_NULL, SHP_POINTS = (0,), (1, 11, 21)
SHP_MULTIPOINTS = (8, 18, 28)
SHP_PARTS = (3, 5, 13, 15, 23, 25, 31)  # polylines, polygons and multipatches
GEOMETRY_COLUMNS = "SELECT table_name, column_name FROM gpkg_geometry_columns"
SIZES = 'SELECT rowid, length("{column}") FROM "{table}" ORDER BY rowid LIMIT ?'


@dataclass(frozen=True, slots=True)
class Stored:
    """A feature as stored: its place in the layer, GDAL's id of it, the most vertices its size
    allows, and where its geometry starts (a row id, or a byte offset in the .shp)."""

    number: int
    fid: int
    ceiling: int
    locator: int


class StoredLayer(Protocol):
    """A layer whose features' sizes and exact vertex counts can be read without its geometries."""

    def features(self, limit: int) -> Iterator[Stored]:
        """The first `limit` features with their ceilings, one at a time, in the order they
        are best read in."""

    def vertices(self, features: Iterable[Stored]) -> Iterator[tuple[Stored, int | None]]:
        """Each feature's exact vertex count (None where its structure is unknown or broken)."""


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, origin: int = 0, /) -> object: ...


class BrokenStructureError(Exception):
    """The stored structure ends early or says something impossible; GDAL will say what."""


class _Cursor:
    """Reads a geometry forward a window at a time, skipping coordinates without reading them."""

    def __init__(self, source: _Readable, size: int) -> None:
        self._source, self._size = source, size
        self._buffer, self._start, self.at = b"", 0, 0

    def take(self, size: int) -> bytes:
        """The next `size` bytes."""
        offset = self.at - self._start
        if offset + size > len(self._buffer):
            if self.at + size > self._size:
                raise BrokenStructureError
            self._source.seek(self.at)
            self._buffer, self._start, offset = self._source.read(max(WINDOW, size)), self.at, 0
            if len(self._buffer) < size:
                raise BrokenStructureError
        self.at += size
        return self._buffer[offset : offset + size]

    def skip(self, size: int) -> None:
        """Step over `size` bytes, which must be there."""
        if self.at + size > self._size:
            raise BrokenStructureError
        self.at += size


def gpkg_header_bytes(head: bytes) -> int | None:
    """The size of a GeoPackage geometry's header (before its WKB), or None for an encoding of
    an extension or what is no GeoPackage geometry."""
    if len(head) < GP_HEADER or head[:2] != b"GP" or head[3] & EXTENDED:
        return None
    envelope = ENVELOPE_BYTES.get((head[3] >> 1) & 0b111)
    return None if envelope is None else GP_HEADER + envelope


def _wkb_type(cursor: _Cursor) -> tuple[str, int, int]:
    """The byte order (for struct), the base geometry type and the bytes of one vertex."""
    order = {b"\x00": ">", b"\x01": "<"}.get(cursor.take(1))
    if order is None:
        raise BrokenStructureError
    (code,) = struct.unpack(f"{order}I", cursor.take(4))
    z, m = bool(code & EWKB_Z), bool(code & EWKB_M)
    if code & EWKB_SRID:
        cursor.skip(4)
    code &= 0x0FFF_FFFF
    z |= code // 1000 in (1, 3)
    m |= code // 1000 in (2, 3)
    return order, code % 1000, 8 * (2 + z + m)


def wkb_vertices(cursor: _Cursor, depth: int = 0) -> int | None:
    """The vertices one WKB geometry stores, counted from its point and part counts."""
    if depth > MAX_NESTING:
        return None
    order, kind, vertex = _wkb_type(cursor)

    def count() -> int:
        (number,) = struct.unpack(f"{order}I", cursor.take(4))
        return int(number)

    def points() -> int:
        number = count()
        cursor.skip(number * vertex)
        return number

    if kind in WKB_POINT:
        cursor.skip(vertex)
        return 1
    if kind in WKB_CURVES:
        return points()
    if kind in WKB_RINGS:
        return sum(points() for _ in range(count()))
    return _parts_vertices(cursor, count(), depth) if kind in WKB_PARTS else None


def _parts_vertices(cursor: _Cursor, parts: int, depth: int) -> int | None:
    """The vertices of a collection's parts, or None once one of them is unknown."""
    total = 0
    for _ in range(parts):
        part = wkb_vertices(cursor, depth + 1)
        if part is None:
            return None
        total += part
    return total


def geopackage_vertices(blob: _Readable, size: int) -> int | None:
    """The vertices a GeoPackage geometry blob stores; None if it is not one we can walk."""
    cursor = _Cursor(blob, size)
    try:
        header = gpkg_header_bytes(cursor.take(GP_HEADER))
        if header is None:
            return None
        cursor.skip(header - GP_HEADER)
        return wkb_vertices(cursor)
    except (BrokenStructureError, struct.error, ValueError):
        return None


def _quoted(identifier: str) -> str:
    return identifier.replace('"', '""')


@dataclass
class GeoPackageLayer:
    """A GeoPackage table with a geometry column, looked at with SQLite, read-only."""

    connection: sqlite3.Connection
    table: str
    column: str

    def features(self, limit: int) -> Iterator[Stored]:
        """Rows in id order (as GDAL reads them) with ceilings from their blobs' lengths, which
        SQLite knows without reading the blobs."""
        sql = SIZES.format(table=_quoted(self.table), column=_quoted(self.column))
        for number, (rowid, length) in enumerate(self.connection.execute(sql, (limit,)), 1):
            wkb = (length or 0) - GP_HEADER - WKB_HEAD
            yield Stored(number, rowid, max(0, wkb) // XY_BYTES, rowid)

    def vertices(self, features: Iterable[Stored]) -> Iterator[tuple[Stored, int | None]]:
        """Each row's geometry walked through SQLite's incremental blob reading."""
        for feature in features:
            try:
                blob = self.connection.blobopen(
                    self.table, self.column, feature.locator, readonly=True
                )
            except sqlite3.Error:  # no blob: NULL, or text where a geometry belongs
                yield feature, None
                continue
            with blob:
                yield feature, geopackage_vertices(blob, len(blob))


@contextlib.contextmanager
def geopackage_layer(path: Path, layer: str) -> Iterator[GeoPackageLayer | None]:
    """The layer's table in a GeoPackage, or None where it has no geometry column we know."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        yield None
        return
    with contextlib.closing(connection):
        try:
            columns = dict(connection.execute(GEOMETRY_COLUMNS).fetchall())
            stored = GeoPackageLayer(connection, layer, str(columns[layer]))
            next(stored.features(0), None)  # fails for a table without row ids
        except (sqlite3.Error, KeyError):
            yield None
            return
        yield stored


def shp_record_vertices(head: bytes) -> int | None:
    """The vertices a Shapefile record stores, from its first bytes (`SHP_RECORD_HEAD` of them,
    fewer for null and point shapes); None for a shape type we do not know."""
    if len(head) < 12:
        return None
    (content_words,) = struct.unpack(">i", head[4:8])
    (kind,) = struct.unpack("<i", head[8:12])
    if kind in SHP_NULL:
        return 0
    if kind in SHP_POINTS:
        return 1
    if kind in SHP_MULTIPOINTS and len(head) >= 8 + 40:
        (number,) = struct.unpack("<i", head[44:48])
    elif kind in SHP_PARTS and len(head) >= SHP_RECORD_HEAD:
        (number,) = struct.unpack("<i", head[48:52])
    else:
        return None
    possible = 0 <= number * XY_BYTES <= content_words * 2
    return int(number) if possible else None  # else a record GDAL refuses as corrupt


@dataclass
class ShapefileLayer:
    """A Shapefile's .shp and .shx, opened as binary streams that can seek."""

    shp: IO[bytes]
    shx: IO[bytes]

    def features(self, limit: int) -> Iterator[Stored]:
        """Records as the index lists them, with ceilings from their content lengths, in the
        order they lie in the .shp (a zip member only reads forward cheaply)."""
        self.shx.seek(0)
        header = self.shx.read(SHP_HEADER)
        if len(header) < SHP_HEADER or struct.unpack(">i", header[:4])[0] != SHP_MAGIC:
            return
        (words,) = struct.unpack(">i", header[24:28])
        records = max(0, min((words * 2 - SHP_HEADER) // SHX_RECORD, limit))
        index = self.shx.read(records * SHX_RECORD)
        entries = np.frombuffer(index, ">i4", len(index) // 4).reshape(-1, 2).astype(np.int64)
        for place in np.argsort(entries[:, 0], kind="stable"):
            offset, words = entries[place]
            yield Stored(int(place) + 1, int(place), max(0, int(words)) * 2 // XY_BYTES, offset * 2)

    def vertices(self, features: Iterable[Stored]) -> Iterator[tuple[Stored, int | None]]:
        """Each record's header read at its offset."""
        for feature in features:
            try:
                self.shp.seek(feature.locator)
                head = self.shp.read(SHP_RECORD_HEAD)
            except (OSError, ValueError):
                yield feature, None
                continue
            yield feature, shp_record_vertices(head)
