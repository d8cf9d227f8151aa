"""`GET /metrics`: what Prometheus reads after known requests, who may read it, and the sum over
several worker processes of `broadband serve --workers 2`."""

from __future__ import annotations

import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr, ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.core import metrics
from service.core.settings import Settings
from service.main import create_app
from service.packages.export_queries import package_frames
from tests.helpers import serve_process, stop_process

REQUESTS = "broadband_http_requests_total"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(body: str) -> Samples:
    """Every sample of a scrape, by name and labels, as Prometheus's own parser reads them."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; a series not yet created counts as 0."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client: TestClient, **headers: str) -> Samples:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    return parse(answer.text)


def _app(settings: Settings, **update: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"basemap_url": "none", **update})))


@pytest.fixture
def public(settings: Settings, coesfeld: object) -> Iterator[TestClient]:
    """The app with BROADBAND_METRICS=public and a fresh response cache."""
    with _app(settings, metrics="public") as client:
        yield client


def _form_token(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/redaktion/anmelden").text)
    assert found
    return found.group(1)


def test_requests_are_counted_by_route_template_with_their_time(public: TestClient) -> None:
    before = scrape(public, **{"Accept-Encoding": "gzip"})
    started = time.perf_counter()
    for _ in range(3):
        assert public.get("/coverage").status_code == 200
    spent = time.perf_counter() - started
    assert public.get("/no/such/page").status_code == 404
    assert public.get("/collections/areas/items/999999").status_code == 404
    assert public.get("/static/map.js").status_code == 200
    assert public.request("BREW", "/coverage").status_code == 405
    answer = public.get("/metrics", headers={"Accept-Encoding": "gzip"})  # as Prometheus asks
    assert answer.headers["content-type"].startswith("text/plain; version=")
    assert answer.headers["content-encoding"] == "gzip"
    after = parse(answer.text)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = REQUESTS
    assert grew(requests, method="GET", route="/coverage", status="200") == 3
    assert grew(requests, method="GET", route="unmatched", status="404") == 1
    item = "/collections/areas/items/{feature_id}"  # the template, not /…/999999
    assert grew(requests, method="GET", route=item, status="404") == 1
    assert grew(requests, method="GET", route="/static/{path}", status="200") == 1
    assert grew(requests, method="other", route="/coverage", status="405") == 1
    assert grew(requests, method="GET", route="/metrics", status="200") == 1  # the first scrape
    assert not any(name == requests and "999999" in str(labels) for name, labels in after)

    duration = "broadband_http_request_duration_seconds"
    assert grew(f"{duration}_count", method="GET", route="/coverage") == 3
    assert grew(f"{duration}_bucket", method="GET", route="/coverage", le="+Inf") == 3
    assert 0 < grew(f"{duration}_sum", method="GET", route="/coverage") <= spent

    # A fresh cache: the first answer is computed, the next two are read.
    assert grew("broadband_cache_lookups_total", result="miss") == 1
    assert grew("broadband_cache_lookups_total", result="hit") == 2
    assert grew("broadband_coverage_rebuilds_total", view="summary") == 1


def test_refused_sign_ins_and_tokens_are_counted_by_reason(public: TestClient) -> None:
    before = scrape(public)
    refused = public.post(
        "/redaktion/anmelden",
        data={"name": "test-nobody", "password": "falsch", "csrf_token": _form_token(public)},
    )
    assert refused.status_code == 401
    stale = public.post(
        "/redaktion/anmelden", data={"name": "x", "password": "y", "csrf_token": "old"}
    )
    assert stale.status_code == 403
    area = "/collections/areas/items"
    assert public.post(area, json={}).status_code == 401
    assert public.post(area, json={}, headers={"Authorization": "Basic eA=="}).status_code == 401
    unknown = {"Authorization": "Bearer bbt_no-such-token"}
    assert public.post(area, json={}, headers=unknown).status_code == 401
    after = scrape(public)

    def grew(name: str, reason: str) -> float:
        return value(after, name, reason=reason) - value(before, name, reason=reason)

    assert grew("broadband_sign_in_failures_total", "wrong") == 1
    assert grew("broadband_sign_in_failures_total", "stale_form") == 1
    assert grew("broadband_authentication_failures_total", "missing") == 1
    assert grew("broadband_authentication_failures_total", "malformed") == 1
    assert grew("broadband_authentication_failures_total", "unknown_token") == 1
    assert "test-nobody" not in public.get("/metrics").text


def test_an_import_commit_is_counted_by_layer(
    public: TestClient,
    tokens: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    with factory() as session:
        areas = package_frames(session, None)["areas"]
    delivery = tmp_path / "ausbau.gpkg"
    gpd.GeoDataFrame(
        {"name": areas["name"], "status": areas["status"]}, geometry=areas.geometry, crs=25832
    ).to_file(delivery, layer="areas")
    auth = {"Authorization": f"Bearer {tokens['editor']}"}
    with delivery.open("rb") as handle:
        upload = {"file": (delivery.name, handle)}
        uploaded = public.post("/imports", files=upload, data={"layer": "areas"}, headers=auth)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["preview"]["counts"]["unchanged"] == len(areas)  # nothing to undo
    before = scrape(public)
    committed = public.post(f"{uploaded.headers['location']}/commit", headers=auth)
    assert committed.status_code == 200, committed.text
    after = scrape(public)
    with factory() as session:
        stored = session.execute(
            text("SELECT layer, committed_at IS NOT NULL FROM imports WHERE public_id = :id"),
            {"id": uploaded.json()["id"]},
        ).one()
    assert tuple(stored) == ("areas", True)
    commits = "broadband_import_commits_total"
    assert value(after, commits, layer="areas") - value(before, commits, layer="areas") == 1


def test_pool_gauges_follow_connections_in_use_and_overflow(
    settings: Settings, coesfeld: object
) -> None:
    with _app(settings, metrics="public") as client:
        idle = scrape(client)
        with _app(settings, metrics="public", db_pool_size=1, db_max_overflow=2) as small:
            engine = small.app.state.engine  # type: ignore[attr-defined]
            opened = scrape(client)
            held = [engine.connect() for _ in range(3)]
            busy = scrape(client)
            for connection in held:
                connection.close()
            returned = scrape(client)
        closed = scrape(client)

    def change(samples: Samples, name: str) -> float:
        gauge = f"broadband_db_pool_{name}"
        return value(samples, gauge) - value(idle, gauge)

    assert change(opened, "size") == 1  # the second app's pool of one
    assert change(busy, "checked_out") == 3
    assert change(busy, "overflow") == 2  # two beyond the pool of one
    assert change(returned, "checked_out") == 0
    assert change(returned, "overflow") == 0  # given back to a full pool, so closed
    assert change(closed, "size") == 0  # a stopped app's pool no longer counts


def test_metrics_are_off_by_default(settings: Settings, coesfeld: object) -> None:
    assert Settings().metrics == "off"
    with _app(settings) as client:
        answer = client.get("/metrics")
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_token_mode_needs_the_metrics_token(settings: Settings, coesfeld: object) -> None:
    secret = secrets.token_hex(32)
    with _app(settings, metrics="token", metrics_token=SecretStr(secret)) as client:
        before = scrape(client, Authorization=f"Bearer {secret}")
        missing = client.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = {"Authorization": "Bearer " + "0" * 64}
        assert client.get("/metrics", headers=wrong).status_code == 401
        after = scrape(client, Authorization=f"Bearer {secret}")
    refusals = "broadband_authentication_failures_total"
    grew = value(after, refusals, reason="metrics_token") - value(
        before, refusals, reason="metrics_token"
    )
    assert grew == 2


@pytest.mark.parametrize("token", [None, "too-short"])
def test_token_mode_without_a_strong_token_is_refused_at_start(token: str | None) -> None:
    with pytest.raises(ValidationError, match="BROADBAND_METRICS_TOKEN"):
        Settings.model_validate({"metrics": "token", "metrics_token": token})


def test_an_unknown_metrics_setting_is_refused() -> None:
    with pytest.raises(ValidationError, match="'off', 'public' or 'token'"):
        Settings.model_validate({"metrics": "yes"})


def test_processes_get_a_private_directory_or_an_emptied_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Set first, so the variable prepare_processes() writes is restored (removed) afterwards.
    monkeypatch.setenv(metrics.MULTIPROCESS_ENV, "")
    monkeypatch.delenv(metrics.MULTIPROCESS_ENV)
    metrics.prepare_processes()
    made = Path(os.environ[metrics.MULTIPROCESS_ENV])
    assert made.is_dir() and stat.S_IMODE(made.stat().st_mode) == 0o700

    named = tmp_path / "shared"
    named.mkdir()
    (named / "counter_4242.db").write_bytes(b"from an earlier run")
    (named / "README").write_text("not ours")
    monkeypatch.setenv(metrics.MULTIPROCESS_ENV, str(named))
    metrics.prepare_processes()
    assert sorted(p.name for p in named.iterdir()) == ["README"]


def _worker_counts(directory: Path, route: str, sent: int) -> dict[str, float]:
    """Requests to route per worker, read from each worker's own counter file once they add up
    to what was sent (a worker counts an answer just after its last byte has gone)."""
    deadline = time.monotonic() + 10
    while True:
        counts = {}
        for path in directory.glob("counter_*.db"):
            families = MultiProcessCollector.merge([str(path)])  # type: ignore[no-untyped-call]
            counts[path.stem] = sum(
                sample.value
                for family in families
                for sample in family.samples
                if sample.name == REQUESTS and sample.labels["route"] == route
            )
        if sum(counts.values()) >= sent or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


@pytest.fixture
def two_workers(settings: Settings, coesfeld: object, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`broadband serve --workers 2` with public metrics, and the directory they share."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"\0" * 16)  # an earlier run's: must not count
    served = serve_process(
        settings,
        2,
        BROADBAND_METRICS="public",
        BROADBAND_DB_POOL_SIZE="3",
        **{metrics.MULTIPROCESS_ENV: str(shared)},
    )
    try:
        deadline = time.monotonic() + 90
        while len(list(shared.glob("gauge_livesum_*.db"))) < 2:  # each worker's pool gauges
            assert time.monotonic() < deadline, "serve did not start two workers"
            time.sleep(0.2)
        yield served.url, shared
    finally:
        stop_process(served)


def test_every_scrape_adds_up_all_workers(two_workers: tuple[str, Path]) -> None:
    url, shared = two_workers
    assert not (shared / "counter_1.db").exists()
    route = "/conformance"
    sent = 0
    deadline = time.monotonic() + 60
    while True:  # new connections, until the kernel has handed some to each worker
        for _ in range(10):
            answer = httpx.get(f"{url}{route}", headers={"Connection": "close"}, timeout=30)
            assert answer.status_code == 200
            sent += 1
        per_worker = _worker_counts(shared, route, sent)
        if sum(1 for count in per_worker.values() if count > 0) == 2:
            break
        assert time.monotonic() < deadline, f"one worker answered everything: {per_worker}"
    assert sum(per_worker.values()) == sent

    for _ in range(6):  # whichever worker answers the scrape
        answer = httpx.get(f"{url}/metrics", headers={"Connection": "close"}, timeout=30)
        samples = parse(answer.text)
        counted = value(
            samples, "broadband_http_requests_total", method="GET", route=route, status="200"
        )
        assert counted == sent
        assert value(samples, "broadband_db_pool_size") == 2 * 3  # two pools of three
