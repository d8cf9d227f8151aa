"""Serving the HTTP API, with uvicorn's h11 parser, which bounds request heads (431 above)."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import h11
import typer
import uvicorn
from sqlalchemy.exc import OperationalError
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.cli.output import errors, fail
from service.core import logging as logs
from service.core import metrics
from service.core.errors import ConfigurationError
from service.core.settings import Settings
from service.db.engine import make_engine
from service.main import create_app
from service.ops import capacity
from service.ops.queries import server_connections

TOO_LARGE = 431
# uvicorn's supervisor pings each worker and waits this long for the reply. A new worker can
# only reply once it has imported the service (about 10 s on a busy machine, so uvicorn's 5 s
# would kill it as hung). A worker killed while a ping is out is only noticed when the wait
# ends, so this is also how late such a worker may be replaced; the others serve meanwhile.
WORKER_HEALTHCHECK_S = 20


class _Connection(h11.Connection):
    """h11's connection, remembering the status its last protocol error suggests (431 …)."""

    error_status = 400

    def next_event(self) -> Any:
        """The next event; a malformed or oversize request head is remembered, then re-raised."""
        try:
            return super().next_event()
        except h11.RemoteProtocolError as exc:
            self.error_status = exc.error_status_hint
            raise


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering 431 (not 400) to a request head over the limit.

    h11 stops reading a head at `h11_max_incomplete_event_size` bytes, so an oversize header
    costs milliseconds and a little memory, and other connections never wait for it.
    """

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.limit = config.h11_max_incomplete_event_size or 0
        self.conn = _Connection(h11.SERVER, self.limit)

    def send_400_response(self, msg: str) -> None:
        """The 400 of a malformed request, or the 431 of one whose head is too large."""
        if getattr(self.conn, "error_status", 400) != TOO_LARGE:
            super().send_400_response(msg)
            return
        detail = (
            f"the request line and headers are over the limit of {self.limit:,} bytes "
            "(the limit is set by BROADBAND_MAX_HEADER_BYTES)"
        )
        body = {
            "type": "about:blank",
            "title": "RequestHeaderFieldsTooLarge",
            "status": TOO_LARGE,
            "detail": detail,
        }
        content = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(content)).encode()),
            (b"connection", b"close"),
        ]
        reason = b"Request Header Fields Too Large"
        response = h11.Response(status_code=TOO_LARGE, headers=headers, reason=reason)
        self.transport.write(self.conn.send(response) or b"")
        self.transport.write(self.conn.send(h11.Data(data=content)) or b"")
        self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        self.transport.close()


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every way of serving shares: h11 with bounded heads, our logging, a graceful stop."""
    return {
        "http": LimitedH11Protocol,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "proxy_headers": True,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": settings.shutdown_timeout_s,
    }


def server_config(settings: Settings, host: str, port: int, **options: Any) -> uvicorn.Config:
    """How `broadband serve` runs the app in one process."""
    return uvicorn.Config(
        create_app(settings), host=host, port=port, **_uvicorn_options(settings), **options
    )


def check_connection_budget(settings: Settings) -> None:
    """Refuse to start processes that together could exhaust the database's connections."""
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            server = server_connections(connection)
    except OperationalError as exc:
        errors.print(f"[yellow]warning:[/] connection budget not checked: {exc.orig}")
        return
    finally:
        engine.dispose()
    verdict = capacity.budget(
        settings.workers, settings.db_pool_size, settings.db_max_overflow, server
    )
    if verdict.error:
        raise fail(ConfigurationError(verdict.error))
    if verdict.warning:
        errors.print(f"[yellow]warning:[/] {verdict.warning}", highlight=False)


def serve(
    port: Annotated[int, typer.Option(envvar="PORT", help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Processes to run [default: BROADBAND_WORKERS or 1]"),
    ] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development)")] = False,
) -> None:
    """Run the HTTP service; our logging replaces uvicorn's (and its access log: ours has ids).

    With several workers each process builds the app from the same environment and keeps its
    own pool; the response cache is per process and keyed by the data version, so a write
    through one worker is seen by the next read through any other.
    """
    settings = Settings()
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    logs.configure(settings)
    check_connection_budget(settings)
    if reload or settings.workers > 1 or metrics.MULTIPROCESS_ENV in os.environ:
        # Before any worker starts: they add up in shared files, none left from an earlier run.
        metrics.prepare_processes()
    if reload or settings.workers > 1:
        uvicorn.run(
            "service.main:create_app",
            factory=True,
            host=host,
            port=port,
            reload=reload,
            workers=None if reload else settings.workers,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
            **_uvicorn_options(settings),
        )
        return
    uvicorn.Server(server_config(settings, host, port)).run()
