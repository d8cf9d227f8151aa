"""`broadband serve` as configured for production: an oversize header costs nobody else time."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
import uvicorn

from service.cli.serve import server_config
from service.core.settings import Settings
from service.ops.processes import free_port

HUNDRED_MB = 100_000_000


@pytest.fixture(scope="module")
def served(settings: Settings, coesfeld: object) -> Iterator[tuple[str, int]]:
    """The app on a free loopback port, with the very uvicorn config `broadband serve` uses."""
    port = free_port()
    config = server_config(settings.model_copy(update={"basemap_url": "none"}), "127.0.0.1", port)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=10)


def _first_line(sock: socket.socket) -> bytes:
    """The status line of the answer, or b'' when the server closed without one."""
    data = b""
    try:
        while b"\r\n" not in data and (chunk := sock.recv(4096)):
            data += chunk
    except ConnectionResetError:
        pass
    return data.split(b"\r\n", 1)[0]


def _healthz_ms(host: str, port: int) -> float:
    start = time.monotonic()
    with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5) as answer:
        assert answer.status == 200
    return (time.monotonic() - start) * 1000


def test_an_oversize_header_gets_431_at_once_and_nobody_waits(served: tuple[str, int]) -> None:
    host, port = served
    head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: "
    payload = head + b"a" * HUNDRED_MB + b"\r\n\r\n"
    sock = socket.create_connection((host, port))

    def push() -> None:
        with contextlib.suppress(OSError):  # the server closes the connection after answering
            sock.sendall(payload)

    _healthz_ms(host, port)  # a warm connection pool, so the next one measures only waiting
    start = time.monotonic()
    sender = threading.Thread(target=push, daemon=True)
    sender.start()
    waited_ms = _healthz_ms(host, port)
    status = _first_line(sock)
    answered_ms = (time.monotonic() - start) * 1000
    sock.close()
    sender.join(timeout=10)
    assert status.startswith(b"HTTP/1.1 431"), status
    assert answered_ms < 100, f"answered after {answered_ms:.0f} ms"
    assert waited_ms < 50, f"/healthz waited {waited_ms:.0f} ms"


def test_a_header_under_the_limit_is_served(served: tuple[str, int]) -> None:
    host, port = served
    padding = "a" * 10_000  # under the default of 16 KiB
    request = urllib.request.Request(f"http://{host}:{port}/healthz", headers={"X-Pad": padding})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
