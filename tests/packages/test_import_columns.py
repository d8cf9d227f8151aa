"""Deliveries as planners send them: Shapefile names cut short, German values, no dates."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.auth.tokens import Principal
from service.core.errors import InvalidDataError
from service.core.settings import DEFAULT_PACKAGE
from service.db.models import Import
from service.layers import LAYERS, Role, importable
from service.packages import deliveries
from service.packages.columns import Mapping, apply
from service.packages.export_queries import package_frames
from service.packages.importing import ImportRequest
from service.packages.seeding import seed
from service.packages.sources import ReadOptions


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


@pytest.fixture
def today(factory: sessionmaker[Session]) -> dt.date:
    """The database's date: the day a status without a date is recorded."""
    with factory() as session:
        day: dt.date = session.execute(text("SELECT current_date")).scalar_one()
    return day


def _frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def _preview(factory: sessionmaker[Session], path: Path, layer: str, **options: Any) -> Import:
    read = ReadOptions(**{k: options.pop(k) for k in ("crs", "encoding") if k in options})
    return deliveries.preview(factory, ImportRequest(path, layer, read=read, **options), "test")


def _stored(factory: sessionmaker[Session], name: str) -> dict[str, Any]:
    with factory() as session:
        row = session.execute(
            text("SELECT status, funding, kind, status_since FROM areas WHERE name = :n"),
            {"n": name},
        ).mappings()
        return dict(row.one())


# --- column names ---------------------------------------------------------------------------

LONG_FIELDS = sorted(
    {(layer, name) for layer in importable() for name in LAYERS[layer].fields if len(name) > 10}
)


@pytest.mark.parametrize(
    ("layer", "field"), LONG_FIELDS, ids=[".".join(pair) for pair in LONG_FIELDS]
)
def test_every_field_name_cut_to_ten_characters_maps(layer: str, field: str) -> None:
    cut, shorter = field[:10], field[:9].upper()
    mapped = apply(_frame({cut: ["x"], shorter: ["y"]}), layer, Mapping())
    assert list(mapped.frame.columns) == [field]
    assert [p.field for p in mapped.problems] == [shorter]  # the 10-character cut, no prefix


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("Bezeichnun", "name"),
        ("BEZEICHNUN", "name"),
        ("school_num", "school_number"),
        ("status_sin", "status_since"),
        ("house_numb", "house_number"),
        ("demand_sha", "demand_share"),
        ("external_i", "external_id"),
        ("approximat", "approximate"),
        ("Netzbetrei", "provider"),
        ("Bemerkunge", "notes"),
        ("Finanzieru", "funding"),
        ("Ausbaustat", "status"),
        ("Statusdatu", "status_since"),
        ("Nachfrageq", "demand_share"),
        ("demand_quo", "demand_quota"),
        ("Mindestquo", "demand_quota"),
        ("Zielquote", "demand_quota"),
        ("Postleitza", "postcode"),
        ("Schülerzah", "pupils"),  # 10 characters (a cp1252 DBF)
        ("Schülerza", "pupils"),  # 10 bytes of UTF-8
        ("Schuelerza", "pupils"),  # written as ue before it was cut
    ],
)
def test_known_names_cut_to_ten_characters_map(column: str, field: str) -> None:
    every_field = {name for layer in LAYERS.values() for name in layer.fields}
    assert Mapping().field_for(column, every_field) == field


@pytest.mark.parametrize("encoding", ["UTF-8", "cp1252"])
def test_a_dbf_cuts_the_names_and_the_import_maps_them_back(tmp_path: Path, encoding: str) -> None:
    long_names = {
        "Bezeichnung": "name",
        "Schülerzahl": "pupils",
        "Schulnummer": "school_number",
        "Postleitzahl": "postcode",
        "status_since": "status_since",
        "connection": "connection",
    }
    frame = gpd.GeoDataFrame(
        {name: ["1"] for name in long_names}, geometry=[box(0, 0, 1, 1).centroid], crs=25832
    )
    path = tmp_path / "schulen.shp"
    with pytest.warns(RuntimeWarning, match="laundered"):
        pyogrio.write_dataframe(frame, path, encoding=encoding)
    read = pyogrio.read_dataframe(path)
    assert "Bezeichnung" not in read.columns and "Bezeichnun" in read.columns
    mapped = apply(read, "schools", Mapping())
    assert mapped.problems == []
    assert set(mapped.frame.columns) - {"geometry"} == set(long_names.values())


