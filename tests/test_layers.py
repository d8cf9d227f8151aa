"""The layer registry: one entry is all a new layer needs for every per-layer list to know it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.errors import InvalidDataError
from service.core.vocabulary import Status
from service.coverage.rules import RANK, STATUS_ORDER, AddressFigure, Unit
from service.features.openapi import operation
from service.layers import (
    COLLECTIONS,
    LAYERS,
    FieldSpec,
    FieldType,
    Layer,
    MapStyle,
    Role,
    highlightable,
    importable,
    map_titles,
    on_map,
    printable,
    property_schemas,
)
from service.maps.pages import parse_highlight, parse_layers
from service.maps.printmap import print_map
from service.maps.queries import layer_sql
from service.maps.webmap import MapOptions, build_map
from service.packages.format import read_package
from service.packages.importing import require_importable

CAMPAIGNS = Layer(
    "campaigns",
    "MultiPolygon",
    {
        "name": FieldSpec(),
        "status": FieldSpec(allowed=Status),
        "status_since": FieldSpec(FieldType.DATE),
        "quota": FieldSpec(FieldType.SHARE, required=False),
    },
    "Demand campaigns",
    "Nachfragebündelungen: where a provider collects sign-ups before it builds.",
    "Nachfragebündelungen",
    write_role=Role.EDITOR,
    status_field="status",
    importable=True,
    map_style=MapStyle.STATUS,
    map_fields=("name", "status", "status_since", "quota"),
    popup=("name", "status_label", "since"),
    highlightable=True,
    printable=True,
)

SQUARE = {
    "type": "MultiPolygon",
    "coordinates": [[[[7.15, 51.93], [7.17, 51.93], [7.17, 51.95], [7.15, 51.95], [7.15, 51.93]]]],
}
SQUARE_25832: dict[str, Any] = {
    "type": "MultiPolygon",
    "coordinates": [[[[381000, 5755000], [383000, 5755000], [383000, 5757000], [381000, 5757000]]]],
}
SQUARE_25832["coordinates"][0][0].append([381000, 5755000])


@pytest.fixture
def campaigns(monkeypatch: pytest.MonkeyPatch) -> Layer:
    """The registry with one more layer, for this test only."""
    monkeypatch.setitem(LAYERS, CAMPAIGNS.name, CAMPAIGNS)
    return CAMPAIGNS


def _collection(geometry: dict[str, Any]) -> dict[str, Any]:
    feature = {
        "type": "Feature",
        "id": 1,
        "geometry": geometry,
        "properties": {"name": "Kampagne Nord", "status": "planned", "status_since": "2024-05-01"},
    }
    return {"type": "FeatureCollection", "features": [feature]}


def _headline() -> Unit:
    return Unit("Musterstadt", dt.date(2026, 1, 1), AddressFigure.from_ranks({1: 3, 6: 1}))


def test_a_registry_entry_reaches_every_per_layer_list(campaigns: Layer, tmp_path: Path) -> None:
    assert COLLECTIONS["campaigns"] is campaigns
    assert "campaigns" in importable()
    require_importable("campaigns")
    assert "campaigns" in on_map()
    assert map_titles()["campaigns"] == "Nachfragebündelungen"
    assert "campaigns" in highlightable()
    assert parse_highlight("campaigns/7") == ("campaigns", 7)
    assert "campaigns" in parse_layers("campaigns,areas")
    assert "campaigns" in printable()
    assert {"name", "status", "quota", "status_since"} <= set(property_schemas(campaigns))
    assert operation(campaigns, "items")["parameters"]  # the OpenAPI fragment is built for it
    columns, join = layer_sql(campaigns)
    assert "fs.status AS status" in columns and "f.quota" in columns
    assert "feature_table = 'campaigns'" in join
    with pytest.raises(InvalidDataError) as refused:
        read_package(tmp_path)  # an empty folder: the package needs the new layer too
    assert any(problem.layer == "campaigns" for problem in refused.value.problems)


def test_the_maps_draw_a_new_layer(campaigns: Layer) -> None:
    options = MapOptions(as_of=dt.date(2026, 1, 1))
    page = build_map({"campaigns": _collection(SQUARE)}, _headline(), options)
    assert json.dumps("Nachfragebündelungen") in page  # the layer control names it
    assert "Kampagne Nord" in page
    empty = {"type": "FeatureCollection", "features": []}
    drawn = print_map({"campaigns": _collection(SQUARE_25832)}, _headline(), "Test")
    blank = print_map({"campaigns": empty}, _headline(), "Test")
    assert drawn != blank


def test_without_the_entry_no_list_knows_the_layer() -> None:
    assert "campaigns" not in LAYERS
    assert "campaigns" not in importable() + on_map() + highlightable() + printable()


def test_the_sql_rank_function_follows_the_python_status_order(db: Session, engine: object) -> None:
    ranks = {
        status: db.execute(text("SELECT broadband_status_rank(:s)"), {"s": status}).scalar_one()
        for status in STATUS_ORDER
    }
    assert ranks == RANK
    assert list(STATUS_ORDER[:-1]) == [status.value for status in Status]
