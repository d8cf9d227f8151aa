"""Logging set up once: JSON lines in production, readable lines in development, every line with
the request id, and database outages reported once when they start and once when they end."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import threading
import time
from contextvars import ContextVar
from typing import TextIO

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import OperationalError

from service.core.settings import Settings

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
NO_REQUEST = "-"
HANDLER_NAME = "broadband"
READABLE = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"
# Attributes every LogRecord has; any other attribute came in through `extra=`.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# SQLAlchemy puts a statement's bound values into its error text; they may be user input.
SQL_PARAMETERS = re.compile(r"^\[parameters: .*$", re.MULTILINE)

LOGGER = logging.getLogger("service.database")


def hide_parameters(text: str) -> str:
    """Drop the bound values from SQLAlchemy error text, keeping the statement."""
    return SQL_PARAMETERS.sub("[parameters hidden]", text)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request it belongs to (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get() or NO_REQUEST
        return True


class ReadableFormatter(logging.Formatter):
    """One line per record for a developer's terminal; tracebacks follow on their own lines."""

    def __init__(self) -> None:
        super().__init__(READABLE)

    def formatException(self, ei: logging._SysExcInfoType) -> str:  # noqa: N802 (logging's name)
        return hide_parameters(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    """One JSON object per line for log collectors; fields given as `extra=` become keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in STANDARD_ATTRIBUTES}
        if record.exc_info:
            entry["exception"] = hide_parameters(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Put our one handler on the root logger, replacing the one an earlier call put there."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    production = settings.environment == "production"
    handler.setFormatter(JsonFormatter() if production else ReadableFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return handler


class DatabaseHealth:
    """Whether the database answered last time, so an outage is logged as it starts and ends.

    It watches the engine, so requests and readiness probes alike count: a failed connection
    starts an outage, the next connection handed out by the pool ends it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: float | None = None

    @property
    def down(self) -> bool:
        """Whether an outage is going on."""
        return self._down_since is not None

    def failed(self, error: BaseException) -> None:
        """A connection failed: log it with its traceback if the database was fine until now."""
        with self._lock:
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        LOGGER.error("database unavailable: %s", type(error).__name__, exc_info=error)

    def answered(self) -> None:
        """A connection worked: log that the outage is over, if there was one."""
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            seconds = time.monotonic() - self._down_since
            self._down_since = None
        LOGGER.info("database available again after %.1f s", seconds)

    def watch(self, engine: Engine) -> None:
        """Follow every connection the engine makes or hands out."""
        event.listen(engine, "handle_error", self._on_error)
        event.listen(engine, "checkout", self._on_checkout)

    def _on_error(self, context: ExceptionContext) -> None:
        # A failed pre-ping is healed by the pool; a failed statement is no outage.
        lost = context.connection is None or context.is_disconnect
        operational = isinstance(context.sqlalchemy_exception, OperationalError)
        if lost and operational and not context.is_pre_ping:
            self.failed(context.original_exception)

    def _on_checkout(self, *_: object) -> None:
        self.answered()
