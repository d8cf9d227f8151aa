"""Passwords: Argon2id hashes through pwdlib, and the one policy every way of setting one checks."""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from service.core.errors import InvalidDataError, Problem

MIN_LENGTH = 10
MAX_LENGTH = 1024  # longer input only costs hashing time; no one types more
HASH_PREFIX = "$argon2id$"

_HASHER = PasswordHash((Argon2Hasher(),))


def check_policy(password: str, user: str | None = None) -> str:
    """Length makes a password hard to guess; composition rules only make it hard to remember."""
    if len(password) < MIN_LENGTH:
        message = f"too short: at least {MIN_LENGTH} characters, got {len(password)}"
    elif len(password) > MAX_LENGTH:
        message = f"too long: at most {MAX_LENGTH} characters, got {len(password)}"
    elif user is not None and password.strip().casefold() == user.casefold():
        message = "must not be the user name"
    else:
        return password
    raise InvalidDataError([Problem("user", user, "password", message)], "password refused")


def hash_password(password: str, user: str | None = None) -> str:
    """The Argon2id hash to store (salted, with its parameters); the password itself never is."""
    return _HASHER.hash(check_policy(password, user))


def verify(password: str, stored: str) -> tuple[bool, str | None]:
    """Whether the password matches, and a new hash when the stored one uses older parameters."""
    if len(password) > MAX_LENGTH:
        return False, None
    return _HASHER.verify_and_update(password, stored)


@cache
def _decoy() -> str:
    return _HASHER.hash("no user has this password; it only costs time")


def verify_nothing(password: str) -> None:
    """Spend as long as a real check, so an unknown name answers no faster than a wrong password."""
    _HASHER.verify(password[:MAX_LENGTH], _decoy())
