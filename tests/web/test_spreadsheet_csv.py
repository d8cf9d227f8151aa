"""Every CSV the service writes is safe in a spreadsheet: formula-like names are quoted
(`'=HYPERLINK(…)`), figures stay numbers. Read back with the `csv` module, as a spreadsheet does."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
]


def _square(lon: float, lat: float, size: float = 0.004) -> list[list[list[float]]]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return [ring]


def _feature(properties: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


@pytest.fixture
def hostile(client: TestClient, tokens: dict[str, str], restore: None) -> None:
    """An area per hostile provider name and a hamlet per hostile name, over the town centre."""
    auth = {"Authorization": f"Bearer {tokens['editor']}"}
    for number, name in enumerate(HOSTILE):
        lon, lat = 7.160 + number * 0.001, 51.943
        area = _feature(
            {
                "name": name,
                "kind": "settlement",
                "status": "connected",
                "status_since": "2024-01-01",
                "provider": name,
            },
            {"type": "Polygon", "coordinates": _square(lon, lat)},
        )
        response = client.post("/collections/areas/items", json=area, headers=auth)
        assert response.status_code == 201, response.text
        hamlet = _feature(
            {"name": name, "status": "planned", "status_since": "2024-01-01"},
            {"type": "MultiPolygon", "coordinates": [_square(lon, lat - 0.01)]},
        )
        response = client.post("/collections/hamlets/items", json=hamlet, headers=auth)
        assert response.status_code == 201, response.text


def _rows(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(
        csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter)
    )


def _assert_quoted(rows: list[list[str]]) -> None:
    """Every hostile name is there with its quote, and no cell starts a formula."""
    cells = [cell for row in rows for cell in row]
    for name in HOSTILE:  # names are stored without surrounding white space
        assert "'" + name.strip() in cells, name
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert not [c for c in cells if c.startswith("-") and not c.lstrip("-")[:1].isdigit()]


@pytest.mark.usefixtures("hostile")
def test_items_csv_quotes_formula_names(client: TestClient) -> None:
    for layer in ("areas", "hamlets"):
        response = client.get(f"/collections/{layer}/items", params={"f": "csv", "limit": 10000})
        assert response.status_code == 200, response.text
        _assert_quoted(_rows(response.text))


@pytest.mark.usefixtures("hostile")
def test_the_csv_export_quotes_formula_names(client: TestClient) -> None:
    response = client.get("/export.csv.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    for layer in ("areas", "hamlets"):
        _assert_quoted(_rows(archive.read(f"{layer}.csv").decode("utf-8")))


@pytest.mark.usefixtures("hostile")
@pytest.mark.parametrize("unit", ["providers", "hamlets"])
def test_coverage_csv_quotes_formula_names_and_keeps_figures(client: TestClient, unit: str) -> None:
    response = client.get(f"/coverage/{unit}", params={"f": "csv"})
    assert response.status_code == 200, response.text
    rows = _rows(response.text, ";")
    _assert_quoted(rows)
    header = rows[0]
    for row in rows[1:]:  # the figures are numbers a spreadsheet reads as numbers
        assert row[header.index("Adressen")].isdigit()
        assert row[header.index("Anteil erschlossen (%)")].replace(",", "").isdigit()
