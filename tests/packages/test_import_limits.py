"""Hostile deliveries are refused quickly, with a 4xx naming the limit and its setting."""

from __future__ import annotations

import sqlite3
import struct
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import httpx2
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from service.auth.tokens import Principal
from service.core.errors import InvalidDataError, PayloadTooLargeError
from service.core.limits import ImportLimits
from service.core.settings import DEFAULT_PACKAGE, Settings
from service.layers import Role
from service.ops.processes import peak_rss_mb
from service.packages import deliveries
from service.packages.columns import Mapping
from service.packages.export_queries import package_frames
from service.packages.importing import ImportRequest
from service.packages.seeding import seed
from service.packages.sources import ReadOptions, read_delivery
from tests.helpers import serve_process, stop_process

SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>wkt</t></is></c></row>'
)
ROW = b'<row><c t="inlineStr"><is><t>POINT (7.17 51.94)</t></is></c></row>'
SHEET_TAIL = b"</sheetData></worksheet>"


@pytest.fixture
def reseed(factory: sessionmaker[Session], coesfeld: object) -> Iterator[None]:
    """For tests that commit an import: the bundled data is loaded again afterwards."""
    yield
    seed(factory, DEFAULT_PACKAGE, actor="test-suite")


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _upload(client: TestClient, path: Path, secret: str, **files: Path) -> httpx2.Response:
    opened = {"file": (path.name, path.read_bytes())}
    opened |= {name: (extra.name, extra.read_bytes()) for name, extra in files.items()}
    return client.post("/imports", files=opened, data={"layer": "areas"}, headers=_auth(secret))


def _xlsx(path: Path, rows: int) -> Path:
    """A spreadsheet whose one sheet holds `rows` rows of the same point, deflated small."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(SHEET_HEAD)
            block = ROW * 10_000
            for _ in range(rows // 10_000):
                sheet.write(block)
            sheet.write(SHEET_TAIL)
    return path


def _lying_zip(path: Path, real: int, declared: int) -> Path:
    """A zip whose one member inflates to `real` bytes while both its headers say `declared`."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("areas.geojson", b" " * real)
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, declared)
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))
    return path


def _areas(
    path: Path, geometry: shapely.Geometry, name: str = "Riesig", kind: str | None = None
) -> Path:
    columns = {"Bezeichnung": [name], "Status": ["im Bau"]}
    if kind is not None:
        columns["Art"] = [kind]
    frame = gpd.GeoDataFrame(columns, geometry=[geometry], crs=25832)
    frame.to_file(path, layer="areas")
    return path


def _zipped_shapefile(path: Path, geometry: shapely.Geometry) -> Path:
    """A delivery as a Shapefile comes: .shp, .shx, .dbf and .prj in one zip."""
    folder = path.parent / f"{path.stem}-shp"
    folder.mkdir()
    frame = gpd.GeoDataFrame({"Name": ["Riesig"]}, geometry=[geometry], crs=25832)
    frame.to_file(folder / "areas.shp")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for member in sorted(folder.iterdir()):
            archive.write(member, member.name)
    return path


def _circle(vertices: int) -> shapely.Polygon:
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    ring = np.column_stack((393_000 + 300 * np.cos(angles), 5_758_000 + 300 * np.sin(angles)))
    return shapely.Polygon(ring)


def test_an_xlsx_that_inflates_past_the_limit_is_refused_as_it_inflates(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "bomb.xlsx", rows=100_000)  # ~6 MB of sheet XML, a few KB deflated
    assert path.stat().st_size < 100_000
    start = time.monotonic()
    with pytest.raises(PayloadTooLargeError) as refused:
        read_delivery(path, "areas", ReadOptions(), ImportLimits(unpacked_bytes=1_000_000))
    assert "BROADBAND_MAX_UNPACKED_BYTES" in str(refused.value)
    assert "1,000,000" in str(refused.value)
    assert time.monotonic() - start < 5


