"""Exports `as_of` a date: every layer of Zeitdorf as it stood that day, read back by pyogrio."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.cli import app
from service.core.settings import Settings
from tests import timemachine
from tests.timemachine import ADDRESSES, AREAS_BEFORE, AREAS_TODAY, AREAS_YESTERDAY, HAMLET

AGS = {"ags": timemachine.AGS}


def _statuses(path: Path) -> dict[str, str]:
    frame = pyogrio.read_dataframe(path, layer="areas")
    return dict(zip(frame["name"], frame["status"], strict=True))


def _download(client: TestClient, tmp_path: Path, day: dt.date | str) -> Path:
    response = client.get("/export.gpkg", params={**AGS, "as_of": str(day)})
    assert response.status_code == 200, response.text
    path = tmp_path / f"{day}.gpkg"
    path.write_bytes(response.content)
    return path


def test_the_geopackage_holds_each_date_s_areas_and_statuses(
    client: TestClient, zeitdorf: int, today: dt.date, tmp_path: Path
) -> None:
    yesterday = today - dt.timedelta(days=1)
    before = _statuses(_download(client, tmp_path, yesterday))
    after = _statuses(_download(client, tmp_path, today))
    assert set(before) == AREAS_YESTERDAY
    assert set(after) == AREAS_TODAY
    assert before["Entfernt"] == "under_construction"
    assert before["Nachgetragen"] == after["Nachgetragen"] == "connected"  # back-dated to 2022
    assert after["Neu"] == after["Geteilt (Teil 2)"] == "connected"
    mid_2021 = _statuses(_download(client, tmp_path, "2021-06-01"))
    assert mid_2021 == {name: status for name, (status, _, _) in AREAS_BEFORE.items()} | {
        "Nachgetragen": "planned"
    }


def test_every_layer_of_the_date_is_exported(
    client: TestClient, zeitdorf: int, today: dt.date, tmp_path: Path
) -> None:
    path = _download(client, tmp_path, today - dt.timedelta(days=1))
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"municipality", "districts", "areas", "hamlets", "addresses"} <= layers
    assert len(pyogrio.read_dataframe(path, layer="addresses")) == len(ADDRESSES)
    hamlets = pyogrio.read_dataframe(path, layer="hamlets")
    assert list(hamlets["name"]) == [HAMLET[0]]
    assert list(pyogrio.read_dataframe(path, layer="municipality")["ags"]) == [timemachine.AGS]


def test_the_zipped_formats_take_the_date_too(
    client: TestClient, zeitdorf: int, today: dt.date, tmp_path: Path
) -> None:
    yesterday = today - dt.timedelta(days=1)
    response = client.get("/export.geojson.zip", params={**AGS, "as_of": str(yesterday)})
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path)
    frame = pyogrio.read_dataframe(tmp_path / "areas.geojson")
    assert set(frame["name"]) == AREAS_YESTERDAY


@pytest.mark.parametrize("value", ["tomorrow", "notadate"])
def test_a_bad_or_future_date_is_refused_naming_as_of(
    client: TestClient, zeitdorf: int, today: dt.date, value: str
) -> None:
    day = str(today + dt.timedelta(days=1)) if value == "tomorrow" else value
    response = client.get("/export.gpkg", params={**AGS, "as_of": day})
    assert response.status_code == 400, response.text
    assert "as_of" in response.text


def test_the_command_exports_the_date(
    settings: Settings, zeitdorf: int, today: dt.date, tmp_path: Path
) -> None:
    assert settings.database_url is not None
    env = {"DATABASE_URL": settings.database_url}
    yesterday = today - dt.timedelta(days=1)
    out = tmp_path / "zeitdorf.gpkg"
    args = ["export", str(out), "--ags", timemachine.AGS, "--as-of", str(yesterday)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert set(_statuses(out)) == AREAS_YESTERDAY
    future = ["export", str(out), "--ags", timemachine.AGS, "--as-of", str(today + dt.timedelta(1))]
    refused = CliRunner().invoke(app, future, env=env)
    assert refused.exit_code != 0
    assert "as_of" in refused.output
