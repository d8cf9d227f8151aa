"""Bearer tokens for writes: random secrets, stored only as hashes, each with a name and role."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from service.core.errors import (
    AuthenticationError,
    InvalidDataError,
    PermissionDeniedError,
    Problem,
)
from service.layers import Collection, Role

PREFIX = "bbt_"
NAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,64}")


@dataclass(frozen=True)
class Principal:
    """Who is writing: the token's name becomes the actor in the change log."""

    name: str
    role: Role


def new_secret() -> str:
    """256 random bits; the prefix lets secret scanners recognise a leaked token."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 is enough for random secrets (no dictionary to guess from), and lookups stay fast."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_name(name: str) -> str:
    """Token names appear in the change log: short, no spaces or markup."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidDataError(
            [Problem("token", name, "name", "expected 1–64 letters, digits or . _ @ -")],
            "invalid token name",
        )
    return name


def bearer(header: str | None) -> str:
    """The secret from an `Authorization: Bearer …` header."""
    if not header:
        raise AuthenticationError("writes need an `Authorization: Bearer <token>` header")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthenticationError("expected `Authorization: Bearer <token>`")
    return secret.strip()


def authorize(principal: Principal, collection: Collection) -> None:
    """Editors keep areas, hamlets and schools; districts and addresses need an admin."""
    needed = collection.write_role
    if needed is None:
        raise PermissionDeniedError(f"{collection.id} is read-only over the API; load a package")
    if needed is Role.ADMIN and principal.role is not Role.ADMIN:
        raise PermissionDeniedError(
            f"token {principal.name!r} has role {principal.role}; writing {collection.id} "
            "needs role admin"
        )
