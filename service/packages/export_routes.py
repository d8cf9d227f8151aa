"""The whole data package as a download, in the formats GIS staff use."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from service.packages.export_queries import package_frames
from service.packages.exports import ExportFormat, write_package
from service.web import openapi, params
from service.web.deps import SessionDep

router = APIRouter(tags=["exports"])
TYPES = {
    ExportFormat.GPKG: ("export.gpkg", "application/geopackage+sqlite3"),
    ExportFormat.GEOJSON: ("export.geojson.zip", "application/zip"),
    ExportFormat.CSV: ("export.csv.zip", "application/zip"),
    ExportFormat.SHP: ("export.shp.zip", "application/zip"),
}


def _download(
    session: SessionDep, fmt: ExportFormat, ags: str | None, as_of: dt.date | None
) -> Response:
    frames = package_frames(session, ags, as_of)
    folder = Path(tempfile.mkdtemp(prefix="broadband-export-"))
    name, media_type = TYPES[fmt]
    try:
        path = write_package(frames, fmt, folder / name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    return FileResponse(path, media_type=media_type, filename=name, background=cleanup)


def _route(fmt: ExportFormat) -> Callable[..., Response]:
    def export(session: SessionDep, ags: params.Ags = None, as_of: params.AsOf = None) -> Response:
        return _download(session, fmt, ags, as_of)

    return export


for _fmt, (_name, _type) in TYPES.items():
    router.add_api_route(
        f"/{_name}",
        _route(_fmt),
        methods=["GET"],
        response_class=FileResponse,
        responses=openapi.answers(_type, description=f"The package as {_name}"),
        summary=f"All layers as {_fmt.value} (seed or import it to get the same data back)",
        name=f"export_{_fmt.value}",
    )
