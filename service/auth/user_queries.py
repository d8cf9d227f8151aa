"""Users and sign-in sessions in the database: session in, rows out; never commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.db.models import User, UserSession
from service.layers import Role


@dataclass(frozen=True)
class UserRow:
    """A stored user, with what sign-in and `broadband user list` need."""

    id: int
    name: str
    role: Role
    password_hash: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    failed_attempts: int
    locked_until: dt.datetime | None
    last_sign_in_at: dt.datetime | None


@dataclass(frozen=True)
class SessionRow:
    """A stored session with its user's name and current role (a role change applies at once)."""

    id: str
    user_id: int
    name: str
    role: Role
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


def _user(user: User) -> UserRow:
    return UserRow(
        id=user.id,
        name=user.name,
        role=Role(user.role),
        password_hash=user.password_hash,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
        failed_attempts=user.failed_attempts,
        locked_until=user.locked_until,
        last_sign_in_at=user.last_sign_in_at,
    )


def user_by_name(session: Session, name: str, *, for_update: bool = False) -> UserRow | None:
    """The user of that name; `for_update` holds the row so parallel sign-ins count one by one."""
    query = select(User).where(User.name == name)
    if for_update:
        query = query.with_for_update()
    user = session.scalars(query).one_or_none()
    return None if user is None else _user(user)


def users(session: Session) -> list[UserRow]:
    """Every user, by name."""
    return [_user(user) for user in session.scalars(select(User).order_by(User.name))]


def add_user(session: Session, *, name: str, role: Role, password_hash: str) -> int:
    """Store a new user; the caller checked that the name is free."""
    user = User(name=name, role=role.value, password_hash=password_hash)
    session.add(user)
    session.flush()
    return user.id


def set_password(session: Session, *, user_id: int, password_hash: str) -> None:
    """Replace the stored hash (a new password, or the same one under newer parameters)."""
    session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))


def set_disabled(session: Session, *, user_id: int, disabled_at: dt.datetime | None) -> None:
    """Disable (with the time) or enable (None) a user."""
    session.execute(update(User).where(User.id == user_id).values(disabled_at=disabled_at))


def set_failures(
    session: Session, *, user_id: int, failed_attempts: int, locked_until: dt.datetime | None
) -> None:
    """Record the failed-attempt counter and the lock (None clears it)."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_attempts=failed_attempts, locked_until=locked_until)
    )


def record_sign_in(session: Session, *, user_id: int, at: dt.datetime) -> None:
    """A successful sign-in clears the counter and any lock."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_attempts=0, locked_until=None, last_sign_in_at=at)
    )


def delete_user(session: Session, *, user_id: int) -> None:
    """Remove a user and (by cascade) their sessions; the change log keeps their name."""
    session.execute(delete(User).where(User.id == user_id))


def add_session(
    session: Session,
    *,
    session_id: str,
    user_id: int,
    csrf_token: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    """Open a session; the cookie's secret itself is never stored."""
    session.add(
        UserSession(
            id=session_id,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()


def session_by_id(session: Session, session_id: str) -> SessionRow | None:
    """The session with this id, if its user exists and is not disabled."""
    row = session.execute(
        select(
            UserSession.id,
            UserSession.user_id,
            User.name,
            User.role,
            UserSession.csrf_token,
            UserSession.created_at,
            UserSession.last_seen_at,
            UserSession.expires_at,
            UserSession.revoked_at,
        )
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id == session_id, User.disabled_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    return SessionRow(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        role=Role(row.role),
        csrf_token=row.csrf_token,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def touch_session(session: Session, *, session_id: str, now: dt.datetime) -> None:
    """Record activity, which pushes the idle timeout back."""
    session.execute(
        update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now)
    )


def revoke_session(session: Session, *, session_id: str, now: dt.datetime) -> None:
    """End one session (sign-out); the cookie stops working at once."""
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_sessions_of(session: Session, *, user_id: int, now: dt.datetime) -> int:
    """End every live session of a user (disabled, new password); returns how many."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(UserSession.id)
    )
    return len(result.all())


def forget_sessions(session: Session, *, before: dt.datetime) -> int:
    """Delete sessions that ended before a moment; they can never become live again."""
    result = session.execute(
        delete(UserSession).where(UserSession.expires_at < before).returning(UserSession.id)
    )
    return len(result.all())
