"""`broadband user …` as an administrator uses it on the server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from service.auth import accounts, passwords
from service.cli import app
from service.core.settings import Settings
from service.db.engine import transaction

runner = CliRunner()
CLI_USERS = ["test-clara", "test-dora", "test-emil", "test-frieda", "test-niemand"]


@pytest.fixture
def env(settings: Settings, factory: sessionmaker[Session]) -> Iterator[dict[str, str]]:
    """Point the command at the test database; users named test-* are removed afterwards."""
    assert settings.database_url is not None
    yield {"DATABASE_URL": settings.database_url}
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM users WHERE name = ANY(:n)"), {"n": CLI_USERS})


def _hash(factory: sessionmaker[Session], name: str) -> str:
    with factory() as session:
        return str(
            session.execute(
                text("SELECT password_hash FROM users WHERE name = :n"), {"n": name}
            ).scalar_one()
        )


def _output(result: object) -> str:
    return " ".join(str(getattr(result, "output", "")).split())


def test_create_asks_for_the_password_twice_and_stores_only_its_hash(
    env: dict[str, str], factory: sessionmaker[Session]
) -> None:
    typed = "Breitband-2026\nBreitband-2026\n"
    result = runner.invoke(
        app, ["user", "create", "test-clara", "--role", "admin"], input=typed, env=env
    )
    assert result.exit_code == 0, result.output
    assert "Breitband-2026" not in result.output  # hidden while typed
    stored = _hash(factory, "test-clara")
    assert stored.startswith("$argon2id$")
    assert passwords.verify("Breitband-2026", stored)[0]
    listed = runner.invoke(app, ["user", "list"], env=env)
    assert listed.exit_code == 0
    row = next(line for line in listed.output.splitlines() if "test-clara" in line)
    assert "admin" in row


def test_create_refuses_mismatched_short_or_taken_passwords_and_names(
    env: dict[str, str], factory: sessionmaker[Session]
) -> None:
    short = runner.invoke(
        app, ["user", "create", "test-dora", "--password-stdin"], input="kurz\n", env=env
    )
    assert short.exit_code == 1
    assert "at least 10 characters, got 4" in _output(short)
    made = runner.invoke(
        app, ["user", "create", "test-dora", "--password-stdin"], input="lang genug 1\n", env=env
    )
    assert made.exit_code == 0, made.output
    taken = runner.invoke(
        app, ["user", "create", "test-dora", "--password-stdin"], input="lang genug 2\n", env=env
    )
    assert taken.exit_code == 1 and "already" in _output(taken)
    spaced = runner.invoke(
        app, ["user", "create", "test dora", "--password-stdin"], input="lang genug 3\n", env=env
    )
    assert spaced.exit_code == 1 and "letters, digits" in _output(spaced)
    assert passwords.verify("lang genug 1", _hash(factory, "test-dora"))[0]


def test_passwd_replaces_the_password_and_ends_sessions(
    env: dict[str, str], factory: sessionmaker[Session]
) -> None:
    runner.invoke(
        app, ["user", "create", "test-emil", "--password-stdin"], input="altes Passwort\n", env=env
    )
    with transaction(factory, "test") as session:
        opened = accounts.sign_in(session, "test-emil", "altes Passwort", _now(session))
    assert isinstance(opened, accounts.Opened)
    typed = "neues Passwort!\nneues Passwort!\n"
    result = runner.invoke(app, ["user", "passwd", "test-emil"], input=typed, env=env)
    assert result.exit_code == 0, result.output
    stored = _hash(factory, "test-emil")
    assert passwords.verify("neues Passwort!", stored)[0]
    assert not passwords.verify("altes Passwort", stored)[0]
    with factory() as session:
        assert accounts.current(session, opened.secret, _now(session)) is None
    unknown = runner.invoke(
        app, ["user", "passwd", "test-niemand", "--password-stdin"], input="x" * 12, env=env
    )
    assert unknown.exit_code == 1 and "no user named 'test-niemand'" in _output(unknown)


def test_disable_and_enable_show_in_the_list(
    env: dict[str, str], factory: sessionmaker[Session]
) -> None:
    runner.invoke(
        app,
        ["user", "create", "test-frieda", "--password-stdin"],
        input="Passwort 12345\n",
        env=env,
    )
    assert runner.invoke(app, ["user", "disable", "test-frieda"], env=env).exit_code == 0
    with transaction(factory, "test") as session:
        refused = accounts.sign_in(session, "test-frieda", "Passwort 12345", _now(session))
        session.execute(
            text(
                "UPDATE users SET locked_until = now() + interval '10 minutes' "
                "WHERE name = 'test-frieda'"
            )
        )
    assert refused == accounts.Refused(accounts.Refusal.DISABLED)
    listed = runner.invoke(app, ["user", "list"], env=env)
    row = next(line for line in listed.output.splitlines() if "test-frieda" in line)
    assert row.count(":") == 2  # disabled at …, locked until … (HH:MM each)
    assert runner.invoke(app, ["user", "enable", "test-frieda"], env=env).exit_code == 0
    listed = runner.invoke(app, ["user", "list"], env=env)
    row = next(line for line in listed.output.splitlines() if "test-frieda" in line)
    assert ":" not in row  # neither disabled nor locked, never signed in
    with transaction(factory, "test") as session:
        opened = accounts.sign_in(session, "test-frieda", "Passwort 12345", _now(session))
    assert isinstance(opened, accounts.Opened)
    listed = runner.invoke(app, ["user", "list"], env=env)
    row = next(line for line in listed.output.splitlines() if "test-frieda" in line)
    assert row.count(":") == 1  # the last sign-in


def _now(session: Session) -> dt.datetime:
    now: dt.datetime = session.execute(text("SELECT now()")).scalar_one()
    return now
