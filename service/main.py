"""Builds the app from settings; wiring only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from service import __version__
from service.auth import routes as signin
from service.core import logging as logs
from service.core import metrics
from service.core.cache import VersionedCache
from service.core.limits import UrlLengthLimit
from service.core.rate_limits import RateLimits
from service.core.settings import Settings
from service.coverage import routes as coverage
from service.db.engine import make_engine, make_sessionmaker
from service.features import change_routes as changes
from service.features import item_routes as items
from service.features import routes as ogc
from service.maps import report_routes as report
from service.maps import routes as maps
from service.maps import text_routes as map_text
from service.maps.webmap import PAGE_ASSETS
from service.ops import routes as health
from service.packages import export_routes as exports
from service.packages import routes as imports
from service.search import routes as lookup
from service.tiles import routes as tiles
from service.web import api_docs, openapi, problems
from service.web.assets import Assets, asset_url
from service.web.middleware import Compression, RequestContext, RequestMetrics
from service.web.security import SecurityHeaders, TrustedHosts
from service.web.templates import templates
from service.workspace import delivery_routes as delivery_upload
from service.workspace import editor_routes as map_editor
from service.workspace import routes as workspace

STATIC_DIR = Path(__file__).parent / "static"


def served_assets(settings: Settings) -> Assets:
    """Our own static folder and the npm packages under /static, hashed once at start."""
    modules = settings.static_dir
    packages = {
        "leaflet": modules / "leaflet" / "dist",
        "geoman": modules / "@geoman-io" / "leaflet-geoman-free" / "dist",
        "protomaps-leaflet": modules / "protomaps-leaflet" / "dist",
        api_docs.PACKAGE: modules / "swagger-ui-dist",
    }
    return Assets.scan(STATIC_DIR, packages)


def static_assets(settings: Settings) -> dict[str, Path]:
    """Plain URL → file of every asset the map page loads, for the standalone page to inline."""
    assets = served_assets(settings)
    return {f"/static/{name}": assets.path(name) for name in PAGE_ASSETS}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create the FastAPI app; the engine lives exactly as long as the app runs."""
    settings = settings or Settings()
    logs.configure(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics.forget_dead_processes()
        engine = make_engine(settings, settings.statement_timeout_ms)
        app.state.database.watch(engine)
        app.state.pool_usage = pool = metrics.PoolUsage(engine)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        # Answers, and vector tiles apart (many and larger): neither crowds out the other.
        app.state.cache, app.state.tile_cache = VersionedCache(), tiles.cache(settings)
        try:
            yield
        finally:
            engine.dispose()
            pool.stop()
            metrics.process_stopping()

    app = FastAPI(
        title="Broadband coverage service",
        version=__version__,
        description="Fibre roll-out of a municipality: areas, hamlets, schools, coverage.",
        lifespan=lifespan,
        docs_url=None,  # service.web.api_docs serves /docs from our own /static
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = logs.DatabaseHealth()
    app.state.rate_limits = RateLimits.from_settings(settings)  # counts per app, in its memory
    app.state.assets = served_assets(settings)
    templates.env.globals["asset_url"] = asset_url  # reads the rendering app's assets
    app.add_middleware(Compression)
    # A Host not in BROADBAND_ALLOWED_HOSTS (or the public URL's) gets 400: links never use it.
    app.add_middleware(TrustedHosts, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(RequestContext)
    app.add_middleware(UrlLengthLimit, max_bytes=settings.max_url_bytes)
    app.add_middleware(RequestMetrics)  # counts what every middleware inside it answered
    app.add_middleware(SecurityHeaders)  # added last, so it runs first: every answer has them
    problems.install(app)
    openapi.install(app)  # after the error policy: says what it sends
    app.include_router(ogc.router)
    app.include_router(items.router)
    app.include_router(tiles.router)
    app.include_router(changes.router)
    app.include_router(imports.router)
    app.include_router(exports.router)
    app.include_router(health.router)
    app.include_router(coverage.router)
    app.include_router(lookup.router)
    app.include_router(maps.router)
    app.include_router(report.router)
    app.include_router(map_text.router)
    app.include_router(signin.router)
    app.include_router(map_editor.router)
    app.include_router(delivery_upload.router)
    app.include_router(workspace.router)
    app.include_router(api_docs.router)
    for path, name, files in app.state.assets.mounts():
        app.mount(path, files, name=name)
    return app
