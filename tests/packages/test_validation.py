"""Package checks without a database: each fault is named by layer, feature and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

from service.core.errors import InvalidDataError
from service.core.vocabulary import Status
from service.layers import LAYERS, FieldSpec, FieldType
from service.packages.format import RawPackage
from service.packages.validation import check_geometry, check_layer, parse_field, validate_package

TOWN = box(370000, 5750000, 372000, 5752000)
CRS = "EPSG:25832"


def _frame(rows: list[dict[str, object]], geometries: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geometries, crs=CRS)


def _package(**overrides: gpd.GeoDataFrame) -> RawPackage:
    frames = {
        "municipality": _frame([{"name": "Testdorf", "ags": "09999999"}], [TOWN]),
        "districts": _frame([{"name": "Mitte"}], [TOWN]),
        "areas": _frame(
            [
                {
                    "name": "Neubaugebiet",
                    "kind": "settlement",
                    "status": "connected",
                    "status_since": "2021-07-01",
                }
            ],
            [box(370100, 5750100, 370500, 5750500)],
        ),
        "hamlets": _frame([], []),
        "schools": _frame([], []),
        "addresses": _frame(
            [{"street": "Hauptstraße", "house_number": "1", "postcode": "48653"}],
            [Point(370200, 5750200)],
        ),
    }
    frames.update(overrides)
    return RawPackage(source=Path("test"), frames=frames)


def test_a_good_package_passes_with_typed_values() -> None:
    package = validate_package(_package())
    area = package.layers["areas"][0]
    assert area.properties["status_since"] == dt.date(2021, 7, 1)
    assert area.properties["funding"] == "unknown"
    assert isinstance(area.geometry, MultiPolygon)


@pytest.mark.parametrize(
    ("spec", "raw", "message"),
    [
        (
            FieldSpec(allowed=Status),
            "done",
            "unknown value 'done'; allowed: connected, under_const",
        ),
        (FieldSpec(FieldType.DATE), "1.7.2021", "expected a date YYYY-MM-DD, got '1.7.2021'"),
        (FieldSpec(FieldType.INTEGER), -3, "expected a whole number from 0 to 2,147,483,647"),
        (FieldSpec(FieldType.INTEGER), 3_000_000_000, "expected a whole number from 0 to"),
        (FieldSpec(), "A\x00B", "contains a NUL character"),
        (FieldSpec(FieldType.SHARE), 1.5, "expected a share between 0 and 1, got 1.5"),
        (FieldSpec(FieldType.POSTCODE), "4865", "expected a 5-digit postcode, got '4865'"),
        (FieldSpec(), None, "required, but empty"),
        (FieldSpec(), "  ", "required, but empty"),
    ],
)
def test_field_errors_say_what_was_expected(spec: FieldSpec, raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_field(spec, raw)


def test_polygon_is_promoted_but_point_is_refused_for_areas() -> None:
    assert isinstance(check_geometry(box(0, 0, 1, 1), "MultiPolygon"), MultiPolygon)
    with pytest.raises(ValueError, match="expected MultiPolygon or Polygon, got Point"):
        check_geometry(Point(0, 0), "MultiPolygon")


def test_invalid_geometry_says_where() -> None:
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    with pytest.raises(ValueError, match=r"Self-intersection\[5 5\]"):
        check_geometry(bowtie, "MultiPolygon")


def test_every_problem_names_layer_feature_and_field() -> None:
    areas = _frame(
        [
            {"name": "A", "kind": "settlement", "status": "bogus", "status_since": "2021-01-01"},
            {"name": "B", "kind": "settlement", "status": "planned", "status_since": "2021-01-01"},
            {"name": "A", "kind": "settlement", "status": "planned", "status_since": "2021-01-01"},
        ],
        [
            box(370100, 5750100, 370200, 5750200),
            box(380000, 5750000, 380100, 5750100),
            box(370300, 5750300, 370400, 5750400),
        ],
    )
    with pytest.raises(InvalidDataError) as caught:
        validate_package(_package(areas=areas))
    found = {(p.layer, p.feature, p.field) for p in caught.value.problems}
    assert found == {
        ("areas", "#1 'A'", "status"),
        ("areas", "#2 'B'", "geometry"),
    }
    outside = next(p for p in caught.value.problems if p.field == "geometry")
    assert "outside the municipality Testdorf (10,000 m² outside)" in outside.message


def test_duplicate_keys_are_reported() -> None:
    addresses = _frame(
        [{"street": "Weg", "house_number": "1", "postcode": "48653"}] * 2,
        [Point(370200, 5750200), Point(370300, 5750300)],
    )
    features, problems = check_layer(LAYERS["addresses"], addresses)
    assert len(features) == 2
    assert [(p.feature, p.field, p.message) for p in problems] == [
        ("#2 'Weg 1'", "postcode+street+house_number", "duplicate of #1 'Weg 1'")
    ]


def test_unknown_fields_are_refused() -> None:
    districts = _frame([{"name": "Mitte", "Status": "x"}], [TOWN])
    with pytest.raises(InvalidDataError, match="districts, field 'Status': unknown field"):
        validate_package(_package(districts=districts))


def test_municipality_layer_needs_exactly_one_feature() -> None:
    two = _frame([{"name": "A", "ags": "09999999"}, {"name": "B", "ags": "09999998"}], [TOWN] * 2)
    with pytest.raises(InvalidDataError, match="expected 1 feature, found 2"):
        validate_package(_package(municipality=two))