def test_an_ambiguous_cut_is_reported_not_guessed(tmp_path: Path) -> None:
    toml = tmp_path / "mapping.toml"
    toml.write_text('[columns]\n"Ausbaustatus_alt" = "notes"\n', encoding="utf-8")
    mapping = Mapping.from_toml(toml)
    mapped = apply(_frame({"Bezeichnun": ["A"], "Ausbaustat": ["im Bau"]}), "areas", mapping)
    assert "Ausbaustat" not in mapped.frame.columns
    [problem] = mapped.problems
    assert (problem.layer, problem.feature, problem.field) == ("areas", None, "Ausbaustat")
    assert "ambiguous" in problem.message
    assert "'Ausbaustatus' (status)" in problem.message
    assert "'Ausbaustatus_alt' (notes)" in problem.message
    assert '[columns] "Ausbaustat" =' in problem.message
    # Hamlets have no notes: for them the cut stands for one field only.
    hamlets = apply(_frame({"Ausbaustat": ["im Bau"]}), "hamlets", mapping)
    assert hamlets.problems == [] and list(hamlets.frame["status"]) == ["under_construction"]
    # Saying which settles it.
    toml.write_text(
        '[columns]\n"Ausbaustatus_alt" = "notes"\n"Ausbaustat" = "status"\n', encoding="utf-8"
    )
    settled = apply(_frame({"Ausbaustat": ["im Bau"]}), "areas", Mapping.from_toml(toml))
    assert settled.problems == [] and list(settled.frame["status"]) == ["under_construction"]


def test_a_mapping_files_own_column_names_are_cut_the_same_way(tmp_path: Path) -> None:
    toml = tmp_path / "mapping.toml"
    toml.write_text(
        'ignore = ["Flaeche_gesamt_m2"]\n\n[columns]\n"Zustand_Ausbau" = "status"\n',
        encoding="utf-8",
    )
    frame = _frame({"zustand_au": ["geplant"], "Flaeche_ge": [12.5]})
    mapped = apply(frame, "hamlets", Mapping.from_toml(toml))
    assert mapped.problems == []
    assert list(mapped.frame.columns) == ["status"]
    assert list(mapped.frame["status"]) == ["planned"]


# --- values ---------------------------------------------------------------------------------

GERMAN_VALUES = [
    ("kind", "Siedlung", "settlement"),
    ("kind", "Siedlungsgebiet", "settlement"),
    ("kind", "Wohngebiet", "settlement"),
    ("kind", "Gewerbe", "commercial"),
    ("kind", "Gewerbegebiet", "commercial"),
    ("kind", "Industriegebiet", "commercial"),
    ("kind", "Außenbereich", "outskirts"),
    ("kind", "Aussenbereich", "outskirts"),
    ("status", "erschlossen", "connected"),
    ("status", "erschlossen (gefördert)", "connected"),
    ("status", "erschlossen (eigenwirtschaftlich)", "connected"),
    ("status", "versorgt", "connected"),
    ("status", "in Betrieb", "connected"),
    ("status", "fertiggestellt", "connected"),
    ("status", "im Bau", "under_construction"),
    ("status", "im Ausbau", "under_construction"),
    ("status", "Ausbau", "under_construction"),
    ("status", "Bau", "under_construction"),
    ("status", "in Vorbereitung", "in_preparation"),
    ("status", "Vorbereitung", "in_preparation"),
    ("status", "in Planung", "planned"),
    ("status", "geplant", "planned"),
    ("status", "Planung", "planned"),
    ("status", "Nachfrage nicht ausreichend", "insufficient_demand"),
    ("status", "Nachfragebündelung gescheitert", "insufficient_demand"),
    ("funding", "gefördert", "funded"),
    ("funding", "Förderung", "funded"),
    ("funding", "eigenwirtschaftlich", "private"),
    ("funding", "privatwirtschaftlich", "private"),
    ("connection", "Glasfaser", "fibre"),
    ("connection", "FTTH", "fibre"),
    ("connection", "FTTB", "fibre"),
    ("connection", "Ausbauzusage", "commitment"),
    ("connection", "Zusage", "commitment"),
    ("connection", "LTE", "lte"),
    ("connection", "Mobilfunk", "lte"),
    ("connection", "kein", "none"),
    ("connection", "keiner", "none"),
    ("connection", "ohne", "none"),
]
TRANSLITERATED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae"})


