"""The delivery upload in Chromium: a Gauss-Krüger Shapefile with cut German columns, previewed
field by field, committed, and seen in the API and the change log; no CSP violations."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas
import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.core.vocabulary import GERMAN_LABELS

PAGE = "/redaktion/lieferung"
AREAS = "/collections/areas/items"
NEW_STATUS = "under_construction"


@pytest.fixture
def two_areas(
    factory: sessionmaker[Session], coesfeld: object, service_url: str, tokens: dict[str, str]
) -> Iterator[list[dict[str, Any]]]:
    """Two stored areas (id, name, kind, status, status_since); put back as they were afterwards."""
    with factory() as session:
        rows = session.execute(
            text(
                "SELECT id, name, kind, status, status_since::text AS status_since FROM areas "
                "WHERE status <> :new ORDER BY id LIMIT 2"
            ),
            {"new": NEW_STATUS},
        ).mappings()
        found = [dict(row) for row in rows]
    yield found
    for area in found:
        url = f"{service_url}{AREAS}/{area['id']}"
        etag = httpx.get(url).headers["ETag"]
        back = {"properties": {"status": area["status"], "status_since": area["status_since"]}}
        restored = httpx.patch(
            url,
            content=json.dumps(back),
            headers={
                "Authorization": f"Bearer {tokens['editor']}",
                "If-Match": etag,
                "Content-Type": "application/merge-patch+json",
            },
        )
        assert restored.status_code == 200, restored.text


def _shapefile(factory: sessionmaker[Session], areas: list[dict[str, Any]], folder: Path) -> Path:
    """The two areas as a provider writes them: cut German columns, German values, no dates,
    Gauss-Krüger zone 2 (EPSG:31466), zipped; the first area's status changed."""
    with factory() as session:
        frame = geopandas.read_postgis(
            text("SELECT id, geom FROM areas WHERE id = ANY(:ids) ORDER BY id"),
            session.connection(),
            geom_col="geom",
            params={"ids": [a["id"] for a in areas]},
        )
    statuses = [NEW_STATUS] + [a["status"] for a in areas[1:]]
    delivery = geopandas.GeoDataFrame(
        {
            "Bezeichnun": [a["name"] for a in areas],
            "Art": [GERMAN_LABELS[a["kind"]] for a in areas],
            "Status": [GERMAN_LABELS[s] for s in statuses],
        },
        geometry=frame.geometry.to_crs(31466).values,
        crs=31466,
    )
    shp = folder / "Lieferung_Ausbau.shp"
    delivery.to_file(shp, engine="pyogrio")  # `Bezeichnung` as a DBF keeps it: 10 characters
    archive = folder / "Lieferung_Ausbau.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in folder.glob("Lieferung_Ausbau.*"):
            if part.suffix != ".zip":
                zipped.write(part, part.name)
    return archive


def test_upload_preview_and_commit_a_gauss_krueger_shapefile(
    signed_in: Page,
    service_url: str,
    factory: sessionmaker[Session],
    two_areas: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    page = signed_in
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    archive = _shapefile(factory, two_areas, tmp_path)
    changed = two_areas[0]
    with zipfile.ZipFile(archive) as zipped:
        assert "Lieferung_Ausbau.dbf" in zipped.namelist()
    page.goto(f"{service_url}{PAGE}")
    page.get_by_label("Datei", exact=True).set_input_files(archive)
    page.get_by_label("Ebene").select_option(label="Ausbaugebiete")
    page.get_by_role("button", name="Vorschau anzeigen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vorschau: Lieferung_Ausbau.zip")
    row = page.get_by_role("row").filter(has_text=changed["name"]).filter(has_text="Status")
    expect(row.first).to_contain_text(GERMAN_LABELS[changed["status"]])
    expect(row.first).to_contain_text(GERMAN_LABELS[NEW_STATUS])
    page.wait_for_function("() => window.deliveryMap && window.deliveryMap.affected")
    assert page.evaluate("window.deliveryMap.affected.getLayers().length") >= 1

    page.get_by_role("button", name="Übernehmen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lieferung übernommen")
    expect(page.get_by_role("link", name="Zum Verlauf")).to_be_visible()

    stored = httpx.get(f"{service_url}{AREAS}/{changed['id']}").json()
    assert stored["properties"]["status"] == NEW_STATUS
    log = httpx.get(
        f"{service_url}/changes", params={"collection": "areas", "feature": changed["id"]}
    ).json()
    assert NEW_STATUS in json.dumps(log)
    assert "Lieferung_Ausbau.zip" in json.dumps(log)
    assert violations == []