def test_an_xlsx_with_too_many_rows_is_refused_over_http_before_it_is_read(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    path = _xlsx(tmp_path / "Lieferung.xlsx", rows=500_000)  # the finding: 16.7 s, +590 MB
    start = time.monotonic()
    answer = _upload(client, path, tokens["editor"])
    seconds = time.monotonic() - start
    assert answer.status_code == 422, answer.text
    assert "BROADBAND_MAX_DELIVERY_ROWS" in answer.text
    assert "500,000 rows" in answer.text
    assert seconds < 10, f"took {seconds:.1f} s"


def test_a_zip_entry_that_lies_about_its_size_is_counted_as_it_inflates(tmp_path: Path) -> None:
    path = _lying_zip(tmp_path / "areas.zip", real=5_000_000, declared=100)
    with pytest.raises(PayloadTooLargeError) as refused:
        read_delivery(path, "areas", ReadOptions(), ImportLimits(unpacked_bytes=1_000_000))
    assert "BROADBAND_MAX_UNPACKED_BYTES" in str(refused.value)


def test_a_zip_entry_that_lies_within_the_limit_is_refused_naming_the_lie(tmp_path: Path) -> None:
    path = _lying_zip(tmp_path / "areas.zip", real=50_000, declared=100)
    with pytest.raises(InvalidDataError, match="header says 100 bytes, it holds 50,000"):
        read_delivery(path, "areas", ReadOptions())


def test_a_vertex_bomb_is_refused_naming_the_feature_and_the_limit(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    path = _areas(tmp_path / "Lieferung.gpkg", _circle(300_000))
    start = time.monotonic()
    answer = _upload(client, path, tokens["editor"])
    seconds = time.monotonic() - start
    assert answer.status_code == 422, answer.text
    problem = answer.json()["problems"][0]
    assert problem["feature"] == "#1 Riesig"
    assert "300,001 vertices" in problem["message"]  # the ring closes on its first
    assert "BROADBAND_MAX_VERTICES_PER_FEATURE" in problem["message"]
    assert seconds < 10, f"took {seconds:.1f} s"


def test_vertices_are_limited_per_delivery_too(tmp_path: Path) -> None:
    path = _areas(tmp_path / "Lieferung.gpkg", _circle(5_000))
    limits = ImportLimits(vertices_per_feature=10_000, vertices_per_delivery=4_000)
    with pytest.raises(InvalidDataError, match="BROADBAND_MAX_VERTICES_PER_DELIVERY"):
        read_delivery(path, "areas", ReadOptions(), limits)


def test_rows_are_limited(tmp_path: Path) -> None:
    path = tmp_path / "Lieferung.gpkg"
    frame = gpd.GeoDataFrame(
        {"Bezeichnung": [f"Gebiet {n}" for n in range(5)]},
        geometry=[_circle(8)] * 5,
        crs=25832,
    )
    frame.to_file(path, layer="areas")
    with pytest.raises(
        InvalidDataError, match=r"more than 4 features.*BROADBAND_MAX_DELIVERY_ROWS"
    ):
        read_delivery(path, "areas", ReadOptions(), ImportLimits(rows=4))


def test_a_geopackage_whose_layer_is_a_view_is_refused_before_it_is_read(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    path = _areas(tmp_path / "Lieferung.gpkg", _circle(8))
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE VIEW slow AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < 100000) "
            "SELECT fid, geom, randomblob(1000) AS junk FROM areas, n;"
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
            "VALUES ('slow', 'features', 'slow', 25832);"
            "INSERT INTO gpkg_geometry_columns VALUES ('slow', 'geom', 'POLYGON', 25832, 0, 0);"
        )
    answer = _upload(client, path, tokens["editor"])
    assert answer.status_code == 422, answer.text
    assert "SQL views (slow)" in answer.text


def test_a_zipped_geopackage_with_a_view_is_refused_too(tmp_path: Path) -> None:
    path = _areas(tmp_path / "areas.gpkg", _circle(8))
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE VIEW slow AS SELECT * FROM areas")
    zipped = tmp_path / "Lieferung.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(path, "Ordner/areas.gpkg")
    with pytest.raises(InvalidDataError, match=r"Ordner/areas.gpkg: holds SQL views \(slow\)"):
        read_delivery(zipped, "areas", ReadOptions())


def test_a_geopackage_with_triggers_of_its_own_is_refused(tmp_path: Path) -> None:
    path = _areas(tmp_path / "Lieferung.gpkg", _circle(8))
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TRIGGER sneaky AFTER UPDATE ON areas BEGIN SELECT randomblob(1000); END"
        )
    with pytest.raises(InvalidDataError, match=r"triggers of its own \(sneaky\)"):
        read_delivery(path, "areas", ReadOptions())