def _variants(spelling: str) -> list[str]:
    """How the same word arrives: as written, shouted, transliterated, hyphenated, padded."""
    return [
        spelling,
        spelling.upper(),
        spelling.lower(),
        spelling.translate(TRANSLITERATED),
        spelling.replace(" ", "-"),
        f"  {spelling.replace(' ', '  ')} ",
    ]


@pytest.mark.parametrize(("field", "spelling", "value"), GERMAN_VALUES)
def test_german_spellings_map_to_the_vocabulary(field: str, spelling: str, value: str) -> None:
    mapping = Mapping()
    for variant in _variants(spelling):
        assert mapping.translate(field, variant)[0] == value, variant


def test_a_status_can_carry_the_funding_in_brackets() -> None:
    mapping = Mapping()
    assert mapping.translate("status", "erschlossen (gefördert)") == (
        "connected",
        {"funding": "funded"},
    )
    assert mapping.translate("status", "Erschlossen (Eigenwirtschaftlich)") == (
        "connected",
        {"funding": "private"},
    )
    mapped = apply(_frame({"Status": ["erschlossen (gefördert)", "im Bau"]}), "areas", mapping)
    assert list(mapped.frame["status"]) == ["connected", "under_construction"]
    assert mapped.implied == {"funding": ["funded", None]}  # set after stored values are filled
    given = apply(
        _frame(
            {
                "Bezeichnung": ["A", "B", "C"],
                "Status": ["erschlossen (gefördert)"] * 3,
                "Förderung": ["gefördert", "", "eigenwirtschaftlich"],
            }
        ),
        "areas",
        mapping,
    )
    assert list(given.frame["funding"])[:2] == ["funded", "funded"]
    [problem] = given.problems
    assert (problem.feature, problem.field) == ("#3 'C'", "funding")
    assert "'private'" in problem.message and "'erschlossen (gefördert)'" in problem.message
    hamlets = apply(_frame({"Status": ["erschlossen (gefördert)"]}), "hamlets", mapping)
    assert hamlets.problems == [] and hamlets.implied == {}  # hamlets have no funding


@pytest.mark.parametrize(
    ("field", "spelling"),
    [
        ("status", "unterversorgt"),
        ("status", "Markterkundung"),
        ("status", "teilweise erschlossen"),
        ("kind", "Mischgebiet"),
        ("connection", "VDSL"),
        ("status", "erschlossen (2021)"),
    ],
)
def test_values_of_unclear_meaning_are_left_alone(field: str, spelling: str) -> None:
    assert Mapping().translate(field, spelling) == (spelling, {})


