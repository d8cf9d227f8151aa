"""`broadband backup` and `restore`: the Coesfeld database to a file and into another server.

The target databases live on the spare cluster and belong to a role without superuser rights,
as a town's database usually does; PostGIS is created in them by the superuser, as an operator
would. Every table is compared by an md5 of its rows in primary-key order, computed here on
both sides, and the coverage figures by asking the service on both databases.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import secrets
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from service.auth import accounts
from service.cli import app
from service.core.settings import Settings
from service.db import schema
from service.db.engine import transaction
from service.layers import Role
from service.main import create_app
from tests.helpers import TemporaryCluster

runner = CliRunner()
ROLE = "restorer"
PROBE = "backup-probe"
PASSWORD = "correct horse battery staple"
COVERAGE = ("/coverage", "/coverage/districts", "/coverage/hamlets", "/coverage/providers")

TABLES = text(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
    "AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys' ORDER BY 1"
)
PRIMARY_KEY = text(
    "SELECT a.attname FROM pg_index i "
    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
    "WHERE i.indrelid = CAST(:t AS regclass) AND i.indisprimary "
    "ORDER BY array_position(i.indkey::int2[], a.attnum)"
)
SEQUENCES = text(
    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
)


def said(result: Result) -> str:
    """The command's output as one line (the console wraps long messages)."""
    return " ".join(result.output.split())


def run(url: str, *args: str) -> Result:
    """The `broadband` command with DATABASE_URL pointing at url."""
    return runner.invoke(app, list(args), env={"DATABASE_URL": url})


def fingerprint(url: str) -> dict[str, Any]:
    """Rows and an md5 of every table in primary-key order, and every sequence's position."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SET TIME ZONE 'UTC'"))
            tables = {}
            for table in connection.execute(TABLES).scalars():
                keys = connection.execute(PRIMARY_KEY, {"t": f'public."{table}"'}).scalars()
                order = ", ".join(f'r."{key}"' for key in keys) or "r::text"
                tables[table] = tuple(
                    connection.execute(
                        text(
                            f"SELECT count(*), md5(coalesce(string_agg(r::text, E'\\n' "
                            f"ORDER BY {order}), '')) FROM public.\"{table}\" r"
                        )
                    ).one()
                )
            sequences = {str(row[0]): row[1] for row in connection.execute(SEQUENCES)}
    finally:
        engine.dispose()
    return {"tables": tables, "sequences": sequences}


def figures(settings: Settings, url: str) -> dict[str, Any]:
    """The coverage figures as the service answers them on that database."""
    with TestClient(create_app(settings.model_copy(update={"database_url": url}))) as client:
        answers = {path: client.get(path) for path in COVERAGE}
    assert all(answer.status_code == 200 for answer in answers.values()), answers
    return {path: answer.json() for path, answer in answers.items()}


@dataclass(frozen=True)
class Source:
    """The backup of the test database and what that database held when it was taken."""

    url: str
    file: Path
    fingerprint: dict[str, Any]


@pytest.fixture(scope="module")
def people(factory: sessionmaker[Session], coesfeld: object, tokens: object) -> Iterator[None]:
    """A workspace user with an open session, so no table of people is empty in the backup."""
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM users WHERE name = :n"), {"n": PROBE})
        accounts.create_user(session, PROBE, Role.EDITOR, PASSWORD)
        accounts.sign_in(session, PROBE, PASSWORD, dt.datetime.now(dt.UTC))
    yield
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM users WHERE name = :n"), {"n": PROBE})


@pytest.fixture(scope="module")
def source(settings: Settings, people: None, tmp_path_factory: pytest.TempPathFactory) -> Source:
    """`broadband backup` of the seeded Coesfeld test database."""
    assert settings.database_url is not None
    file = tmp_path_factory.mktemp("backup") / "coesfeld.tar"
    result = run(settings.database_url, "backup", str(file))
    assert result.exit_code == 0, result.output
    return Source(settings.database_url, file, fingerprint(settings.database_url))


@pytest.fixture(scope="module")
def template(spare_cluster: TemporaryCluster) -> Iterator[str]:
    """A database with PostGIS created by the superuser, copied for every target."""
    admin = create_engine(spare_cluster.url, isolation_level="AUTOCOMMIT")
    name = f"restore_template_{secrets.token_hex(3)}"
    with admin.connect() as connection:
        if (
            connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": ROLE}
            ).first()
            is None
        ):
            connection.execute(text(f"CREATE ROLE {ROLE} LOGIN"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{spare_cluster.port}/{name}")
    with engine.begin() as connection:
        connection.execute(text("CREATE EXTENSION postgis"))
    engine.dispose()
    yield name
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def empty_database(spare_cluster: TemporaryCluster, template: str) -> Iterator[Callable[..., str]]:
    """Make empty databases owned by the restoring role; with PostGIS unless asked otherwise."""
    admin = create_engine(spare_cluster.url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make(*, postgis: bool = True, owner: str = ROLE) -> str:
        name = f"restore_{len(made)}_{secrets.token_hex(3)}"
        origin = template if postgis else "template0"
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name} OWNER {owner} TEMPLATE {origin}"))
        made.append(name)
        return f"postgresql+psycopg://{owner}@127.0.0.1:{spare_cluster.port}/{name}"

    yield make
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def service_tables(url: str) -> list[str]:
    """The tables the restore would have made (an empty database has none)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(TABLES).scalars())
    finally:
        engine.dispose()


