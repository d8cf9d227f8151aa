"""Cached answers by data version, still served from the cache while the database is down."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from fastapi import Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.core.cache import VersionedCache
from service.db.engine import timed_out
from service.db.state import data_version


def current_version(request: Request, session: Session, key: Hashable) -> Any:
    """The data version to answer key at: the database's, or while it cannot be reached, the
    version of the answer this process last cached for key (which is then served as it was),
    or of the newest answer it holds (enough for an ETag over cached parts).

    When the process has cached nothing, the outage goes on to the 503 policy in `web.problems`.
    """
    try:
        return data_version(session)
    except OperationalError as exc:
        held = _cache(request).version_of(key)
        if held is None or timed_out(exc):
            raise
        return held


def cached(request: Request, session: Session, key: Hashable, compute: Callable[[], Any]) -> Any:
    """The answer for key, recomputed only when the data version has moved on."""
    version = current_version(request, session, key)
    return _cache(request).get_or_compute(key, version, compute)


def _cache(request: Request) -> VersionedCache:
    cache: VersionedCache = request.app.state.cache
    return cache
