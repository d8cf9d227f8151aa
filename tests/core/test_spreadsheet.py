"""Formula-like text is quoted for spreadsheets, numbers are not, and the quote comes off again."""

from __future__ import annotations

import csv
import io

import geopandas as gpd
import pytest
from shapely.geometry import Point

from service.core.spreadsheet import neutralised, restored
from service.packages.exports import csv_text

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["Lette", "Goxel 2", "", "'quoted", "a=b", "3"]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_text_gets_a_leading_quote(value: str) -> None:
    assert neutralised(value) == "'" + value


@pytest.mark.parametrize("value", [*HARMLESS, -2, -2.5, 0, None, True])
def test_other_cells_are_left_alone(value: object) -> None:
    assert neutralised(value) == value


@pytest.mark.parametrize("value", [*HOSTILE, *HARMLESS, "'=1", "''@x", "'-", "'"])
def test_the_quote_comes_off_exactly(value: str) -> None:
    assert restored(neutralised(value)) == value


def test_csv_text_quotes_text_and_keeps_negative_numbers() -> None:
    frame = gpd.GeoDataFrame(
        {"name": [*HOSTILE, "Lette"], "offset": [-5] * len(HOSTILE) + [7]},
        geometry=[Point(400000, 5760000)] * (len(HOSTILE) + 1),
        crs="EPSG:25832",
    )
    rows = list(csv.DictReader(io.StringIO(csv_text(frame, 25832), newline="")))
    assert [row["name"] for row in rows] == [*("'" + v for v in HOSTILE), "Lette"]
    assert [row["offset"] for row in rows] == ["-5"] * len(HOSTILE) + ["7"]
    assert all(row["geometry"].startswith("SRID=25832;POINT") for row in rows)
