"""Configuration comes from BROADBAND_* variables, plain DATABASE_URL, or a .env file."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.core.errors import ConfigurationError
from service.core.settings import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "BROADBAND_DATABASE_URL", "BROADBAND_DB_POOL_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_plain_database_url_is_read_and_given_the_psycopg_driver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db:5432/x")
    assert Settings().database_url == "postgresql+psycopg://u:p@db:5432/x"


def test_prefixed_variables_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://from-dotenv/x\n")
    monkeypatch.setenv("BROADBAND_DB_POOL_SIZE", "7")
    settings = Settings()
    assert settings.db_pool_size == 7
    assert settings.database_url == "postgresql+psycopg://from-dotenv/x"


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://from-dotenv/x\n")
    monkeypatch.setenv("DATABASE_URL", "postgresql://from-env/y")
    assert Settings().database_url == "postgresql+psycopg://from-env/y"


def test_missing_database_url_says_how_to_get_one() -> None:
    with pytest.raises(ConfigurationError, match="run `broadband db up`"):
        Settings().require_database_url()


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROADBAND_DB_POOL_SIZE", "0")
    with pytest.raises(ValueError, match="db_pool_size"):
        Settings()
