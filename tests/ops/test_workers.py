"""`broadband serve --workers N`: processes that fit the connection budget, agree on the data
after a write through any of them, and finish what they started when told to stop."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from service.cli import app as cli
from service.core.settings import Settings
from service.main import create_app
from service.ops.capacity import ServerConnections, budget
from service.ops.processes import Served
from tests.helpers import serve_process, stop_process


@pytest.fixture(scope="module")
def two_workers(settings: Settings, coesfeld: object) -> Iterator[Served]:
    """The service as two processes on the test database."""
    served = serve_process(settings, 2)
    yield served
    stop_process(served)


def test_the_budget_counts_every_connection_a_worker_may_open() -> None:
    server = ServerConnections(max_connections=100, reserved=3, in_use=10)
    assert budget(9, 5, 5, server).error is None  # 90 ≤ 97
    assert budget(9, 5, 5, server).warning is not None  # but only 87 are free now
    refused = budget(10, 5, 5, server).error  # 100 > 97
    assert refused is not None
    assert "at most 9" in refused and "BROADBAND_WORKERS" in refused
    quiet = budget(2, 5, 5, server)
    assert quiet.error is None and quiet.warning is None


def test_serve_refuses_workers_beyond_the_database_connection_limit(
    settings: Settings, engine: Engine
) -> None:
    with engine.connect() as connection:
        limit = int(connection.execute(text("SHOW max_connections")).scalar_one())
    too_many = limit // (settings.db_pool_size + settings.db_max_overflow) + 1
    assert settings.database_url is not None
    result = CliRunner().invoke(
        cli, ["serve", "--workers", str(too_many)], env={"DATABASE_URL": settings.database_url}
    )
    assert result.exit_code == 1
    assert f"max_connections {limit}" in result.output
    assert "BROADBAND_WORKERS" in result.output


def _feature(name: str, status: str) -> dict[str, Any]:
    """A new expansion area over part of Coesfeld's town centre."""
    square = [[7.155, 51.94], [7.185, 51.94], [7.185, 51.96], [7.155, 51.96], [7.155, 51.94]]
    return {
        "type": "Feature",
        "properties": {
            "name": name,
            "kind": "commercial",
            "status": status,
            "status_since": "2025-01-01",
        },
        "geometry": {"type": "Polygon", "coordinates": [square]},
    }


def _coverage(url: str) -> dict[str, Any]:
    """One reading on a new connection, so the kernel may hand it to either worker."""
    with httpx.Client(timeout=30) as http:
        answer = http.get(f"{url}/coverage", headers={"Connection": "close"})
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def _each_worker_served(served: Served, before: dict[int, int], read: Any) -> list[Any]:
    """Read until every worker has spent CPU on the readings (each then holds a cached answer)."""
    answers: list[Any] = []
    deadline = time.monotonic() + 60
    while True:
        answers.extend(read() for _ in range(8))
        after = served.cpu_ticks()
        if all(after[pid] - before[pid] >= 2 for pid in before):
            return answers
        if time.monotonic() > deadline:
            pytest.fail(f"not every worker answered: CPU ticks {before} → {after}")


def test_a_write_through_one_worker_is_read_through_every_other(
    two_workers: Served,
    settings: Settings,
    tokens: dict[str, str],
    restore: None,
) -> None:
    url = two_workers.url
    warm = _each_worker_served(two_workers, two_workers.cpu_ticks(), lambda: _coverage(url))
    assert all(answer == warm[0] for answer in warm)

    written = httpx.post(
        f"{url}/collections/areas/items",
        json=_feature("Versorgt durch einen Arbeiter", "connected"),
        headers={"Authorization": f"Bearer {tokens['editor']}", "Connection": "close"},
        timeout=30,
    )
    assert written.status_code == 201, written.text

    # The truth, independently: a fresh process with an empty cache on the same database.
    with TestClient(create_app(settings)) as fresh:
        expected = fresh.get("/coverage").json()
    assert expected != warm[0]  # the write changed the figures
    after = _each_worker_served(two_workers, two_workers.cpu_ticks(), lambda: _coverage(url))
    assert all(answer == expected for answer in after)


def test_sigterm_lets_a_write_in_flight_finish_then_exits(
    settings: Settings, tokens: dict[str, str], restore: None, engine: Engine
) -> None:
    served = serve_process(settings, 2)
    results: list[tuple[httpx.Response, float]] = []
    body = json.dumps(_feature("Während des Stopps geschrieben", "planned")).encode()

    first_part_sent = threading.Event()

    def slowly() -> Iterator[bytes]:
        # The body arrives over 2 s, so the request is surely in flight when the workers stop.
        for start in range(0, len(body), len(body) // 4 + 1):
            yield body[start : start + len(body) // 4 + 1]
            first_part_sent.set()
            time.sleep(0.5)

    def write() -> None:
        answer = httpx.post(
            f"{served.url}/collections/areas/items",
            content=slowly(),
            headers={
                "Authorization": f"Bearer {tokens['editor']}",
                "Content-Type": "application/geo+json",
            },
            timeout=60,
        )
        results.append((answer, time.monotonic()))

    thread = threading.Thread(target=write)
    thread.start()
    assert first_part_sent.wait(30), "the write never reached the service"
    signalled = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    refused = False
    deadline = time.monotonic() + 10
    while not refused and time.monotonic() < deadline:
        try:
            httpx.get(f"{served.url}/healthz", timeout=1)
            time.sleep(0.1)
        except httpx.TransportError:
            refused = True  # once stopping, nothing new is answered
    thread.join(timeout=60)
    assert served.process.wait(timeout=30) == 0
    assert refused
    assert len(results) == 1, "the write in flight got no answer"
    answer, finished = results[0]
    assert finished > signalled + 1  # it was still running when the signal came
    assert answer.status_code == 201, answer.text
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT name FROM areas WHERE id = :id"), {"id": answer.json()["id"]}
        ).scalar_one()
    assert stored == "Während des Stopps geschrieben"
