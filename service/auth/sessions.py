"""Sign-in sessions: the cookie, how long a session lives, the lock-out and the CSRF check.

Pure rules: every function takes the time it judges by, so tests need no clock and no sleep.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from service.auth.tokens import Principal
from service.layers import Role

COOKIE = "broadband_session"
"""The session cookie: a random secret; the database knows only its SHA-256."""
FORM_COOKIE = "broadband_signin"
"""The sign-in form's pre-session cookie: its value must come back in the form (double submit)."""
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

IDLE_TIMEOUT = dt.timedelta(hours=2)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
TOUCH_EVERY = dt.timedelta(minutes=1)
"""How stale `last_seen_at` may get before a request writes it again (not every request writes)."""

MAX_FAILURES = 5
LOCK_TIME = dt.timedelta(minutes=15)

LOCAL_TIME = ZoneInfo("Europe/Berlin")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
WORKSPACE = "/redaktion"
_WORKSPACE_PATH = re.compile(r"/redaktion(/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%&=+-]*)?")


@dataclass(frozen=True)
class SessionTimes:
    """What decides whether a stored session still holds."""

    last_seen_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class SignedIn:
    """The user behind a live session cookie, as pages and write routes see them."""

    name: str
    role: Role
    csrf_token: str
    session_id: str
    expires_at: dt.datetime

    @property
    def principal(self) -> Principal:
        """Who writes: the user's name becomes the actor in the change log, as a token's does."""
        return Principal(self.name, self.role)


def new_secret() -> str:
    """256 random bits for a cookie or a CSRF token."""
    return secrets.token_urlsafe(32)


def looks_like_secret(value: str | None) -> bool:
    """Whether a cookie holds something `new_secret` could have made (else it is not looked up)."""
    return value is not None and _TOKEN.fullmatch(value) is not None


def session_id(secret: str) -> str:
    """The stored id: a database dump alone does not let anyone sign in."""
    return hashlib.sha256(secret.encode()).hexdigest()


def expires_at(now: dt.datetime) -> dt.datetime:
    """The absolute end of a session opened now, however active it stays."""
    return now + ABSOLUTE_TIMEOUT


def is_live(times: SessionTimes, now: dt.datetime) -> bool:
    """Not signed out, not past its absolute end, and used within the idle timeout."""
    return (
        times.revoked_at is None
        and now < times.expires_at
        and now < times.last_seen_at + IDLE_TIMEOUT
    )


def needs_touch(times: SessionTimes, now: dt.datetime) -> bool:
    """Whether to record this request as the session's latest activity."""
    return now - times.last_seen_at >= TOUCH_EVERY


def is_locked(locked_until: dt.datetime | None, now: dt.datetime) -> bool:
    """While locked, even the right password is refused."""
    return locked_until is not None and now < locked_until


def after_failure(failed_attempts: int, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """The counter and lock after one more wrong password: the fifth locks for 15 minutes.

    The counter starts again once the lock is set, so after it ends there are five more tries.
    """
    attempts = failed_attempts + 1
    if attempts >= MAX_FAILURES:
        return 0, now + LOCK_TIME
    return attempts, None


def csrf_matches(expected: str | None, sent: str | None) -> bool:
    """Constant-time comparison, so the token cannot be guessed byte by byte from timings."""
    if not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def cookie_secure(environment: str) -> bool:
    """Cookies travel only over HTTPS, except on a developer's plain-HTTP localhost."""
    return environment != "development"


def local_clock(moment: dt.datetime) -> str:
    """HH:MM as people in the town read the clock (German local time)."""
    return moment.astimezone(LOCAL_TIME).strftime("%H:%M")


def wait_in_words(seconds: int) -> str:
    """A wait as a person says it: `in 40 Sekunden`, `in 1 Minute`, `in 15 Minuten` (rounded up)."""
    if seconds < 60:
        return f"in {seconds} Sekunde" + ("" if seconds == 1 else "n")
    minutes = -(-seconds // 60)
    return f"in {minutes} Minute" + ("" if minutes == 1 else "n")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a workspace path, so a link cannot lead off the site."""
    if target and _WORKSPACE_PATH.fullmatch(target) and "//" not in target:
        return target
    return WORKSPACE
