"""What changed between two dates in Zeitdorf, counted by hand from its making."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.cli import app
from service.core.settings import Settings
from tests import timemachine
from tests.timemachine import AGS, DISTRICT_OF, HAMLET, MID_2021, TODAY, YESTERDAY

EMPTY: dict[str, list[Any]] = {"added": [], "removed": [], "redrawn": []}
COLLECTIONS = ("areas", "hamlets", "schools", "districts", "addresses")


def _connected(statuses: dict[str, str], district: str | None = None) -> dict[str, int]:
    """Connected and all addresses of the fixture's table for a date (of one district)."""
    chosen = [a for a in statuses if district is None or DISTRICT_OF[a] == district]
    return {
        "connected": sum(statuses[a] == "connected" for a in chosen),
        "total": len(chosen),
    }


def _unit(name: str, before: dict[str, str], after: dict[str, str]) -> dict[str, Any]:
    district = None if name == timemachine.NAME else name
    then, now = _connected(before, district), _connected(after, district)
    return {
        "name": name,
        "from": then,
        "to": now,
        "difference": now["connected"] - then["connected"],
    }


def _summary(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get("/changes/summary", params={"ags": AGS, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _names(listed: list[dict[str, Any]]) -> set[str]:
    return {f["name"] for f in listed}


def test_yesterday_to_today(zeitdorf: int, today: dt.date, client: TestClient) -> None:
    yesterday = today - dt.timedelta(days=1)
    body = _summary(client, **{"from": yesterday.isoformat(), "to": today.isoformat()})
    assert (body["from"], body["to"]) == (yesterday.isoformat(), today.isoformat())
    areas = body["features"]["areas"]
    assert _names(areas["added"]) == {"Geteilt (Teil 2)", "Neu"}
    assert _names(areas["removed"]) == {"Entfernt"}
    # Umgebaut: 200 x 100 m before, two 100 x 100 m squares after; Geteilt: 200 x 100 -> 100 x 100
    assert {f["name"]: f["area_change_m2"] for f in areas["redrawn"]} == {
        "Umgebaut": 0,
        "Geteilt": -10_000,
    }
    for collection in COLLECTIONS[1:]:
        assert body["features"][collection] == EMPTY, collection
    # Nachgetragen's back-dated connection already held yesterday; Neu is new, not changed
    assert body["statuses"]["changed"] == []
    assert [(v["name"], v["status"], v["since"]) for v in body["statuses"]["versions"]] == [
        ("Neu", "connected", today.isoformat())
    ]
    coverage = body["coverage"]
    assert coverage["municipality"] == _unit(timemachine.NAME, YESTERDAY, TODAY)
    assert coverage["districts"] == [
        _unit("Ost", YESTERDAY, TODAY),
        _unit("West", YESTERDAY, TODAY),
    ]
    hof = {"connected": 0, "total": 1}  # A10, planned at both dates
    assert coverage["hamlets"] == [{"name": HAMLET[0], "from": hof, "to": hof, "difference": 0}]


def test_mid_2021_to_yesterday_shows_the_back_dated_connection(
    zeitdorf: int, today: dt.date, client: TestClient
) -> None:
    yesterday = today - dt.timedelta(days=1)
    body = _summary(client, **{"from": "2021-06-01", "to": yesterday.isoformat()})
    assert body["features"] == dict.fromkeys(COLLECTIONS, EMPTY)
    [changed] = body["statuses"]["changed"]
    assert (changed["collection"], changed["name"], changed["old"], changed["new"]) == (
        "areas",
        "Nachgetragen",
        "planned",
        "connected",
    )
    assert changed["since"] == "2022-01-01"
    assert [(v["name"], v["status"], v["since"]) for v in body["statuses"]["versions"]] == [
        ("Nachgetragen", "connected", "2022-01-01")
    ]
    coverage = body["coverage"]
    assert coverage["municipality"] == _unit(timemachine.NAME, MID_2021, YESTERDAY)
    assert coverage["districts"] == [
        _unit("Ost", MID_2021, YESTERDAY),
        _unit("West", MID_2021, YESTERDAY),
    ]


def test_to_defaults_to_today(zeitdorf: int, today: dt.date, client: TestClient) -> None:
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    body = _summary(client, **{"from": yesterday})
    assert body["to"] == today.isoformat()
    assert _names(body["features"]["areas"]["removed"]) == {"Entfernt"}


@pytest.mark.parametrize(
    ("params", "field", "needle"),
    [
        ({}, "from", "required"),
        ({"from": "2021-6-1"}, "from", "YYYY-MM-DD"),
        ({"from": "2999-01-01"}, "from", "lies in the future"),
        ({"from": "2021-06-01", "to": "2999-01-01"}, "to", "lies in the future"),
        ({"from": "2022-01-02", "to": "2022-01-01"}, "from", "lies after to"),
        ({"from": "2021-06-01", "to": "0"}, "to", "YYYY-MM-DD"),
    ],
)
def test_bad_dates_get_a_400_naming_the_parameter(
    zeitdorf: int, client: TestClient, params: dict[str, str], field: str, needle: str
) -> None:
    response = client.get("/changes/summary", params={"ags": AGS, **params})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert needle in response.text
    assert field in {p["field"] for p in response.json()["problems"]}


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    assert settings.database_url is not None
    return {"DATABASE_URL": settings.database_url}


def test_cli_prints_the_same_changes(zeitdorf: int, today: dt.date, env: dict[str, str]) -> None:
    runner = CliRunner()
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    args = ["changes", "--from", yesterday, "--to", today.isoformat(), "--ags", AGS]
    result = runner.invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert _names(body["features"]["areas"]["added"]) == {"Geteilt (Teil 2)", "Neu"}
    assert body["coverage"]["municipality"] == _unit(timemachine.NAME, YESTERDAY, TODAY)
    table = runner.invoke(app, args, env={**env, "COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert "Entfernt" in table.output
    assert "-10,000" in table.output  # Geteilt, halved
    assert "5/10" in table.output and "6/10" in table.output  # connected of all, before and after
    refused = runner.invoke(
        app, ["changes", "--from", today.isoformat(), "--to", yesterday, "--ags", AGS], env=env
    )
    assert refused.exit_code == 1
    assert "lies after to" in refused.output
