"""`broadband db up`: idempotent, keeps its secret in .env, never touches what it did not create."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.core.errors import ProvisioningError
from service.core.settings import PROJECT_ROOT, Settings
from service.ops.provisioning import (
    Cluster,
    check_external,
    db_up,
    ensure_cluster,
    ensure_database,
    ensure_packages,
    read_env_file,
    run_sql,
    write_env_file,
)

ENV_FILE = PROJECT_ROOT / ".env"
local_only = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")) or not ENV_FILE.is_file() or not shutil.which("runuser"),
    reason="needs the local PostGIS that `broadband db up` provisions (no DATABASE_URL)",
)


def test_env_file_updates_keep_other_lines(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# mine\nBROADBAND_ENVIRONMENT=development\nDATABASE_URL=old\n")
    assert write_env_file(env, {"DATABASE_URL": "new"})
    assert not write_env_file(env, {"DATABASE_URL": "new"})
    assert read_env_file(env) == {"BROADBAND_ENVIRONMENT": "development", "DATABASE_URL": "new"}
    assert env.read_text().startswith("# mine\n")
    assert oct(env.stat().st_mode & 0o777) == "0o600"


def test_external_database_url_is_only_checked(settings: Settings) -> None:
    assert settings.database_url is not None
    report = check_external(settings.database_url)
    assert report.actions == []


def test_unreachable_external_database_is_a_clear_error() -> None:
    with pytest.raises(ProvisioningError, match="DATABASE_URL is not usable"):
        check_external("postgresql+psycopg://nobody:x@127.0.0.1:1/none")


@local_only
def test_second_run_changes_nothing_and_is_quick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    env = tmp_path / ".env"
    env.write_bytes(ENV_FILE.read_bytes())
    started = time.monotonic()
    report = db_up(env, lambda _: None)
    elapsed = time.monotonic() - started
    assert report.actions == []
    assert env.read_bytes() == ENV_FILE.read_bytes()
    assert elapsed < 10


@pytest.fixture
def foreign_database() -> Iterator[Cluster]:
    """A database made by someone else (no marker comment), dropped afterwards."""
    cluster = ensure_cluster(ensure_packages(lambda _: None), lambda _: None)
    run_sql(cluster, "postgres", "DROP DATABASE IF EXISTS someone_elses")
    run_sql(cluster, "postgres", "CREATE DATABASE someone_elses")
    yield cluster
    run_sql(cluster, "postgres", "DROP DATABASE someone_elses")


@local_only
def test_refuses_to_alter_a_database_it_did_not_create(foreign_database: Cluster) -> None:
    with pytest.raises(ProvisioningError, match="was not created by `broadband db up`"):
        ensure_database(foreign_database, "someone_elses", lambda _: None)
    query = "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'"
    extensions = run_sql(foreign_database, "someone_elses", query)
    assert extensions == ["0"]
    comment = run_sql(
        foreign_database,
        "postgres",
        "SELECT 'comment:' || coalesce(shobj_description(oid, 'pg_database'), '') "
        "FROM pg_database "
        "WHERE datname = 'someone_elses'",
    )
    assert comment == ["comment:"]
