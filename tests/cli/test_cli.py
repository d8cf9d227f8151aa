"""The `broadband` command as a coordinator uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from service.cli import app
from service.core.settings import DEFAULT_PACKAGE, Settings
from service.db import schema
from tests.helpers import snapshot

runner = CliRunner()


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """Point the command at the test database."""
    assert settings.database_url is not None
    return {"DATABASE_URL": settings.database_url}


def test_migrate_reports_the_revision(env: dict[str, str], engine: object) -> None:
    result = runner.invoke(app, ["migrate"], env=env)
    assert result.exit_code == 0, result.output
    assert f"database at revision {schema.head_revision()}" in result.output


def test_seed_prints_what_changed(coesfeld: object, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["seed", str(DEFAULT_PACKAGE)], env=env)
    assert result.exit_code == 0, result.output
    assert "addresses" in result.output
    assert "12,000" in result.output


def test_seed_of_a_broken_package_fails_with_the_feature_named(
    coesfeld: object,
    env: dict[str, str],
    package_copy: Path,
    factory: sessionmaker[Session],
) -> None:
    areas = package_copy / "areas.geojson"
    data = json.loads(areas.read_text())
    data["features"][3]["properties"]["kind"] = "industrial"
    name = data["features"][3]["properties"]["name"]
    areas.write_text(json.dumps(data))
    with factory() as session:
        before = snapshot(session)
    result = runner.invoke(app, ["seed", str(package_copy)], env=env)
    assert result.exit_code == 1
    assert f"areas, feature #4 '{name}', field 'kind': unknown value 'industrial'" in " ".join(
        result.output.split()
    )
    with factory() as session:
        assert snapshot(session) == before


def test_status_change_in_a_package_updates_one_feature_in_place(
    coesfeld: object, package_copy: Path, factory: sessionmaker[Session], env: dict[str, str]
) -> None:
    hamlets = package_copy / "hamlets.geojson"
    data = json.loads(hamlets.read_text())
    feature = next(f for f in data["features"] if f["properties"]["name"] == "Wulferhook")
    feature["properties"].update(status="under_construction", status_since="2022-03-01")
    hamlets.write_text(json.dumps(data))
    query = text("SELECT id, status FROM hamlets WHERE name = 'Wulferhook'")
    with factory() as session:
        old_id, _ = session.execute(query).one()
        last_change = session.execute(text("SELECT max(id) FROM changes")).scalar_one()
    try:
        result = runner.invoke(app, ["seed", str(package_copy), "--actor", "koordination"], env=env)
        assert result.exit_code == 0, result.output
        with factory() as session:
            assert session.execute(query).one() == (old_id, "under_construction")
            log = session.execute(
                text("SELECT table_name, operation, actor FROM changes WHERE id > :last"),
                {"last": last_change},
            ).all()
        assert [tuple(row) for row in log] == [("hamlets", "update", "koordination")]
    finally:
        runner.invoke(app, ["seed", str(DEFAULT_PACKAGE)], env=env)


def test_db_wait_fails_clearly_when_nothing_answers() -> None:
    env = {"DATABASE_URL": "postgresql://nobody:x@127.0.0.1:1/none"}
    result = runner.invoke(app, ["db", "wait", "--timeout", "0"], env=env)
    assert result.exit_code == 1
    assert "database did not answer within 0 s" in result.output


def test_coverage_prints_the_same_figures_as_the_api(
    coesfeld: object, env: dict[str, str], client: TestClient
) -> None:
    result = runner.invoke(app, ["coverage", "--by", "district", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == client.get("/coverage/districts").json()
    table = runner.invoke(app, ["coverage", "--as-of", "2021-01-01"], env=env)
    assert table.exit_code == 0, table.output
    whole = client.get("/coverage", params={"as_of": "2021-01-01"}).json()["addresses"]
    assert f"{whole['numerator']:,}" in table.output
    assert "Address coverage on 2021-01-01" in table.output


def test_coverage_csv_and_errors(coesfeld: object, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["coverage", "--by", "kind", "--format", "csv"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("\ufeffEinheit;Stand;Adressen")
    future = runner.invoke(app, ["coverage", "--as-of", "2999-01-01"], env=env)
    assert future.exit_code == 1
    assert "lies in the future" in future.output


def test_map_command_writes_a_print_png_and_a_standalone_page(
    coesfeld: object, env: dict[str, str], tmp_path: Path
) -> None:
    offline = {**env, "BROADBAND_BASEMAP_URL": "none"}
    png = tmp_path / "karte.png"
    result = runner.invoke(app, ["map", "--out", str(png), "--as-of", "2021-07-01"], env=offline)
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = tmp_path / "karte.html"
    result = runner.invoke(app, ["map", "--out", str(page)], env=offline)
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert 'src="/static' not in html  # Leaflet and the page's own assets are inlined
    assert "L.map(" in html
    assert "Legende" in html
    wrong = runner.invoke(app, ["map", "--out", str(tmp_path / "karte.pdf")], env=offline)
    assert wrong.exit_code == 2
    assert "must end in .png or .html" in wrong.output


def test_token_lifecycle_on_the_command_line(
    coesfeld: object, env: dict[str, str], client: TestClient, factory: sessionmaker[Session]
) -> None:
    created = runner.invoke(app, ["token", "create", "--name", "test-cli-editor"], env=env)
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("bbt_") and len(secret) > 40
    with factory() as session:
        stored = session.execute(
            text("SELECT role, secret_hash FROM api_tokens WHERE name = 'test-cli-editor'")
        ).one()
    assert stored.role == "editor" and secret not in stored.secret_hash
    again = runner.invoke(app, ["token", "create", "--name", "test-cli-editor"], env=env)
    assert again.exit_code == 1 and "revoke it first" in again.output
    bad = runner.invoke(app, ["token", "create", "--name", "no spaces", "--role", "admin"], env=env)
    assert bad.exit_code == 1 and "letters, digits" in bad.output
    wrong_role = runner.invoke(app, ["token", "create", "--name", "x", "--role", "owner"], env=env)
    assert wrong_role.exit_code == 2
    headers = {"Authorization": f"Bearer {secret}"}
    first = client.get("/collections/areas/items", params={"limit": 1}).json()["features"][0]
    feature = f"/collections/areas/items/{first['id']}"
    assert client.delete(feature, headers=headers).status_code == 428
    listed = runner.invoke(app, ["token", "list"], env=env)
    assert "test-cli-editor" in listed.output and secret not in listed.output
    revoked = runner.invoke(app, ["token", "revoke", "test-cli-editor"], env=env)
    assert revoked.exit_code == 0, revoked.output
    assert client.delete(feature, headers=headers).status_code == 401
    unknown = runner.invoke(app, ["token", "revoke", "test-cli-editor"], env=env)
    assert unknown.exit_code == 1 and "no live token" in unknown.output
    with factory() as session:
        session.execute(text("DELETE FROM api_tokens WHERE name = 'test-cli-editor'"))
        session.commit()
