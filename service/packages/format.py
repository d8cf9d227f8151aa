"""The municipality data package: its layers and fields, and reading one from disk with pyogrio."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from service.core.errors import InvalidDataError, Problem
from service.coverage.reference import FILE_NAME as REFERENCE_FILE
from service.coverage.reference import read_reference
from service.layers import LAYERS, STORAGE_CRS

FILE_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb")


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
