"""Real OGC clients against the running service: GDAL's OAPIF driver and OWSLib."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

import geopandas as gpd
import pytest
from owslib.ogcapi.features import Features
from shapely.geometry import box
from sqlalchemy import Engine


@pytest.fixture(autouse=True, scope="module")
def _gdal() -> None:
    """`make test` installs gdal-bin; without it these tests fail rather than pass silently."""
    if shutil.which("ogrinfo") is None or shutil.which("ogr2ogr") is None:
        pytest.fail("GDAL's ogrinfo/ogr2ogr are missing: apt-get install gdal-bin (make test does)")


def _ogr(*args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CPL_DEBUG": "ON"} if debug else None
    return subprocess.run(
        ["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120, check=True, env=env
    )


def _ogr_features(url: str, layer: str, *args: str) -> list[dict[str, Any]]:
    """Every feature GDAL reads, via ogr2ogr to GeoJSON on stdout."""
    result = subprocess.run(
        ["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", f"OAPIF:{url}", layer, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    features: list[dict[str, Any]] = json.loads(result.stdout)["features"]
    return features


def _areas(engine: Engine) -> gpd.GeoDataFrame:
    frame = gpd.read_postgis("SELECT * FROM areas ORDER BY id", engine, geom_col="geom")
    return frame.to_crs(4326)


def test_gdal_lists_the_collections(service_url: str) -> None:
    listing = _ogr(f"OAPIF:{service_url}").stdout
    for name, kind in [
        ("municipality", "Multi Polygon"),
        ("areas", "Multi Polygon"),
        ("hamlets", "Multi Polygon"),
        ("schools", "Point"),
        ("addresses", "Point"),
    ]:
        assert re.search(rf"\d+: {name} \(title: .*\) \({kind}\)", listing), listing


def test_gdal_reads_every_area_in_wgs84(service_url: str, engine: Engine) -> None:
    summary = _ogr("-so", f"OAPIF:{service_url}", "areas").stdout
    frame = _areas(engine)
    assert f"Feature Count: {len(frame)}" in summary
    assert 'ID["EPSG",4326]' in summary  # GDAL reads CRS84 as WGS 84 in lon/lat order
    assert "status: String" in summary and "status_since: Date" in summary
    features = _ogr_features(service_url, "areas")
    assert len(features) == len(frame)  # read page by page through the next links
    assert {f["properties"]["name"] for f in features} == set(frame["name"])
    lon, lat = features[0]["geometry"]["coordinates"][0][0][0]
    assert 6.9 < lon < 7.4 and 51.8 < lat < 52.1


def test_gdal_spatial_filter_is_sent_as_bbox(service_url: str, engine: Engine) -> None:
    window = (7.15, 51.93, 7.20, 51.98)
    result = _ogr(
        "-al", "-q", "-spat", *map(str, window), f"OAPIF:{service_url}", "areas", debug=True
    )
    assert "bbox=7.15" in result.stderr  # the server filters, not GDAL
    frame = _areas(engine)
    expected = set(frame[frame.intersects(box(*window))]["name"])
    got = set(re.findall(r"^  name \(String\) = (.*)$", result.stdout, flags=re.MULTILINE))
    assert got == expected and 0 < len(expected) < len(frame)


def test_gdal_attribute_filter_is_sent_as_cql2(service_url: str, engine: Engine) -> None:
    where = "status = 'connected' AND kind = 'commercial'"
    result = _ogr("-al", "-q", "-where", where, f"OAPIF:{service_url}", "areas", debug=True)
    assert "filter=" in result.stderr and "filter-lang=cql-text" in result.stderr
    assert "evaluated on client side" not in result.stderr
    frame = _areas(engine)
    expected = set(
        frame[(frame["status"] == "connected") & (frame["kind"] == "commercial")]["name"]
    )
    got = set(re.findall(r"^  name \(String\) = (.*)$", result.stdout, flags=re.MULTILINE))
    assert got == expected and expected


def test_owslib_reads_collections_and_items(service_url: str, engine: Engine) -> None:
    api = Features(service_url)
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in api.conformance()["conformsTo"]
    )
    ids = [c["id"] for c in api.collections()["collections"]]
    assert ids == ["municipality", "districts", "areas", "hamlets", "schools", "addresses"]
    frame = _areas(engine)
    page = api.collection_items("areas", limit=1000)
    assert page["numberMatched"] == page["numberReturned"] == len(frame)
    connected = api.collection_items("areas", status="connected", limit=1000)
    assert connected["numberMatched"] == int((frame["status"] == "connected").sum())
    one = api.collection_item("areas", str(frame["id"].iloc[0]))
    assert one["properties"]["name"] == frame["name"].iloc[0]
    queryables = api.collection_queryables("areas")
    assert "status" in queryables["properties"]
