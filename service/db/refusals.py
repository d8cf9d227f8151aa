"""What a client is told when PostgreSQL refuses a statement: the constraint's name (ours, from
the migrations), never the database's own text, which shows SQL, types and stored values. That
text goes to the log instead, where the request id ties it to the answer."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError

LOGGER = logging.getLogger(__name__)

KINDS = {
    "22": "a value does not fit its column or function",  # data exception
    "23": "a rule of the database is not met",  # integrity constraint violation
    "42": "a comparison or function does not apply to these values",  # syntax error or rule
}


def constraint_of(error: DBAPIError) -> str | None:
    """The name of the violated constraint, where PostgreSQL names one."""
    diag = getattr(error.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return str(name) if name else None


def refusal(error: DBAPIError, context: str) -> str:
    """A message safe to show (kind and constraint); the database's own text is logged."""
    sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
    text = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
    LOGGER.warning("%s: the database refused a statement (%s): %s", context, sqlstate, text)
    kind = KINDS.get(sqlstate[:2], "the database refused it")
    constraint = constraint_of(error)
    return f"{kind} (constraint {constraint})" if constraint else kind
