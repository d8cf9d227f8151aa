"""Request dependencies: settings, engine, sessions from the state the lifespan set."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.core.settings import Settings

LOGGER = logging.getLogger(__name__)


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """The engine opened in the lifespan."""
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    """A read session per request; writes go through `service.db.engine.transaction`.

    The session closes after the answer has been sent. If the database ended the connection
    in between (a restart), the closing ROLLBACK fails; there is nothing left to roll back and
    the client already has its answer, so the error is logged, not raised into a response that
    has started (which would drop the client's keep-alive connection).
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        try:
            session.close()
        except DBAPIError as exc:
            LOGGER.warning("read session closed on a lost connection: %s", type(exc.orig).__name__)


def base_url(request: Request) -> str:
    """The service root for links and redirects: `BROADBAND_PUBLIC_URL` when set, else the
    request's own root, whose Host the trusted-host check has already let through."""
    public: str | None = get_settings(request).public_url
    return (public or str(request.base_url)).rstrip("/")


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
