"""A Kreis and a Land on one database: `ags` of 5 or 2 digits adds up the municipalities inside.

The expected figures are worked out by hand from the generated towns (tests/kreis.py): Westdorf
has 3 connected addresses of 7, Mittelbach 4 of 9, Ostheim 2 of 4.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.kreis import KREIS

TOWNS = [
    {"ags": "05990001", "name": "Westdorf"},
    {"ags": "05990002", "name": "Mittelbach"},
    {"ags": "05990004", "name": "Ostheim"},
]
COESFELD = {"ags": "05558012", "name": "Coesfeld"}
# Westdorf: Dorf connected 3, Gewerbe under construction 2, Hof planned 1, outside 1.
# Mittelbach: Dorf planned 1, Gewerbe connected 4, Hof insufficient demand 2, outside 2.
# Ostheim: Dorf insufficient demand 2, Gewerbe connected 1, Hof connected 1.
KREIS_BY_STATUS = {
    "connected": 3 + 4 + 1 + 1,
    "under_construction": 2,
    "in_preparation": 0,
    "planned": 1 + 1,
    "insufficient_demand": 2 + 2,
    "none": 1 + 2,
}


def _get(client: TestClient, path: str, **params: str) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_kreis_summary_is_the_sum_of_its_towns(kreis: str, client: TestClient) -> None:
    body = _get(client, "/coverage", ags=KREIS)
    assert isinstance(body, dict)
    assert body["name"] == "Kreis 05990"
    assert body["municipalities"] == TOWNS
    figure = body["addresses"]
    assert figure["by_status"] == KREIS_BY_STATUS
    assert (figure["numerator"], figure["denominator"], figure["share_pct"]) == (9, 20, 45.0)
    areas = {area["kind"]: area for area in body["areas"]}
    # Dorf is 40 ha and Gewerbe 16 ha in every town.
    assert areas["settlement"]["hectares_by_status"] == {
        "connected": 40.0,
        "under_construction": 0.0,
        "in_preparation": 0.0,
        "planned": 40.0,
        "insufficient_demand": 40.0,
    }
    assert (areas["settlement"]["total_hectares"], areas["commercial"]["total_hectares"]) == (
        120.0,
        48.0,
    )
    assert areas["commercial"]["connected_share_pct"] == 66.67  # 32 of 48 ha
    schools = body["schools"]
    assert schools["schools_by_connection"] == {"fibre": 2, "commitment": 0, "lte": 1, "none": 0}
    assert (schools["pupils"], schools["pupils_on_fibre_pct"]) == (600, 66.67)
    assert body["reference"] == []  # no official figures for the generated Kreis


def test_kinds_and_providers_add_up_over_the_towns(kreis: str, client: TestClient) -> None:
    kinds = {unit["name"]: unit for unit in _get(client, "/coverage/kinds", ags=KREIS)}
    assert kinds["settlement"]["addresses"]["by_status"] == {
        "connected": 3,
        "under_construction": 0,
        "in_preparation": 0,
        "planned": 1,
        "insufficient_demand": 2,
        "none": 0,
    }
    assert kinds["commercial"]["addresses"]["numerator"] == 5
    assert kinds["commercial"]["addresses"]["denominator"] == 7
    assert all(unit["municipalities"] == TOWNS for unit in kinds.values())
    providers = {u["name"]: u for u in _get(client, "/coverage/providers", ags=KREIS)}
    # P1 runs every Dorf, P2 every Gewerbe; the denominator is every address of the Kreis.
    assert providers["P1"]["addresses"]["by_status"]["none"] == 20 - 6
    assert providers["P2"]["addresses"]["numerator"] == 5
    assert providers["P2"]["addresses"]["denominator"] == 20


def test_the_timeline_adds_up_on_every_date(kreis: str, client: TestClient) -> None:
    points = _get(client, "/coverage/timeline", ags=KREIS, **{"from": "2021-06-01"}, step="year")
    assert isinstance(points, list)
    before, after = points[0], points[1]
    assert before["as_of"] == "2021-06-01"
    assert before["addresses"]["by_status"]["none"] == 20  # every status dates from 2022
    assert after["as_of"] == "2022-06-01"
    assert after["addresses"]["by_status"] == KREIS_BY_STATUS
    assert all(point["municipalities"] == TOWNS for point in points)


@pytest.mark.parametrize("unit", ["districts", "hamlets"])
def test_districts_and_hamlets_are_listed_town_by_town(
    kreis: str, client: TestClient, unit: str
) -> None:
    listed = _get(client, f"/coverage/{unit}", ags=KREIS)
    expected = []
    for town in TOWNS:
        for own in _get(client, f"/coverage/{unit}", ags=town["ags"]):
            expected.append(
                {**own, "name": f"{own['name']} ({town['name']})", "municipalities": [town]}
            )
    assert listed == expected
    if unit == "districts":
        south = next(u for u in expected if u["name"] == "Süd (Westdorf)")
        assert (south["addresses"]["numerator"], south["addresses"]["denominator"]) == (3, 6)


def test_the_land_adds_coesfeld_and_the_kreis(kreis: str, client: TestClient) -> None:
    coesfeld = _get(client, "/coverage", ags=COESFELD["ags"])
    land = _get(client, "/coverage", ags="05")
    assert isinstance(coesfeld, dict) and isinstance(land, dict)
    assert land["name"] == "Nordrhein-Westfalen"
    assert land["municipalities"] == [COESFELD, *TOWNS]
    own = coesfeld["addresses"]["by_status"]
    assert land["addresses"]["by_status"] == {s: own[s] + KREIS_BY_STATUS[s] for s in own}
    assert land["addresses"]["denominator"] == coesfeld["addresses"]["denominator"] + 20
    assert [(f["level"], f["ags"]) for f in land["reference"]] == [("land", "05")]


def test_one_municipality_answers_as_before(kreis: str, client: TestClient) -> None:
    """Its own key: no `municipalities`, its own name; its Kreis's key: the same figure, added up
    over the one loaded town and said so (the cache keeps the two answers apart)."""
    own = _get(client, "/coverage/districts", ags=COESFELD["ags"])
    assert isinstance(own, list)
    assert "municipalities" not in own[0] and "(" not in own[0]["name"]
    town = _get(client, "/coverage", ags=COESFELD["ags"])
    kreis_of_coesfeld = _get(client, "/coverage", ags="05558")
    assert isinstance(town, dict) and isinstance(kreis_of_coesfeld, dict)
    assert (town["name"], "municipalities" in town) == ("Coesfeld", False)
    assert kreis_of_coesfeld["name"] == "Kreis 05558"
    assert kreis_of_coesfeld["municipalities"] == [COESFELD]
    assert kreis_of_coesfeld["addresses"] == town["addresses"]
    assert [f["level"] for f in kreis_of_coesfeld["reference"]] == ["kreis"]
    again = _get(client, "/coverage", ags=COESFELD["ags"])
    assert again == town


def test_csv_and_geojson_say_which_towns(kreis: str, client: TestClient) -> None:
    response = client.get("/coverage", params={"ags": KREIS, "f": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0]["Einheit"] == "Kreis 05990"
    assert (rows[0]["Adressen"], rows[0]["davon erschlossen"]) == ("20", "9")
    assert rows[0]["Gemeinden"] == "Westdorf (05990001), Mittelbach (05990002), Ostheim (05990004)"
    shapes = _get(client, "/coverage/districts", ags=KREIS, f="geojson")
    assert isinstance(shapes, dict)
    features = shapes["features"]
    assert len(features) == 6  # Nord and Süd of three towns
    assert all(feature["geometry"]["type"] == "MultiPolygon" for feature in features)
    assert features[0]["properties"]["municipalities"] == "Westdorf (05990001)"


@pytest.mark.parametrize(
    ("path", "ags", "status", "needle"),
    [
        ("/coverage", "05991", 404, "no municipality of Kreis 05991 is loaded"),
        ("/coverage/districts", "09", 404, "no municipality of Land 09 is loaded"),
        ("/coverage/timeline", "05990003", 404, "no municipality with AGS 05990003"),
        ("/map", "05991", 404, "Kreis 05991"),
        ("/map/tabelle", "14", 404, "Land 14"),
        ("/coverage", "059", 400, "a Kreis's (5) or a Land's (2)"),
        ("/coverage/kinds", "0599000", 400, "municipality's AGS (8 digits)"),
        ("/map", "05 99", 400, "a Kreis's (5)"),
        ("/coverage/hamlets", "O5990", 400, "a Land's (2)"),
    ],
)
def test_a_key_that_names_nothing_or_is_malformed(
    kreis: str, client: TestClient, path: str, ags: str, status: int, needle: str
) -> None:
    response = client.get(path, params={"ags": ags})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert needle in response.text
    if status == 400:
        assert response.json()["problems"][0]["field"] == "ags"


def test_without_a_key_several_towns_are_not_guessed(kreis: str, client: TestClient) -> None:
    response = client.get("/coverage")
    assert response.status_code == 404
    assert "several municipalities are loaded (05558012, 05990001" in response.text
