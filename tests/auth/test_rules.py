"""The pure rules of sign-in: password policy, session lifetime, lock-out, CSRF, redirects."""

from __future__ import annotations

import datetime as dt

import pytest

from service.auth import passwords, sessions
from service.auth.sessions import SessionTimes
from service.core.errors import InvalidDataError

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_a_password_needs_ten_characters_and_is_stored_as_argon2id() -> None:
    with pytest.raises(InvalidDataError, match="at least 10 characters, got 9"):
        passwords.hash_password("123456789")
    with pytest.raises(InvalidDataError, match="must not be the user name"):
        passwords.hash_password("test-koordination", "test-koordination")
    stored = passwords.hash_password("lange genug 123")
    assert stored.startswith("$argon2id$") and "lange genug" not in stored
    assert passwords.verify("lange genug 123", stored) == (True, None)
    assert passwords.verify("lange genug 124", stored)[0] is False


def test_a_session_ends_after_two_idle_hours_or_twelve_in_all() -> None:
    fresh = SessionTimes(last_seen_at=NOW, expires_at=sessions.expires_at(NOW), revoked_at=None)
    assert sessions.is_live(fresh, NOW + dt.timedelta(hours=1, minutes=59))
    assert not sessions.is_live(fresh, NOW + dt.timedelta(hours=2))
    busy = SessionTimes(NOW + dt.timedelta(hours=11), fresh.expires_at, None)
    assert sessions.is_live(busy, NOW + dt.timedelta(hours=11, minutes=59))
    assert not sessions.is_live(busy, NOW + dt.timedelta(hours=12))
    assert not sessions.is_live(SessionTimes(NOW, fresh.expires_at, NOW), NOW)


def test_the_fifth_failure_locks_for_fifteen_minutes() -> None:
    attempts, locked_until = 0, None
    for _ in range(4):
        attempts, locked_until = sessions.after_failure(attempts, NOW)
        assert locked_until is None
    attempts, locked_until = sessions.after_failure(attempts, NOW)
    assert (attempts, locked_until) == (0, NOW + dt.timedelta(minutes=15))
    assert sessions.is_locked(locked_until, NOW + dt.timedelta(minutes=14, seconds=59))
    assert not sessions.is_locked(locked_until, NOW + dt.timedelta(minutes=15))
    assert sessions.local_clock(NOW) == "10:00"  # Europe/Berlin in winter: UTC+1


def test_csrf_tokens_must_match_and_never_be_empty() -> None:
    token = sessions.new_secret()
    assert sessions.csrf_matches(token, token)
    assert not sessions.csrf_matches(token, token[:-1] + "x")
    assert not sessions.csrf_matches(token, None)
    assert not sessions.csrf_matches("", "")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/redaktion/gebiete?sort=name", "/redaktion/gebiete?sort=name"),
        ("/redaktion", "/redaktion"),
        ("https://example.org/redaktion", "/redaktion"),
        ("//example.org/redaktion", "/redaktion"),
        ("/redaktion//example.org", "/redaktion"),
        ("/map", "/redaktion"),
        (None, "/redaktion"),
    ],
)
def test_after_signing_in_only_workspace_paths_are_followed(
    target: str | None, expected: str
) -> None:
    assert sessions.safe_next(target) == expected


def test_cookies_are_secure_outside_development() -> None:
    assert not sessions.cookie_secure("development")
    assert sessions.cookie_secure("production")
