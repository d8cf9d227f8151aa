"""Vertex counts read from a GeoPackage's or Shapefile's structure agree with what GDAL builds,
and a feature over the limit is refused from them exactly as it would be once read.

That the refusal costs the service no memory is measured in test_import_limits.py.
"""

from __future__ import annotations

import io
import sqlite3
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from service.core.errors import InvalidDataError
from service.core.limits import ImportLimits
from service.packages.sources import ReadOptions, check_size, read_delivery
from service.packages.vertex_bounds import (
    ShapefileLayer,
    geopackage_layer,
    geopackage_vertices,
    shp_record_vertices,
)

LIMITS = ImportLimits(vertices_per_feature=10_000, vertices_per_delivery=25_000)


def _ring(vertices: int, x: float = 393_000, radius: float = 300) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    return np.column_stack((x + radius * np.cos(angles), 5_758_000 + radius * np.sin(angles)))


def _shapes(z: bool = False) -> list[shapely.Geometry]:
    """A plain polygon, one with a hole and a multipolygon of three, from 40 to 20,000 vertices."""
    holed = shapely.Polygon(_ring(6_000, 394_000), [_ring(2_000, 394_000, 100)])
    parts = shapely.MultiPolygon(
        [shapely.Polygon(_ring(3_000, 395_000 + 700 * n)) for n in (0, 1, 2)]
    )
    shapes = [shapely.Polygon(_ring(40)), holed, parts, shapely.Polygon(_ring(20_000, 399_000))]
    return [shapely.force_3d(s, 12.5) for s in shapes] if z else shapes


def _frame(shapes: list[shapely.Geometry]) -> gpd.GeoDataFrame:
    names = [f"Gebiet {n}" for n in range(1, len(shapes) + 1)]
    return gpd.GeoDataFrame({"Name": names}, geometry=shapes, crs=25832)


def _geopackage(path: Path, shapes: list[shapely.Geometry]) -> Path:
    _frame(shapes).to_file(path, layer="areas")
    return path


def _zipped_shapefile(path: Path, shapes: list[shapely.Geometry]) -> Path:
    folder = path.parent / f"{path.stem}-files"
    folder.mkdir()
    _frame(shapes).to_file(folder / "areas.shp")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in sorted(folder.iterdir()):
            archive.write(member, f"Lieferung/{member.name}")
    return path


def _as_read(source: str | Path) -> list[int]:
    """Vertices per feature as GDAL reads them and shapely counts them."""
    frame = pyogrio.read_dataframe(source)
    return [int(n) for n in shapely.get_num_coordinates(frame.geometry.array)]


@pytest.mark.parametrize("z", [False, True], ids=["XY", "XYZ"])
def test_a_geopackage_s_counts_are_those_gdal_reads(tmp_path: Path, z: bool) -> None:
    path = _geopackage(tmp_path / "areas.gpkg", _shapes(z))
    expected = _as_read(path)
    with geopackage_layer(path, "areas") as stored:
        assert stored is not None
        features = list(stored.features(100))
        counted = [count for _, count in stored.vertices(features)]
    assert counted == expected
    for feature, exact in zip(features, expected, strict=True):
        assert exact <= feature.ceiling  # the ceiling never refuses what the count would not
    if not z:  # two doubles a vertex: the ceiling from the blob's size alone is close
        assert features[-1].ceiling <= expected[-1] * 1.01


@pytest.mark.parametrize("z", [False, True], ids=["XY", "XYZ"])
def test_a_shapefile_s_counts_are_those_gdal_reads(tmp_path: Path, z: bool) -> None:
    path = _zipped_shapefile(tmp_path / "areas.zip", _shapes(z))
    expected = _as_read(f"/vsizip/{path}/Lieferung/areas.shp")
    with zipfile.ZipFile(path) as archive:
        shp, shx = archive.open("Lieferung/areas.shp"), archive.open("Lieferung/areas.shx")
        stored = ShapefileLayer(shp, shx)
        features = sorted(stored.features(100), key=lambda feature: feature.number)
        counted = [count for _, count in stored.vertices(features)]
    assert counted == expected
    for feature, exact in zip(features, expected, strict=True):
        assert exact <= feature.ceiling
    if not z:
        assert features[-1].ceiling <= expected[-1] * 1.01


def _refusal(path: Path, limits: ImportLimits = LIMITS) -> InvalidDataError:
    with pytest.raises(InvalidDataError) as refused:
        read_delivery(path, "areas", ReadOptions(), limits)
    return refused.value


def _refusal_once_read(path: Path, source: str, name: str) -> InvalidDataError:
    """What the check of the features as read says about the same file."""
    with pytest.raises(InvalidDataError) as refused:
        check_size(pyogrio.read_dataframe(source), name, LIMITS)
    return refused.value


def test_a_geopackage_feature_over_the_limit_is_refused_as_it_would_be_once_read(
    tmp_path: Path,
) -> None:
    path = _geopackage(tmp_path / "Lieferung.gpkg", _shapes())
    with sqlite3.connect(path) as connection:  # ids with a gap: the number is the place
        connection.execute("DELETE FROM areas WHERE fid = 1")
    refused = _refusal(path)
    (problem,) = refused.problems
    assert problem.feature == "#3 Gebiet 4"
    assert problem.message == (
        "has 20,001 vertices, over the limit of 10,000 "
        "(the limit is set by BROADBAND_MAX_VERTICES_PER_FEATURE)"
    )
    assert refused.problems == _refusal_once_read(path, str(path), path.name).problems