def test_an_unknown_value_is_refused_with_the_allowed_ones_in_german_and_english(
    factory: sessionmaker[Session], frames: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    areas = frames["areas"].iloc[:2]
    delivery = gpd.GeoDataFrame(
        {"Bezeichnung": list(areas["name"]), "Status": ["unterversorgt", "erschlossen"]},
        geometry=list(areas.geometry),
        crs=25832,
    )
    path = tmp_path / "ausbau.geojson"
    delivery.to_crs(4326).to_file(path)
    with pytest.raises(InvalidDataError) as refused:
        _preview(factory, path, "areas")
    [problem] = refused.value.problems
    assert (problem.feature, problem.field) == (f"#1 '{areas['name'].iloc[0]}'", "status")
    assert "unknown value 'unterversorgt'" in problem.message
    for listed in (
        "connected (erschlossen)",
        "under_construction (im Bau)",
        "in_preparation (in Vorbereitung)",
        "planned (geplant)",
        "insufficient_demand (Nachfrage nicht ausreichend)",
    ):
        assert listed in problem.message


# --- a real delivery: Shapefile, cut names, German values, no dates, Gauss-Krüger ----------

SPELLINGS = {
    "connected": "in Betrieb",
    "under_construction": "im Bau",
    "in_preparation": "Vorbereitung",
    "planned": "Planung",
    "insufficient_demand": "Nachfragebündelung gescheitert",
}
KINDS = {"settlement": "Siedlung", "commercial": "Gewerbegebiet", "outskirts": "Aussenbereich"}
CHANGES = {
    "Kernstadt Innenstadt": "erschlossen (gefördert)",  # insufficient_demand, funding unknown
    "Kernstadt Südwest II": "versorgt",  # under_construction
    "Außenbereich West": "im Ausbau",  # planned
}
NEW = "Neubaugebiet Lette"


def _planners_delivery(areas: gpd.GeoDataFrame, folder: Path) -> Path:
    """The areas as a planner exports them from a desktop GIS: Shapefile, German, no dates."""
    pairs = zip(areas["name"], areas["status"], strict=True)
    statuses = [CHANGES.get(name, SPELLINGS[status]) for name, status in pairs]
    frame = gpd.GeoDataFrame(
        {
            "Bezeichnung": [*areas["name"], NEW],
            "Art": [*(KINDS[k] for k in areas["kind"]), "Wohngebiet"],
            "Status": [*statuses, "in Planung"],
            "Netzbetreiber": [*areas["provider"], "Deutsche Glasfaser"],
            "Bemerkungen": [*areas["notes"], None],
        },
        geometry=[*areas.geometry, areas.geometry.iloc[0].buffer(-60)],
        crs=25832,
    ).to_crs(31466)
    folder.mkdir()
    with pytest.warns(RuntimeWarning, match="laundered"):
        pyogrio.write_dataframe(frame, folder / "Ausbaugebiete.shp", encoding="UTF-8")
    fields = list(pyogrio.read_info(folder / "Ausbaugebiete.shp")["fields"])
    assert fields == ["Bezeichnun", "Art", "Status", "Netzbetrei", "Bemerkunge"]
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w") as out:
        for member in folder.iterdir():
            out.write(member, member.name)
    return archive


def test_a_planners_shapefile_without_dates_imports(
    factory: sessionmaker[Session],
    frames: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    today: dt.date,
    reseed: None,
) -> None:
    areas = frames["areas"]
    archive = _planners_delivery(areas, tmp_path / "lieferung")
    record = _preview(factory, archive, "areas")
    counts = record.preview["counts"]
    assert counts == {"added": 1, "changed": 3, "unchanged": len(areas) - 3, "missing": 0}
    [added] = record.preview["added"]
    assert added["feature"] == NEW
    assert added["status_date"] == {"date": today.isoformat(), "from": "today"}
    assert (added["properties"]["kind"], added["properties"]["status"]) == ("settlement", "planned")
    changed = {entry["feature"]: entry for entry in record.preview["changed"]}
    assert set(changed) == set(CHANGES)
    for entry in changed.values():
        assert entry["status_date"] == {"date": today.isoformat(), "from": "today"}
        assert entry["fields"]["status_since"]["new"] == today.isoformat()
        assert entry["geometry_changed"] is False  # Gauss-Krüger and back, within a centimetre
    assert changed["Kernstadt Innenstadt"]["fields"]["funding"] == {
        "old": "unknown",
        "new": "funded",
    }
    assert record.preview["status_dates"] == {
        "given": None,
        "counts": {"file": 0, "--status-since": 0, "today": 4, "unchanged": len(areas) - 3},
    }
    unchanged_before = _stored(factory, "Kernstadt Süd")
    deliveries.commit(factory, record.public_id, Principal("test", Role.EDITOR))
    assert _stored(factory, "Kernstadt Innenstadt") == {
        "status": "connected",
        "funding": "funded",
        "kind": "settlement",
        "status_since": today,
    }
    assert _stored(factory, NEW)["status_since"] == today
    assert _stored(factory, "Außenbereich West")["status"] == "under_construction"
    assert _stored(factory, "Kernstadt Süd") == unchanged_before  # an unchanged status keeps it
    with factory() as session:
        history = session.execute(
            text(
                "SELECT h.status, h.status_since FROM status_history h JOIN areas a "
                "ON a.id = h.feature_id AND h.feature_table = 'areas' "
                "WHERE a.name = 'Kernstadt Innenstadt' ORDER BY h.status_since"
            )
        ).all()
    assert [tuple(row) for row in history] == [
        ("insufficient_demand", dt.date(2021, 11, 1)),
        ("connected", today),
    ]


def test_a_date_for_the_whole_delivery(
    factory: sessionmaker[Session],
    frames: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    today: dt.date,
) -> None:
    areas = frames["areas"]
    given = today - dt.timedelta(days=3)
    own = dt.date(2025, 9, 1)
    pairs = zip(areas["name"], areas["status"], strict=True)
    statuses = [CHANGES.get(name, SPELLINGS[status]) for name, status in pairs]
    since = [own.strftime("%d.%m.%Y") if n == "Außenbereich West" else "" for n in areas["name"]]
    delivery = gpd.GeoDataFrame(
        {
            "Bezeichnung": [*areas["name"], NEW],
            "Status": [*statuses, "geplant"],
            "seit": [*since, ""],  # one feature brings its own date
            "Art": [*areas["kind"], "Siedlungsgebiet"],
        },
        geometry=[*areas.geometry, areas.geometry.iloc[0].buffer(-60)],
        crs=25832,
    )
    path = tmp_path / "lieferung.gpkg"
    delivery.to_file(path)
    record = _preview(factory, path, "areas", status_since=given)
    dates = {e["feature"]: e["status_date"] for e in record.preview["changed"]}
    dates |= {e["feature"]: e["status_date"] for e in record.preview["added"]}
    by_delivery = {"date": given.isoformat(), "from": "--status-since"}
    assert dates == {
        "Kernstadt Innenstadt": by_delivery,
        "Kernstadt Südwest II": by_delivery,
        "Außenbereich West": {"date": own.isoformat(), "from": "file"},  # its own date wins
        NEW: by_delivery,
    }
    assert record.preview["status_dates"] == {
        "given": given.isoformat(),
        "counts": {"file": 1, "--status-since": 3, "today": 0, "unchanged": len(areas) - 3},
    }
    assert record.preview["counts"]["unchanged"] == len(areas) - 3  # not re-dated


@pytest.mark.parametrize(
    ("layer", "offset", "message"),
    [
        ("areas", 1, "lies in the future"),
        ("districts", 0, "districts have no status to date"),
    ],
)
def test_a_delivery_date_in_the_future_or_without_a_status_is_refused(
    factory: sessionmaker[Session],
    frames: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    today: dt.date,
    layer: str,
    offset: int,
    message: str,
) -> None:
    path = tmp_path / "lieferung.gpkg"
    frames[layer][["name", "geometry"]].to_file(path)
    with pytest.raises(InvalidDataError, match=message) as refused:
        _preview(factory, path, layer, status_since=today + dt.timedelta(days=offset))
    assert refused.value.problems[0].field == "status_since"
