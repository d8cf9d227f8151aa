"""Import and export against the real PostGIS: formats, CRS, mapping, previews, all-or-nothing."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.auth.tokens import Principal
from service.core.errors import ConflictError, InvalidDataError
from service.core.settings import DEFAULT_PACKAGE
from service.layers import Role
from service.packages import deliveries
from service.packages.columns import Mapping
from service.packages.export_queries import package_frames
from service.packages.exports import ExportFormat, write_package
from service.packages.importing import ImportRequest, Match, check_delivery
from service.packages.seeding import seed
from service.packages.sources import ReadOptions
from tests.helpers import snapshot

LAYERS = ("districts", "areas", "hamlets", "schools", "addresses")


@pytest.fixture(scope="module")
def frames(factory: sessionmaker[Session], coesfeld: object) -> dict[str, gpd.GeoDataFrame]:
    """The Coesfeld layers as stored, in EPSG:25832."""
    with factory() as session:
        return package_frames(session, None)


@pytest.fixture
def reseed(factory: sessionmaker[Session], coesfeld: object) -> Iterator[None]:
    """For tests that commit an import: the bundled data is loaded again afterwards."""
    yield
    seed(factory, DEFAULT_PACKAGE, actor="test-suite")


def _preview(factory: sessionmaker[Session], path: Path, layer: str, **options: Any) -> Any:
    read = ReadOptions(
        **{k: options.pop(k) for k in ("crs", "encoding", "source_layer") if k in options}
    )
    request = ImportRequest(path=path, layer=layer, read=read, **options)
    return deliveries.preview(factory, request, "test")


def _counts(record: Any) -> dict[str, int]:
    return dict(record.preview["counts"])


def _fingerprint(factory: sessionmaker[Session]) -> tuple[object, ...]:
    with factory() as session:
        return snapshot(session)


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_then_import_changes_nothing(
    factory: sessionmaker[Session],
    frames: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    fmt: ExportFormat,
) -> None:
    out = write_package(
        frames, fmt, tmp_path / ("coesfeld.gpkg" if fmt is ExportFormat.GPKG else "coesfeld")
    )
    layers = LAYERS if fmt is ExportFormat.GPKG else ("areas", "hamlets", "schools")
    for layer in layers:
        if fmt is ExportFormat.GPKG:
            path, options = out, {"source_layer": layer}
        else:
            path, options = out / f"{layer}.{fmt.value}", {}
        record = _preview(factory, path, layer, **options)
        expected = {"added": 0, "changed": 0, "unchanged": len(frames[layer]), "missing": 0}
        assert _counts(record) == expected, (fmt, layer, record.preview["changed"][:2])


@pytest.mark.parametrize("fmt", [ExportFormat.GPKG, ExportFormat.GEOJSON])
def test_an_exported_package_seeds_to_the_same_data(
    factory: sessionmaker[Session],
    frames: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    fmt: ExportFormat,
) -> None:
    out = write_package(frames, fmt, tmp_path / ("p.gpkg" if fmt is ExportFormat.GPKG else "p"))
    before = _fingerprint(factory)
    diffs = seed(factory, out, actor="test-suite")
    assert diffs is not None
    assert all(diff.inserted == diff.updated == diff.deleted == 0 for diff in diffs.values()), diffs
    assert _fingerprint(factory) == before


def _shapefile_zip(
    frame: gpd.GeoDataFrame,
    folder: Path,
    name: str,
    prj: bool = True,
    encoding: str = "UTF-8",
    cpg: bool = True,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, folder / f"{name}.shp", encoding=encoding)
    archive = folder.parent / f"{folder.name}.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in folder.iterdir():
            if (path.suffix == ".prj" and not prj) or (path.suffix == ".cpg" and not cpg):
                continue
            out.write(path, path.name)
    return archive


def _deliveries(
    frame: gpd.GeoDataFrame, layer: str, tmp_path: Path
) -> list[tuple[str, Path, dict[str, Any]]]:
    """The same features in every format and CRS a delivery may come in."""
    files: list[tuple[str, Path, dict[str, Any]]] = []
    plain = frame.copy()
    plain["status_since"] = [d.isoformat() for d in plain["status_since"]]
    gpkg = tmp_path / "d.gpkg"
    plain.to_crs(25833).to_file(gpkg, layer="lieferung")
    plain.to_crs(3857).to_file(gpkg, layer="other")
    files.append(("GeoPackage EPSG:25833, layer chosen", gpkg, {"source_layer": "lieferung"}))
    files.append(
        (
            "zipped Shapefile EPSG:31466 (.prj)",
            _shapefile_zip(plain.to_crs(31466), tmp_path / "shp", layer),
            {},
        )
    )
    files.append(
        (
            "zipped Shapefile EPSG:31467, no .prj, --crs",
            _shapefile_zip(plain.to_crs(31467), tmp_path / "noprj", layer, prj=False),
            {"crs": "EPSG:31467"},
        )
    )
    geojson = tmp_path / "d.geojson"
    plain.to_crs(4326).to_file(geojson)
    files.append(("GeoJSON (RFC 7946)", geojson, {}))
    if frame.geometry.iloc[0].geom_type == "Point":
        wgs = plain.to_crs(4326)
        table = pd.DataFrame(wgs.drop(columns="geometry"))
        table["lon"], table["lat"] = (
            wgs.geometry.x.map("{:.9f}".format),
            wgs.geometry.y.map("{:.9f}".format),
        )
        table.to_csv(tmp_path / "lonlat.csv", index=False, sep=";")
        files.append(("CSV lon/lat (;)", tmp_path / "lonlat.csv", {}))
        mercator = plain.to_crs(3857)
        table = pd.DataFrame(mercator.drop(columns="geometry"))
        table["x"], table["y"] = mercator.geometry.x, mercator.geometry.y
        table.to_csv(tmp_path / "xy.csv", index=False)
        files.append(("CSV x/y EPSG:3857, --crs", tmp_path / "xy.csv", {"crs": "EPSG:3857"}))
    gk = plain.to_crs(31467)
    table = pd.DataFrame(gk.drop(columns="geometry"))
    table["WKT"] = gk.geometry.to_wkt(rounding_precision=-1)
    table.to_csv(tmp_path / "wkt.csv", index=False)
    files.append(("CSV WKT EPSG:31467, --crs", tmp_path / "wkt.csv", {"crs": "EPSG:31467"}))
    return files


@pytest.mark.parametrize("layer", ["areas", "schools"])
def test_every_format_and_crs_lands_within_a_centimetre(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path, layer: str
) -> None:
    original = frames[layer]
    with factory() as session:
        current: dict[tuple[str, ...], dict[str, Any]] = {
            (row["name"],): dict(row)
            for row in session.execute(text(f"SELECT * FROM {layer}")).mappings()
        }
    boundary = frames["municipality"].geometry.iloc[0]
    for description, path, options in _deliveries(original, layer, tmp_path):
        request = ImportRequest(path=path, layer=layer, read=ReadOptions(**options))
        features = check_delivery(
            request, current, boundary, "Coesfeld", pd.Timestamp.today().date()
        ).features
        assert len(features) == len(original), description
        by_name = dict(zip(original["name"], original.geometry, strict=True))
        for feature in features:
            expected = by_name[feature.properties["name"]]
            assert feature.geometry.hausdorff_distance(expected) < 0.01, (
                description,
                feature.label,
            )
        record = _preview(factory, path, layer, **options)
        assert _counts(record)["changed"] == 0, (description, record.preview["changed"][:1])


def test_a_file_without_a_crs_needs_one(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    archive = _shapefile_zip(frames["schools"].to_crs(31467), tmp_path / "s", "schools", prj=False)
    with pytest.raises(InvalidDataError) as refused:
        _preview(factory, archive, "schools")
    assert "declares no coordinate reference system" in refused.value.describe()
    assert "--crs" in refused.value.describe()
    table = pd.DataFrame({"name": ["x"], "x": [375000.0], "y": [5755000.0]})
    table.to_csv(tmp_path / "xy.csv", index=False)
    with pytest.raises(InvalidDataError, match="no coordinate reference system"):
        _preview(factory, tmp_path / "xy.csv", "schools")


def test_german_columns_and_values_are_mapped(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    areas = frames["areas"].iloc[:3].copy()
    delivery = gpd.GeoDataFrame(
        {
            "Bezeichnung": [*areas["name"], "Gewerbegebiet Neu"],
            "Status": ["im Bau", "erschlossen", "Nachfrage nicht ausreichend", "in Planung"],
            "Art": ["Siedlungsgebiet", "Siedlungsgebiet", "Gewerbegebiet", "Gewerbegebiet"],
            "Förderung": ["eigenwirtschaftlich", "gefördert", "unbekannt", "gefördert"],
            "Anbieter": ["Deutsche Glasfaser", "omnion", "", "Deutsche Glasfaser"],
            "seit": ["01.07.2021", "15.03.2022", "1.9.2020", "01.02.2026"],
            "OBJECTID": [1, 2, 3, 4],
        },
        geometry=[*areas.geometry, areas.geometry.iloc[0].buffer(-50)],
        crs=25832,
    )
    delivery.to_file(tmp_path / "lieferung.gpkg", layer="ausbau")
    record = _preview(factory, tmp_path / "lieferung.gpkg", "areas")
    added = record.preview["added"]
    assert [a["properties"]["name"] for a in added] == ["Gewerbegebiet Neu"]
    new = added[0]["properties"]
    assert (new["status"], new["kind"], new["funding"], new["status_since"]) == (
        "planned",
        "commercial",
        "funded",
        "2026-02-01",
    )
    changed = {c["feature"]: c["fields"] for c in record.preview["changed"]}
    expected = {
        "status": "under_construction",
        "kind": "settlement",
        "funding": "private",
        "status_since": "2021-07-01",
    }
    first = changed[areas["name"].iloc[0]]
    for field, value in expected.items():
        assert (
            first.get(
                field,
                {
                    "new": areas[field].iloc[0].isoformat()
                    if field == "status_since"
                    else areas[field].iloc[0]
                },
            )["new"]
            == value
        )


def test_unmapped_values_are_reported_and_a_mapping_file_extends(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    hamlets = frames["hamlets"].iloc[:2]
    delivery = gpd.GeoDataFrame(
        {
            "Name": list(hamlets["name"]),
            "Zustand": ["fast fertig", "erschlossen"],
            "seit": ["2024-05-01", "2024-05-01"],
            "Shape_Area": [1.0, 2.0],
        },
        geometry=list(hamlets.geometry),
        crs=25832,
    )
    path = tmp_path / "bauerschaften.geojson"
    delivery.to_crs(4326).to_file(path)
    with pytest.raises(InvalidDataError) as refused:
        _preview(factory, path, "hamlets")
    problems = [(p.feature, p.field) for p in refused.value.problems]
    assert problems == [(None, "Zustand")]  # an unknown column is named, not guessed
    mapping_file = tmp_path / "mapping.toml"
    mapping_file.write_text('[columns]\n"Zustand" = "status"\n', encoding="utf-8")
    with pytest.raises(InvalidDataError) as refused:
        _preview(factory, path, "hamlets", mapping=Mapping.from_toml(mapping_file))
    problem = refused.value.problems[0]
    assert (problem.feature, problem.field) == (f"#1 '{hamlets['name'].iloc[0]}'", "status")
    assert "'fast fertig'" in problem.message and "allowed: connected" in problem.message
    mapping_file.write_text(
        '[columns]\n"Zustand" = "status"\n\n[values.status]\n'
        '"fast fertig" = "under_construction"\n',
        encoding="utf-8",
    )
    record = _preview(factory, path, "hamlets", mapping=Mapping.from_toml(mapping_file))
    statuses = {
        c["feature"]: c["fields"]["status"]["new"]
        for c in record.preview["changed"]
        if "status" in c["fields"]
    }
    assert statuses[hamlets["name"].iloc[0]] == "under_construction"
    mapping_file.write_text('[colums]\n"x" = "y"\n', encoding="utf-8")
    with pytest.raises(InvalidDataError, match="colums"):
        Mapping.from_toml(mapping_file)


def test_one_bad_feature_refuses_the_file_and_names_every_problem(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    areas = frames["areas"].copy()
    areas["status_since"] = [d.isoformat() for d in areas["status_since"]]
    areas.loc[4, "kind"] = "industrial"
    areas.loc[6, "status_since"] = "2021-02-30"
    path = tmp_path / "areas.geojson"
    areas.to_crs(4326).to_file(path)
    before = _fingerprint(factory)
    with factory() as session:
        imports_before = session.execute(text("SELECT count(*) FROM imports")).scalar_one()
    with pytest.raises(InvalidDataError) as refused:
        _preview(factory, path, "areas")
    found = {(p.feature, p.field) for p in refused.value.problems}
    assert found == {
        (f"#5 '{areas['name'].iloc[4]}'", "kind"),
        (f"#7 '{areas['name'].iloc[6]}'", "status_since"),
    }
    assert "'industrial'" in refused.value.describe()
    assert _fingerprint(factory) == before
    with factory() as session:
        assert session.execute(text("SELECT count(*) FROM imports")).scalar_one() == imports_before


def test_shapefile_encodings(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    schools = frames["schools"].iloc[:2].copy()
    schools["street"] = ["Schützenstraße 3", "Bült 12"]
    schools["status_since"] = [d.isoformat() for d in schools["status_since"]]
    with_cpg = _shapefile_zip(schools, tmp_path / "a", "schools", encoding="cp1252")
    without_cpg = _shapefile_zip(
        schools, tmp_path / "b", "schools_plain", encoding="cp1252", cpg=False
    )
    for path, options in ((with_cpg, {}), (without_cpg, {"encoding": "cp1252"})):
        request = ImportRequest(path=path, layer="schools", read=ReadOptions(**options))
        with factory() as session:
            current: dict[tuple[str, ...], dict[str, Any]] = {
                (r["name"],): dict(r)
                for r in session.execute(text("SELECT * FROM schools")).mappings()
            }
        boundary = frames["municipality"].geometry.iloc[0]
        features = check_delivery(
            request, current, boundary, "Coesfeld", pd.Timestamp.today().date()
        ).features
        assert [f.properties["street"] for f in features] == ["Schützenstraße 3", "Bült 12"]


def test_the_preview_is_exactly_what_commit_does(
    factory: sessionmaker[Session],
    frames: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    reseed: None,
) -> None:
    schools = frames["schools"].copy()
    schools["status_since"] = [d.isoformat() for d in schools["status_since"]]
    schools.loc[0, "pupils"] = schools.loc[0, "pupils"] + 11
    schools.loc[1, "geometry"] = Point(schools.geometry.iloc[1].x + 25, schools.geometry.iloc[1].y)
    gone = schools["name"].iloc[2]
    schools = schools.drop(index=2)
    extra = schools.iloc[[0]].copy()
    extra["name"], extra["pupils"] = "Neue Grundschule", 80
    extra.geometry = extra.geometry.translate(100, 100)
    delivery = pd.concat([schools, extra], ignore_index=True)
    path = tmp_path / "schulen.gpkg"
    gpd.GeoDataFrame(delivery, crs=25832).to_file(path)
    record = _preview(factory, path, "schools", delete_missing=True)
    assert _counts(record) == {"added": 1, "changed": 2, "unchanged": 14, "missing": 1}
    moved = [c for c in record.preview["changed"] if c["geometry_changed"]]
    assert len(moved) == 1 and moved[0]["moved_m"] == pytest.approx(25, abs=0.01)
    committed = deliveries.commit(
        factory, record.public_id, Principal("test-committer", Role.ADMIN)
    )
    with factory() as session:
        log = (
            session.execute(
                text(
                    "SELECT operation, actor, source, old ->> 'name' AS old_name, "
                    "new ->> 'name' AS name FROM changes WHERE transaction_id = :t ORDER BY id"
                ),
                {"t": committed.transaction_id},
            )
            .mappings()
            .all()
        )
    assert {row["source"] for row in log} == {f"import {record.public_id}: schulen.gpkg"}
    assert {row["actor"] for row in log} == {"test-committer"}
    done = {(row["operation"], row["name"] or row["old_name"]) for row in log}
    planned = {("insert", a["feature"]) for a in record.preview["added"]}
    planned |= {("update", c["feature"]) for c in record.preview["changed"]}
    planned |= {("delete", m["feature"]) for m in record.preview["missing"]}
    assert done == planned and ("delete", gone) in done
    with pytest.raises(ConflictError, match="already committed"):
        deliveries.commit(factory, record.public_id, Principal("test-committer", Role.ADMIN))


def test_a_stale_preview_is_refused(
    factory: sessionmaker[Session],
    frames: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    reseed: None,
) -> None:
    hamlets = frames["hamlets"].copy()
    hamlets["status_since"] = [d.isoformat() for d in hamlets["status_since"]]
    hamlets.loc[0, "status"] = "connected" if hamlets.loc[0, "status"] != "connected" else "planned"
    path = tmp_path / "h.geojson"
    hamlets.to_crs(4326).to_file(path)
    record = _preview(factory, path, "hamlets")
    with factory() as session:
        session.execute(
            text("UPDATE hamlets SET demand_share = 0.5 WHERE name = :n"),
            {"n": hamlets["name"].iloc[5]},
        )
        session.commit()
    before = _fingerprint(factory)
    with pytest.raises(ConflictError, match="changed since the preview"):
        deliveries.commit(factory, record.public_id, Principal("test", Role.ADMIN))
    assert _fingerprint(factory) == before


def test_matching_by_external_id_renames_instead_of_replacing(
    factory: sessionmaker[Session],
    frames: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    reseed: None,
) -> None:
    districts = frames["districts"].copy()
    districts["external_id"] = [f"OT-{n}" for n in range(len(districts))]
    path = tmp_path / "ortsteile.gpkg"
    districts.to_file(path)
    first = _preview(factory, path, "districts")
    deliveries.commit(factory, first.public_id, Principal("test", Role.ADMIN))
    districts.loc[0, "name"] = "Umbenannt"
    districts.to_file(path)
    renamed = _preview(factory, path, "districts", match=Match.EXTERNAL_ID)
    assert _counts(renamed) == {
        "added": 0,
        "changed": 1,
        "unchanged": len(districts) - 1,
        "missing": 0,
    }
    assert renamed.preview["changed"][0]["fields"] == {
        "name": {"old": frames["districts"]["name"].iloc[0], "new": "Umbenannt"}
    }


def test_exporting_to_a_zip_leaves_a_folder_of_that_name_alone(
    frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    keep = tmp_path / "coesfeld"
    keep.mkdir()
    (keep / "reference_figures.csv").write_text("mine", encoding="utf-8")
    out = write_package(frames, ExportFormat.GEOJSON, tmp_path / "coesfeld.zip")
    assert (keep / "reference_figures.csv").read_text(encoding="utf-8") == "mine"
    assert "reference_figures.csv" not in zipfile.ZipFile(out).namelist()


def test_a_clash_with_stored_data_is_refused_at_the_preview(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    districts = frames["districts"].copy()
    districts["external_id"] = [f"OT-{n}" for n in range(len(districts))]
    path = tmp_path / "ortsteile.gpkg"
    districts.to_file(path)
    before = _fingerprint(factory)
    # Stored districts have no external id yet: matched by it, all would be new, with taken names.
    with pytest.raises(ConflictError) as refused:
        _preview(factory, path, "districts", match=Match.EXTERNAL_ID)
    assert refused.value.problems[0].field == "uq_districts_name"
    assert _fingerprint(factory) == before
    replacing = _preview(factory, path, "districts", match=Match.EXTERNAL_ID, delete_missing=True)
    assert _counts(replacing)["added"] == _counts(replacing)["missing"] == len(districts)


def test_numeric_external_ids_stay_whole_numbers(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    schools = frames["schools"].iloc[:3].copy()
    schools["external_id"] = [1234.0, None, 99.0]  # a numeric column with a NULL reads as float
    schools["status_since"] = [d.isoformat() for d in schools["status_since"]]
    path = tmp_path / "schulen.gpkg"
    schools.to_file(path)
    record = _preview(factory, path, "schools")
    ids = {c["feature"]: c["fields"]["external_id"]["new"] for c in record.preview["changed"]}
    assert sorted(ids.values()) == ["1234", "99"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.zip", b"PK\x03\x04 not really a zip", "not a readable zip file"),
        ("empty.csv", b"", "not a readable CSV table"),
        ("header-only.csv", b"name;lon;lat\n", "holds no features"),
        ("latin1.csv", "name;lon;lat\nMüller;7.16;51.94\n".encode("cp1252"), "give --encoding"),
        ("nothing.geojson", b'{"type": "FeatureCollection", "features": []}', "holds no features"),
    ],
)
def test_unreadable_deliveries_are_refused_clearly(
    factory: sessionmaker[Session], tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidDataError, match=message):
        _preview(factory, path, "schools")


def test_a_local_crs_cannot_be_placed(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    archive = _shapefile_zip(frames["schools"], tmp_path / "local", "schools", prj=False)
    local = 'LOCAL_CS["site grid",UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]'
    with zipfile.ZipFile(archive, "a") as out:
        out.writestr("schools.prj", local)
    with pytest.raises(InvalidDataError, match="cannot be brought into EPSG:25832"):
        _preview(factory, archive, "schools")


def test_geojson_in_utm_without_a_crs_member_takes_crs(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    schools = frames["schools"].copy()
    schools["status_since"] = [d.isoformat() for d in schools["status_since"]]
    text_json = schools.to_json(drop_id=True)  # coordinates in metres, no crs member
    path = tmp_path / "utm.geojson"
    path.write_text(text_json, encoding="utf-8")
    record = _preview(factory, path, "schools", crs="EPSG:25832")
    assert _counts(record)["unchanged"] == len(schools)


def test_spreadsheets_with_text_cells_keep_their_header(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    schools = frames["schools"].copy()
    table = pd.DataFrame({"Schule": schools["name"], "WKT": schools.geometry.to_wkt()})
    path = tmp_path / "schulen.xlsx"
    pyogrio.write_dataframe(table, path, driver="XLSX")
    record = _preview(factory, path, "schools", crs="EPSG:25832")
    assert _counts(record)["unchanged"] == len(schools)


def test_unused_previews_are_discarded_after_a_week(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    path = write_package(frames, ExportFormat.GPKG, tmp_path / "p.gpkg")
    old = _preview(factory, path, "schools", source_layer="schools")
    kept = _preview(factory, path, "schools", source_layer="schools")
    with factory() as session:
        session.execute(
            text("UPDATE imports SET created_at = now() - interval '8 days' WHERE id = :id"),
            {"id": old.id},
        )
        session.commit()
    _preview(factory, path, "schools", source_layer="schools")
    with factory() as session:
        left = set(
            session.execute(
                text("SELECT id FROM imports WHERE id IN (:a, :b)"), {"a": old.id, "b": kept.id}
            ).scalars()
        )
    assert left == {kept.id}


def test_the_preview_says_how_far_a_redrawn_area_moved(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    areas = frames["areas"].copy()
    areas["status_since"] = [d.isoformat() for d in areas["status_since"]]
    areas.loc[0, "geometry"] = areas.geometry.iloc[[0]].translate(12, 0).iloc[0]
    path = tmp_path / "gebiete.gpkg"
    gpd.GeoDataFrame(areas, crs=25832).to_file(path)
    record = _preview(factory, path, "areas")
    (changed,) = record.preview["changed"]
    assert changed["geometry_changed"]
    assert changed["moved_m"] == pytest.approx(12, abs=0.01)
    assert abs(changed["area_change_m2"]) < 1


def test_formula_like_names_come_back_from_our_csv_export_unquoted(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    areas = frames["areas"].copy()
    areas["status_since"] = [d.isoformat() for d in areas["status_since"]]
    hostile = ["=HYPERLINK(1)", "+cmd|x", "@SUM(1)", "-2+3", "'=already quoted"]
    areas.loc[: len(hostile) - 1, "name"] = hostile
    folder = tmp_path / "export"
    write_package({"areas": areas}, ExportFormat.CSV, folder)
    written = (folder / "areas.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(1)" in written and "''=already quoted" in written  # neutralised on disk
    record = _preview(factory, folder / "areas.csv", "areas")
    added = {entry["feature"] for entry in record.preview["added"]}
    assert set(hostile) <= added  # read back exactly as they were named
