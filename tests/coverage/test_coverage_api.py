"""Coverage over HTTP: the JSON names clients rely on, CSV for spreadsheets, errors, freshness."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.coverage.reports import HAMLET_HEADERS, UNIT_HEADERS

UNIT_KEYS = {"name", "as_of", "addresses", "method"}
FIGURE_KEYS = {"numerator", "denominator", "share_pct", "by_status"}
STATUSES = {
    "connected",
    "under_construction",
    "in_preparation",
    "planned",
    "insufficient_demand",
    "none",
}


def _check_unit(unit: dict[str, object]) -> None:
    assert set(unit) >= UNIT_KEYS
    figure = unit["addresses"]
    assert isinstance(figure, dict)
    assert set(figure) == FIGURE_KEYS
    assert set(figure["by_status"]) == STATUSES
    assert sum(figure["by_status"].values()) == figure["denominator"]
    assert figure["by_status"]["connected"] == figure["numerator"]
    exact = Decimal(100 * figure["numerator"]) / Decimal(figure["denominator"])
    assert Decimal(str(figure["share_pct"])) == exact.quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_summary_has_every_figure(coesfeld: object, client: TestClient) -> None:
    body = client.get("/coverage").json()
    _check_unit(body)
    assert body["name"] == "Coesfeld"
    assert body["addresses"]["denominator"] == 12_000
    assert {area["kind"] for area in body["areas"]} == {"settlement", "commercial", "outskirts"}
    assert body["schools"]["schools"] == 17
    levels = {figure["level"]: figure for figure in body["reference"]}
    assert set(levels) == {"gemeinde", "kreis"}
    assert levels["gemeinde"]["ags"] == "05558012"
    assert "Breitbandatlas" in levels["gemeinde"]["source"]


@pytest.mark.parametrize("unit", ["districts", "hamlets", "kinds", "providers"])
def test_breakdowns_are_arrays_of_units(coesfeld: object, client: TestClient, unit: str) -> None:
    body = client.get(f"/coverage/{unit}").json()
    assert isinstance(body, list)
    assert body
    for item in body:
        _check_unit(item)


def test_districts_add_up_to_the_municipality(coesfeld: object, client: TestClient) -> None:
    whole = client.get("/coverage").json()["addresses"]
    parts = client.get("/coverage/districts").json()
    assert sum(p["addresses"]["numerator"] for p in parts) == whole["numerator"]
    assert sum(p["addresses"]["denominator"] for p in parts) == whole["denominator"]


def _parse_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


@pytest.mark.parametrize("unit", ["districts", "hamlets", "kinds", "providers"])
def test_csv_parses_back_to_the_same_numbers(
    coesfeld: object, client: TestClient, unit: str
) -> None:
    as_json = {u["name"]: u["addresses"] for u in client.get(f"/coverage/{unit}").json()}
    response = client.get(f"/coverage/{unit}", params={"f": "csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = _parse_csv(response.content)
    assert list(rows[0]) == (HAMLET_HEADERS if unit == "hamlets" else UNIT_HEADERS)
    assert {row["Einheit"] for row in rows} == set(as_json)
    for row in rows:
        figure = as_json[row["Einheit"]]
        assert int(row["Adressen"]) == figure["denominator"]
        assert int(row["davon erschlossen"]) == figure["numerator"]
        assert float(row["Anteil erschlossen (%)"].replace(",", ".")) == figure["share_pct"]
        assert int(row["Nachfrage nicht ausreichend"]) == figure["by_status"]["insufficient_demand"]
        assert int(row["ohne Ausbaugebiet"]) == figure["by_status"]["none"]


def test_as_of_before_the_roll_out(coesfeld: object, client: TestClient) -> None:
    body = client.get("/coverage", params={"as_of": "2015-01-01"}).json()
    assert body["as_of"] == "2015-01-01"
    assert body["addresses"]["numerator"] == 0
    assert body["addresses"]["by_status"]["none"] == 12_000
    assert body["schools"]["schools"] == 0


@pytest.mark.parametrize(
    ("params", "status", "needle"),
    [
        ({"as_of": "2021-13-01"}, 400, "as_of"),
        ({"as_of": "2999-01-01"}, 400, "lies in the future"),
        ({"ags": "01234567"}, 404, "no municipality with AGS 01234567"),
        ({"f": "xlsx"}, 400, "'json' or 'csv'"),
    ],
)
def test_bad_parameters_get_a_clear_4xx(
    coesfeld: object, client: TestClient, params: dict[str, str], status: int, needle: str
) -> None:
    response = client.get("/coverage", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert needle in response.text


def test_timeline_is_chronological_and_ends_today(coesfeld: object, client: TestClient) -> None:
    points = client.get("/coverage/timeline", params={"step": "year"}).json()
    dates = [p["as_of"] for p in points]
    assert dates == sorted(dates)
    assert dates[0] == "2018-01-01"
    today = client.get("/coverage").json()
    assert points[-1]["addresses"]["numerator"] <= today["addresses"]["numerator"]
    csv_rows = _parse_csv(
        client.get("/coverage/timeline", params={"step": "year", "f": "csv"}).content
    )
    assert [row["Stand"] for row in csv_rows] == dates


def test_a_committed_change_is_served_at_once(
    coesfeld: object, client: TestClient, factory: sessionmaker[Session]
) -> None:
    before = client.get("/coverage").json()["addresses"]["numerator"]
    with factory() as session, session.begin():
        name = session.execute(
            text(
                "SELECT name FROM areas WHERE status = 'connected' AND kind = 'settlement' "
                "ORDER BY name LIMIT 1"
            )
        ).scalar_one()
        session.execute(
            text("UPDATE areas SET status = 'insufficient_demand' WHERE name = :n"), {"n": name}
        )
    try:
        after = client.get("/coverage").json()["addresses"]["numerator"]
        assert after < before
    finally:
        with factory() as session, session.begin():
            session.execute(
                text("UPDATE areas SET status = 'connected' WHERE name = :n"), {"n": name}
            )
    assert client.get("/coverage").json()["addresses"]["numerator"] == before


def test_districts_as_geojson_carry_outlines_and_figures(
    coesfeld: object, client: TestClient
) -> None:
    response = client.get("/coverage/districts", params={"f": "geojson"})
    assert response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    as_json = {u["name"]: u["addresses"] for u in client.get("/coverage/districts").json()}
    assert {f["properties"]["name"] for f in collection["features"]} == set(as_json)
    for feature in collection["features"]:
        props = feature["properties"]
        assert props["numerator"] == as_json[props["name"]]["numerator"]
        assert feature["geometry"]["type"] == "MultiPolygon"
        lon, lat = feature["geometry"]["coordinates"][0][0][0]
        assert 7.0 < lon < 7.3
        assert 51.8 < lat < 52.0
    refused = client.get("/coverage/kinds", params={"f": "geojson"})
    assert refused.status_code == 400
    assert "geojson is available for districts and hamlets" in refused.text
