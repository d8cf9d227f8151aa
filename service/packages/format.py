"""The municipality data package: its layers and fields, and reading one from disk with pyogrio."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from service.core.errors import InvalidDataError, Problem
from service.core.vocabulary import Connection, Funding, Kind, Status
from service.coverage.reference import FILE_NAME as REFERENCE_FILE
from service.coverage.reference import read_reference

STORAGE_CRS = "EPSG:25832"
FILE_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb")


class FieldType(StrEnum):
    """How a package field is parsed and checked."""

    TEXT = "text"
    DATE = "date"
    INTEGER = "integer"
    SHARE = "share"
    BOOLEAN = "boolean"
    AGS = "ags"
    POSTCODE = "postcode"


@dataclass(frozen=True)
class FieldSpec:
    """One property of a layer: its type, whether it must be given, its allowed values."""

    kind: FieldType = FieldType.TEXT
    required: bool = True
    allowed: type[StrEnum] | None = None
    default: Any = None


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a package: geometry type, fields, and the fields that identify a feature."""

    name: str
    geometry: str
    fields: dict[str, FieldSpec]
    key: tuple[str, ...] = ("name",)
    label: tuple[str, ...] = ("name",)


_APPROXIMATE = FieldSpec(FieldType.BOOLEAN, required=False, default=False)
_OPTIONAL = FieldSpec(required=False)
_EXTERNAL_ID = FieldSpec(required=False)  # the id a provider or a register gives the feature
_SINCE = FieldSpec(FieldType.DATE)

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "municipality",
            "MultiPolygon",
            {"name": FieldSpec(), "ags": FieldSpec(FieldType.AGS)},
            key=("ags",),
        ),
        LayerSpec(
            "districts",
            "MultiPolygon",
            {"name": FieldSpec(), "approximate": _APPROXIMATE, "external_id": _EXTERNAL_ID},
        ),
        LayerSpec(
            "areas",
            "MultiPolygon",
            {
                "name": FieldSpec(),
                "kind": FieldSpec(allowed=Kind),
                "status": FieldSpec(allowed=Status),
                "funding": FieldSpec(allowed=Funding, required=False, default=Funding.UNKNOWN),
                "provider": _OPTIONAL,
                "status_since": _SINCE,
                "notes": _OPTIONAL,
                "approximate": _APPROXIMATE,
                "external_id": _EXTERNAL_ID,
            },
        ),
        LayerSpec(
            "hamlets",
            "MultiPolygon",
            {
                "name": FieldSpec(),
                "status": FieldSpec(allowed=Status),
                "status_since": _SINCE,
                "demand_share": FieldSpec(FieldType.SHARE, required=False),
                "approximate": _APPROXIMATE,
                "external_id": _EXTERNAL_ID,
            },
        ),
        LayerSpec(
            "schools",
            "Point",
            {
                "name": FieldSpec(),
                "school_type": FieldSpec(),
                "pupils": FieldSpec(FieldType.INTEGER),
                "connection": FieldSpec(allowed=Connection),
                "status_since": _SINCE,
                "school_number": _OPTIONAL,
                "street": _OPTIONAL,
                "postcode": FieldSpec(FieldType.POSTCODE, required=False),
                "approximate": _APPROXIMATE,
                "external_id": _EXTERNAL_ID,
            },
        ),
        LayerSpec(
            "addresses",
            "Point",
            {
                "street": FieldSpec(),
                "house_number": FieldSpec(),
                "postcode": FieldSpec(FieldType.POSTCODE),
                "approximate": _APPROXIMATE,
                "external_id": _EXTERNAL_ID,
            },
            key=("postcode", "street", "house_number"),
            label=("street", "house_number"),
        ),
    )
}


@dataclass
class RawPackage:
    """Layers as read from disk, reprojected to the storage CRS, not yet checked."""

    source: Path
    frames: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    reference: list[dict[str, Any]] | None = None


def _layer_file(directory: Path, layer: str) -> Path | None:
    candidates = [directory / f"{layer}{suffix}" for suffix in FILE_SUFFIXES]
    found = [path for path in candidates if path.is_file()]
    return found[0] if found else None


def _read_layer(path: Path, layer: str, layer_in_file: str | None) -> gpd.GeoDataFrame:
    """Read one layer and bring it into EPSG:25832; a file must say which CRS it is in."""
    try:
        frame = pyogrio.read_dataframe(path, layer=layer_in_file)
    except (DataSourceError, DataLayerError) as exc:
        raise InvalidDataError(
            [Problem(layer, None, None, f"cannot read {path.name}: {exc}")], "unreadable package"
        ) from exc
    if frame.crs is None:
        raise InvalidDataError(
            [Problem(layer, None, None, f"{path.name} declares no coordinate reference system")],
            "invalid package",
        )
    return frame.to_crs(STORAGE_CRS)


def read_package(source: Path) -> RawPackage:
    """Read a package: a directory with one file per layer, or one GeoPackage with named layers."""
    if not source.exists():
        raise InvalidDataError([Problem("package", None, None, f"{source} does not exist")])
    package = RawPackage(source)
    missing: list[Problem] = []
    if source.is_file():
        present = {name for name, _ in pyogrio.list_layers(source)}
        for layer in LAYERS:
            if layer in present:
                package.frames[layer] = _read_layer(source, layer, layer)
            else:
                missing.append(Problem(layer, None, None, f"layer missing from {source.name}"))
    else:
        for layer in LAYERS:
            path = _layer_file(source, layer)
            if path is None:
                names = " or ".join(f"{layer}{suffix}" for suffix in FILE_SUFFIXES[:3])
                missing.append(Problem(layer, None, None, f"layer missing: no {names}"))
            else:
                package.frames[layer] = _read_layer(path, layer, None)
    if missing:
        raise InvalidDataError(missing, f"incomplete package {source.name}")
    if source.is_dir() and (source / REFERENCE_FILE).is_file():
        package.reference = read_reference(source / REFERENCE_FILE)
    return package
