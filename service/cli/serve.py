"""Serving the HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from service.core import logging as logs
from service.core.settings import Settings
from service.main import create_app


def serve(
    port: Annotated[int, typer.Option(envvar="PORT", help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development)")] = False,
) -> None:
    """Run the HTTP service; our logging replaces uvicorn's (and its access log: ours has ids)."""
    settings = Settings()
    logs.configure(settings)
    if reload:
        uvicorn.run(
            "service.main:create_app",
            factory=True,
            host=host,
            port=port,
            reload=True,
            log_config=None,
            access_log=False,
        )
        return
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_config=None, access_log=False)