def test_a_plain_geopackage_with_its_standard_triggers_is_read(tmp_path: Path) -> None:
    path = _areas(tmp_path / "Lieferung.gpkg", _circle(8))
    with sqlite3.connect(path) as connection:
        triggers = connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert [name for (name,) in triggers]  # GDAL's R-tree triggers are there
    assert len(read_delivery(path, "areas", ReadOptions())) == 1


def test_a_2000_deep_mapping_file_is_refused_not_a_500(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text("ignore = " + "[" * 2000 + "]" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(InvalidDataError, match="nested too deeply"):
        Mapping.from_toml(mapping)
    path = _areas(tmp_path / "Lieferung.gpkg", _circle(8))
    answer = _upload(client, path, tokens["editor"], mapping=mapping)
    assert answer.status_code == 422, answer.text
    assert "nested too deeply" in answer.text


def _densified(shape: shapely.Geometry, vertices: int) -> shapely.Geometry:
    """The same outline with about `vertices` vertices (points added along its edges)."""
    step = shapely.length(shape) / vertices
    return shapely.segmentize(shape, step)


def test_a_slow_geometry_pair_is_compared_approximately_and_says_so(
    factory: sessionmaker[Session], reseed: None, tmp_path: Path
) -> None:
    with factory() as session:
        areas = package_frames(session, None)["areas"]
    name, outline = areas["name"].iloc[0], areas.geometry.iloc[0]
    fine = _areas(tmp_path / "fein.gpkg", _densified(outline, 20_000), name)
    first = deliveries.preview(factory, ImportRequest(path=fine, layer="areas"), "test")
    deliveries.commit(factory, first.public_id, Principal("test", Role.ADMIN))
    finer = _areas(tmp_path / "feiner.gpkg", _densified(outline, 80_000), name)
    start = time.monotonic()
    record = deliveries.preview(factory, ImportRequest(path=finer, layer="areas"), "test")
    seconds = time.monotonic() - start  # Hausdorff on the pair took 34.7 s
    (entry,) = record.preview["changed"]
    assert entry["moved_approximate"] is True
    assert entry["moved_m"] < 1  # the same outline, drawn with more points
    assert seconds < 10, f"took {seconds:.1f} s"


def test_the_bombs_cost_a_fresh_service_process_less_than_100_mb(
    settings: Settings, tokens: dict[str, str], tmp_path: Path
) -> None:
    """The limits refuse each bomb before it is unpacked or materialised: a fresh serve
    process's peak memory grows by less than 100 MB over all of them (unlimited: +350 MB)."""
    bombs = [
        _xlsx(tmp_path / "Lieferung.xlsx", rows=500_000),
        _lying_zip(tmp_path / "areas.zip", real=250_000_000, declared=100),
        _areas(tmp_path / "Lieferung.gpkg", _circle(3_000_000), kind="Gewerbegebiet"),
        _zipped_shapefile(tmp_path / "Lieferung.zip", _circle(3_000_000)),  # was +400 MB
    ]
    warm_up = tmp_path / "klein.gpkg"
    gpd.GeoDataFrame(
        {"Bezeichnung": ["Klein"], "Art": ["Gewerbegebiet"], "Status": ["im Bau"]},
        geometry=[shapely.box(7.17, 51.95, 7.172, 51.952)],  # in the town centre
        crs=4326,
    ).to_file(warm_up, layer="areas")
    served = serve_process(settings)
    try:
        (pid,) = served.workers()
        with httpx.Client(base_url=served.url, timeout=120) as http:

            def upload(path: Path) -> httpx.Response:
                files = {"file": (path.name, path.read_bytes())}
                return http.post(
                    "/imports",
                    files=files,
                    data={"layer": "areas"},
                    headers=_auth(tokens["editor"]),
                )

            warmed = upload(warm_up)
            assert warmed.status_code == 201, warmed.text  # every reader loaded once
            before = peak_rss_mb(pid)
            for bomb in bombs:
                answer = upload(bomb)
                assert answer.status_code in (413, 422), (bomb.name, answer.text)
            after = peak_rss_mb(pid)
    finally:
        stop_process(served)
    assert before is not None and after is not None
    assert after - before < 100, f"peak RSS {before} → {after} MiB"
