"""Stores and looks up API tokens by the hash of their secret."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.auth.tokens import Principal, check_name, hash_secret, new_secret
from service.core.errors import ConflictError, NotFoundError, Problem
from service.db.models import ApiToken
from service.layers import Role


@dataclass(frozen=True)
class TokenInfo:
    """What `broadband token list` shows: never the secret."""

    name: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def create(session: Session, name: str, role: Role) -> str:
    """Store a new token and return its secret, which is shown once and never again."""
    check_name(name)
    live = session.scalar(
        select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    )
    if live is not None:
        raise ConflictError(
            [Problem("token", name, "name", "a live token has this name; revoke it first")],
            "token name taken",
        )
    secret = new_secret()
    session.add(ApiToken(name=name, role=role.value, secret_hash=hash_secret(secret)))
    session.flush()
    return secret


def revoke(session: Session, name: str) -> None:
    """Revoke the live token of that name; it stops working at once."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiToken.id)
    ).first()
    if result is None:
        raise NotFoundError(f"no live token named {name!r}")


def find(session: Session, secret: str) -> Principal | None:
    """The holder of a live token with this secret, if any."""
    row = session.execute(
        select(ApiToken.name, ApiToken.role).where(
            ApiToken.secret_hash == hash_secret(secret), ApiToken.revoked_at.is_(None)
        )
    ).one_or_none()
    return None if row is None else Principal(row.name, Role(row.role))


def listing(session: Session) -> list[TokenInfo]:
    """All tokens, live and revoked, newest first."""
    rows = session.execute(
        select(ApiToken.name, ApiToken.role, ApiToken.created_at, ApiToken.revoked_at).order_by(
            ApiToken.created_at.desc()
        )
    )
    return [TokenInfo(*row) for row in rows]
