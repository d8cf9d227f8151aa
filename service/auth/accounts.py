"""Users and their sign-ins: the password, lock-out and session rules applied to the stored rows.

Session in, never commits: the route or the command that calls opens the one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from service.auth import passwords, sessions
from service.auth import user_queries as store
from service.auth.sessions import SessionTimes, SignedIn
from service.auth.tokens import NAME_PATTERN
from service.core.errors import ConflictError, InvalidDataError, NotFoundError, Problem
from service.layers import Role


class Refusal(StrEnum):
    """Why a sign-in failed; an unknown name and a wrong password are deliberately the same."""

    WRONG = "wrong"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class Refused:
    """A failed sign-in; `locked_until` is set when the account is (now) locked."""

    reason: Refusal
    locked_until: dt.datetime | None = None


@dataclass(frozen=True)
class Opened:
    """A new session: the secret goes into the cookie once and is never stored."""

    secret: str
    user: SignedIn


def check_name(name: str) -> str:
    """User names appear in the change log like token names: short, no spaces or markup."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidDataError(
            [Problem("user", name, "name", "expected 1–64 letters, digits or . _ @ -")],
            "invalid user name",
        )
    return name


def _existing(session: Session, name: str, *, for_update: bool = False) -> store.UserRow:
    user = store.user_by_name(session, name, for_update=for_update)
    if user is None:
        raise NotFoundError(f"no user named {name!r}")
    return user


def create_user(session: Session, name: str, role: Role, password: str) -> int:
    """Add a user with an Argon2id hash of a password that meets the policy."""
    check_name(name)
    if store.user_by_name(session, name) is not None:
        raise ConflictError(
            [Problem("user", name, "name", "a user has this name already")], "user name taken"
        )
    digest = passwords.hash_password(password, name)
    return store.add_user(session, name=name, role=role, password_hash=digest)


def change_password(session: Session, name: str, password: str, now: dt.datetime) -> None:
    """A new password ends every session of the user and lifts a lock (it is an admin's reset)."""
    user = _existing(session, name, for_update=True)
    digest = passwords.hash_password(password, name)
    store.set_password(session, user_id=user.id, password_hash=digest)
    store.set_failures(session, user_id=user.id, failed_attempts=0, locked_until=None)
    store.revoke_sessions_of(session, user_id=user.id, now=now)


def disable(session: Session, name: str, now: dt.datetime) -> None:
    """The user can no longer sign in, and their open sessions end at once."""
    user = _existing(session, name, for_update=True)
    store.set_disabled(session, user_id=user.id, disabled_at=user.disabled_at or now)
    store.revoke_sessions_of(session, user_id=user.id, now=now)


def enable(session: Session, name: str) -> None:
    """Allow signing in again, also lifting a lock-out and its counter."""
    user = _existing(session, name, for_update=True)
    store.set_disabled(session, user_id=user.id, disabled_at=None)
    store.set_failures(session, user_id=user.id, failed_attempts=0, locked_until=None)


def sign_in(session: Session, name: str, password: str, now: dt.datetime) -> Opened | Refused:
    """Check the password (unless locked) and open a session; failures count towards the lock."""
    user = store.user_by_name(session, name, for_update=True)
    if user is None:
        passwords.verify_nothing(password)
        return Refused(Refusal.WRONG)
    if sessions.is_locked(user.locked_until, now):
        return Refused(Refusal.LOCKED, user.locked_until)
    matches, rehashed = passwords.verify(password, user.password_hash)
    if not matches:
        attempts, locked_until = sessions.after_failure(user.failed_attempts, now)
        store.set_failures(
            session, user_id=user.id, failed_attempts=attempts, locked_until=locked_until
        )
        return Refused(Refusal.LOCKED if locked_until else Refusal.WRONG, locked_until)
    if user.disabled_at is not None:  # said only to someone who knows the password
        return Refused(Refusal.DISABLED)
    if rehashed is not None:
        store.set_password(session, user_id=user.id, password_hash=rehashed)
    store.record_sign_in(session, user_id=user.id, at=now)
    store.forget_sessions(session, before=now)
    secret, csrf_token = sessions.new_secret(), sessions.new_secret()
    sid = sessions.session_id(secret)
    ends = sessions.expires_at(now)
    store.add_session(
        session, session_id=sid, user_id=user.id, csrf_token=csrf_token, now=now, expires_at=ends
    )
    return Opened(secret, SignedIn(user.name, user.role, csrf_token, sid, ends))


def current(session: Session, secret: str, now: dt.datetime) -> SignedIn | None:
    """The user of a live session cookie, recording the activity; None when it has ended."""
    if not sessions.looks_like_secret(secret):
        return None
    row = store.session_by_id(session, sessions.session_id(secret))
    if row is None:
        return None
    times = SessionTimes(row.last_seen_at, row.expires_at, row.revoked_at)
    if not sessions.is_live(times, now):
        return None
    if sessions.needs_touch(times, now):
        store.touch_session(session, session_id=row.id, now=now)
    return SignedIn(row.name, row.role, row.csrf_token, row.id, row.expires_at)


def sign_out(session: Session, secret: str, now: dt.datetime) -> None:
    """End the session server-side: a copied cookie is worthless from now on."""
    if sessions.looks_like_secret(secret):
        store.revoke_session(session, session_id=sessions.session_id(secret), now=now)


def listing(session: Session) -> list[store.UserRow]:
    """Every user, by name, for `broadband user list`."""
    return store.users(session)
