"""Coordinate reference systems the API speaks (OGC API Features Part 2), by URI and SRID."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.core.errors import BadRequestError, Problem

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
STORAGE_SRID = 25832


@dataclass(frozen=True)
class Crs:
    """A supported CRS: its URI, PostGIS SRID, and whether its first axis is northing/latitude."""

    uri: str
    srid: int
    lat_first: bool
    decimals: int

    @property
    def header(self) -> str:
        """The value of a `Content-Crs` header."""
        return f"<{self.uri}>"


def _epsg(code: int, lat_first: bool, decimals: int) -> Crs:
    return Crs(EPSG_URI.format(code=code), code, lat_first, decimals)


# 7 decimals of a degree and 2 of a metre are both about 1 cm.
SUPPORTED: tuple[Crs, ...] = (
    Crs(CRS84, 4326, lat_first=False, decimals=7),
    _epsg(4326, lat_first=True, decimals=7),
    _epsg(4258, lat_first=True, decimals=7),
    _epsg(25832, lat_first=False, decimals=2),
    _epsg(25833, lat_first=False, decimals=2),
    _epsg(3857, lat_first=False, decimals=2),
    _epsg(3035, lat_first=True, decimals=2),
)
DEFAULT = SUPPORTED[0]
STORAGE = next(crs for crs in SUPPORTED if crs.srid == STORAGE_SRID and crs.uri != CRS84)
URIS = [crs.uri for crs in SUPPORTED]

_ALIASES = (
    (re.compile(r"^(?:OGC:)?CRS84$|^urn:ogc:def:crs:OGC:1\.3:CRS84$", re.IGNORECASE), "CRS84"),
    (re.compile(r"^EPSG:(\d+)$", re.IGNORECASE), "EPSG"),
    (re.compile(r"^urn:ogc:def:crs:EPSG:[0-9.]*:(\d+)$", re.IGNORECASE), "EPSG"),
    (re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$"), "EPSG"),
)


def parse(value: str | None, parameter: str) -> Crs:
    """Resolve a CRS URI (or a common short form); name the parameter and the supported URIs.

    Absent means CRS84; present but blank is an error, as for any other value not listed."""
    if value is None:
        return DEFAULT
    text = value.strip().removeprefix("<").removesuffix(">")
    if text == CRS84 or text.replace("https://", "http://") == CRS84:
        return DEFAULT
    for pattern, kind in _ALIASES:
        match = pattern.match(text)
        if not match:
            continue
        if kind == "CRS84":
            return DEFAULT
        code = int(match.group(1))
        for crs in SUPPORTED[1:]:
            if crs.srid == code:
                return crs
    raise BadRequestError(
        [Problem("request", None, parameter, f"unsupported CRS {value!r}; supported: {URIS}")],
        f"unsupported CRS in {parameter}",
    )