def test_a_large_blob_that_cannot_be_walked_is_refused_by_its_size(tmp_path: Path) -> None:
    path = _geopackage(tmp_path / "Lieferung.gpkg", _shapes())
    with sqlite3.connect(path) as connection:  # mark the largest as an extension's encoding
        triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger'"  # they need SpatiaLite
        for (trigger,) in connection.execute(triggers).fetchall():
            connection.execute(f'DROP TRIGGER "{trigger}"')
        (blob,) = connection.execute("SELECT geom FROM areas WHERE fid = 4").fetchone()
        marked = blob[:3] + bytes([blob[3] | 0b0010_0000]) + blob[4:]
        connection.execute("UPDATE areas SET geom = ? WHERE fid = 4", (marked,))
    (problem,) = _refusal(path).problems
    assert problem.feature == "#4 Gebiet 4"
    assert problem.message.startswith("may have up to 2")
    assert "over the limit of 10,000" in problem.message


def test_a_zipped_shapefile_feature_over_the_limit_is_refused_as_it_would_be_once_read(
    tmp_path: Path,
) -> None:
    path = _zipped_shapefile(tmp_path / "Lieferung.zip", _shapes())
    refused = _refusal(path)
    (problem,) = refused.problems
    assert problem.feature == "#4 Gebiet 4"
    source = f"/vsizip/{path}/Lieferung/areas.shp"
    assert refused.problems == _refusal_once_read(path, source, path.name).problems


def test_a_shapefile_beside_its_index_is_checked_from_its_records(tmp_path: Path) -> None:
    _zipped_shapefile(tmp_path / "areas.zip", _shapes())
    with zipfile.ZipFile(tmp_path / "areas.zip") as archive:
        archive.extractall(tmp_path)
    (problem,) = _refusal(tmp_path / "Lieferung" / "areas.shp").problems
    assert problem.feature == "#4 Gebiet 4"
    assert "20,001 vertices" in problem.message


def test_a_zipped_geopackage_is_checked_from_its_blobs(tmp_path: Path) -> None:
    path = _geopackage(tmp_path / "areas.gpkg", _shapes())
    zipped = tmp_path / "Lieferung.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(path, "Ordner/areas.gpkg")
    (problem,) = _refusal(zipped).problems
    assert problem.feature == "#4 Gebiet 4"


def test_vertices_of_all_features_together_are_limited_before_reading(tmp_path: Path) -> None:
    shapes = [shapely.Polygon(_ring(8_000, 393_000 + 700 * n)) for n in range(4)]
    for path in (
        _geopackage(tmp_path / "Lieferung.gpkg", shapes),
        _zipped_shapefile(tmp_path / "Lieferung.zip", shapes),
    ):
        (problem,) = _refusal(path).problems
        assert problem.message == (  # 8,001 vertices each (rings close), stopped at the fourth
            "has at least 32,004 vertices in all, over the limit of 25,000 "
            "(the limit is set by BROADBAND_MAX_VERTICES_PER_DELIVERY)"
        )


def test_a_delivery_within_the_limits_is_read(tmp_path: Path) -> None:
    limits = ImportLimits(vertices_per_feature=25_000, vertices_per_delivery=40_000)
    for path in (
        _geopackage(tmp_path / "Lieferung.gpkg", _shapes()),
        _zipped_shapefile(tmp_path / "Lieferung.zip", _shapes()),
    ):
        assert len(read_delivery(path, "areas", ReadOptions(), limits)) == len(_shapes())


def _gp(wkb: bytes) -> bytes:
    """A GeoPackage geometry: header with an XY envelope, then the WKB."""
    return b"GP\x00\x03" + struct.pack("<i", 25832) + bytes(32) + wkb


def test_a_blob_that_claims_more_points_than_it_holds_is_left_to_gdal() -> None:
    lying = _gp(struct.pack("<BII", 1, 2, 1_000_000) + bytes(64))  # a line of 4 points
    assert geopackage_vertices(io.BytesIO(lying), len(lying)) is None
    honest = _gp(struct.pack("<BII", 1, 2, 4) + bytes(64))
    assert geopackage_vertices(io.BytesIO(honest), len(honest)) == 4


def test_geometries_nested_deeper_than_gdal_reads_are_left_to_gdal() -> None:
    point = struct.pack("<BI", 1, 1) + bytes(16)
    shallow, deep = point, point
    for _ in range(3):
        shallow = struct.pack("<BII", 1, 7, 1) + shallow
    for _ in range(40):
        deep = struct.pack("<BII", 1, 7, 1) + deep
    assert geopackage_vertices(io.BytesIO(_gp(shallow)), len(_gp(shallow))) == 1
    assert geopackage_vertices(io.BytesIO(_gp(deep)), len(_gp(deep))) is None


def test_a_shapefile_record_that_claims_more_points_than_it_holds_is_left_to_gdal() -> None:
    def record(points: int, words: int) -> bytes:
        return (
            struct.pack(">ii", 1, words)
            + struct.pack("<i", 5)
            + bytes(32)
            + struct.pack("<ii", 1, points)
        )

    assert shp_record_vertices(record(5, (44 + 4 + 16 * 5) // 2)) == 5
    assert shp_record_vertices(record(1_000_000, (44 + 4 + 16 * 5) // 2)) is None