def rewrite(
    original: Path,
    target: Path,
    change: Callable[[dict[str, Any]], None],
    cut_dump_to: int | None = None,
) -> Path:
    """A copy of a backup file with its manifest edited (and its dump cut, checksum to match)."""
    with tarfile.open(original) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        dump = archive.extractfile("database.dump").read()  # type: ignore[union-attr]
    if cut_dump_to is not None:
        dump = dump[:cut_dump_to]
        manifest.update(dump_sha256=hashlib.sha256(dump).hexdigest(), dump_bytes=len(dump))
    change(manifest)
    with tarfile.open(target, "w") as archive:
        for name, data in (
            ("manifest.json", json.dumps(manifest).encode()),
            ("database.dump", dump),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def test_the_file_holds_a_dump_and_a_manifest_of_what_was_backed_up(source: Source) -> None:
    with tarfile.open(source.file) as archive:
        assert archive.getnames() == ["manifest.json", "database.dump"]
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        dump = archive.extractfile("database.dump").read()  # type: ignore[union-attr]
    assert dump.startswith(b"PGDMP")  # pg_dump's custom format
    assert source.file.stat().st_mode & 0o077 == 0  # password hashes inside: owner only
    assert manifest["alembic_revision"] == schema.head_revision()
    assert [m["ags"] for m in manifest["municipalities"]] == ["05558012"]
    expected = {table: rows for table, (rows, _) in source.fingerprint["tables"].items()}
    assert manifest["row_counts"] == expected
    for table in ("changes", "users", "user_sessions", "api_tokens", "addresses"):
        assert expected[table] > 0, table


def test_restore_round_trips_every_table_and_the_coverage_figures(
    source: Source, settings: Settings, empty_database: Callable[..., str]
) -> None:
    target = empty_database()
    result = run(target, "restore", str(source.file))
    assert result.exit_code == 0, result.output
    assert f"database at revision {schema.head_revision()}" in said(result)
    assert fingerprint(target) == source.fingerprint
    assert figures(settings, target) == figures(settings, source.url)


def test_a_database_in_use_is_refused_unless_replace_is_asked_for(
    source: Source, empty_database: Callable[..., str]
) -> None:
    target = empty_database()
    assert run(target, "restore", str(source.file)).exit_code == 0
    engine = create_engine(target)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM schools WHERE name = 'Laurentiusschule'"))
        connection.execute(text("CREATE TABLE notes (id int PRIMARY KEY, body text)"))
        connection.execute(text("INSERT INTO notes VALUES (1, 'kept until replaced')"))
    engine.dispose()
    changed = fingerprint(target)
    assert changed != source.fingerprint

    refused = run(target, "restore", str(source.file))
    assert refused.exit_code == 1
    assert "is not empty" in said(refused) and "--replace" in said(refused)
    assert fingerprint(target) == changed

    replaced = run(target, "restore", str(source.file), "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert fingerprint(target) == source.fingerprint  # the extra table is gone too


def test_a_count_that_differs_from_the_manifest_undoes_the_restore(
    source: Source, empty_database: Callable[..., str], tmp_path: Path
) -> None:
    def one_more_address(manifest: dict[str, Any]) -> None:
        manifest["row_counts"]["addresses"] += 1

    tampered = rewrite(source.file, tmp_path / "tampered.tar", one_more_address)
    rows = source.fingerprint["tables"]["addresses"][0]
    target = empty_database()
    result = run(target, "restore", str(tampered))
    assert result.exit_code == 1
    assert f"addresses: {rows} rows restored, the manifest lists {rows + 1}" in said(result), (
        result.output
    )
    assert service_tables(target) == []

    in_use = empty_database()
    assert run(in_use, "restore", str(source.file)).exit_code == 0
    assert run(in_use, "restore", str(tampered), "--replace").exit_code == 1
    assert fingerprint(in_use) == source.fingerprint


def test_what_is_not_a_whole_backup_is_refused_before_anything_is_written(
    source: Source, empty_database: Callable[..., str], tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"PK\x03\x04 certainly not a backup " * 100)
    no_manifest = tmp_path / "no-manifest.tar"
    with tarfile.open(no_manifest, "w") as archive:
        archive.add(garbage, arcname="database.dump")
    damaged = tmp_path / "damaged.tar"
    data = bytearray(source.file.read_bytes())
    data[-20_000] ^= 0xFF  # a byte inside the dump
    damaged.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(source.file.read_bytes()[:50_000])
    cases = {
        garbage: "is not a backup written by `broadband backup`",
        no_manifest: "holds no manifest.json",
        damaged: "database.dump in",
        truncated: "is not a backup written by `broadband backup` (or it is damaged)",
        tmp_path / "missing.tar": "does not exist",
    }
    target = empty_database()
    for file, message in cases.items():
        result = run(target, "restore", str(file))
        assert result.exit_code == 1, (file, result.output)
        assert message in said(result), (file, result.output)
    assert "is damaged: its size or SHA-256 differs" in said(run(target, "restore", str(damaged)))
    assert service_tables(target) == []


def test_a_dump_that_breaks_off_midway_restores_nothing(
    source: Source, empty_database: Callable[..., str], tmp_path: Path
) -> None:
    cut = rewrite(source.file, tmp_path / "cut.tar", lambda manifest: None, cut_dump_to=400_000)
    target = empty_database()
    result = run(target, "restore", str(cut))
    assert result.exit_code == 1
    assert "failed, nothing was changed" in said(result), result.output
    assert service_tables(target) == []


def test_a_backup_of_a_newer_schema_is_refused(
    source: Source, empty_database: Callable[..., str], tmp_path: Path
) -> None:
    def from_the_future(manifest: dict[str, Any]) -> None:
        manifest["alembic_revision"] = "0099_future"

    newer = rewrite(source.file, tmp_path / "newer.tar", from_the_future)
    target = empty_database()
    result = run(target, "restore", str(newer))
    assert result.exit_code == 1
    assert "schema revision '0099_future', which this release does not know" in said(result)
    assert service_tables(target) == []


def test_without_postgis_a_role_that_may_not_create_it_is_told_what_to_do(
    source: Source, empty_database: Callable[..., str]
) -> None:
    target = empty_database(postgis=False)
    result = run(target, "restore", str(source.file))
    assert result.exit_code == 1
    assert "nothing was changed" in said(result)
    assert "run `CREATE EXTENSION postgis;` in that database" in said(result)
    assert service_tables(target) == []


def test_a_backup_of_an_older_schema_is_migrated_to_the_newest_after_the_restore(
    empty_database: Callable[..., str], tmp_path: Path
) -> None:
    older = empty_database(owner="postgres")
    engine = create_engine(older)
    schema.upgrade(engine, "0006")
    engine.dispose()
    file = tmp_path / "older.tar"
    assert run(older, "backup", str(file)).exit_code == 0
    with tarfile.open(file) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["alembic_revision"] == "0006"

    target = empty_database()
    result = run(target, "restore", str(file))
    assert result.exit_code == 0, result.output
    engine = create_engine(target)
    with engine.connect() as connection:
        assert schema.current_revision(connection) == schema.head_revision() != "0006"
    engine.dispose()


def test_backup_names_a_folder_that_does_not_exist(source: Source, tmp_path: Path) -> None:
    result = run(source.url, "backup", str(tmp_path / "nowhere" / "x.tar"))
    assert result.exit_code == 1
    assert "does not exist" in said(result)
    assert not (tmp_path / "nowhere").exists()
