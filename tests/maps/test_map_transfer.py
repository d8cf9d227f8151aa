"""What Chromium transfers for `/map`: at most 100 KB at first, then only revalidations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page

FIRST_VISIT_BUDGET = 100 * 1024


@dataclass
class Load:
    """One page load as the browser's network panel sees it."""

    transferred: dict[str, int] = field(default_factory=dict)  # request id → bytes on the wire
    urls: dict[str, str] = field(default_factory=dict)
    wire_status: dict[str, int] = field(default_factory=dict)  # only requests that went out

    @property
    def total(self) -> int:
        return sum(self.transferred.values())

    def from_network(self) -> dict[str, int]:
        """URL → status on the wire (304 too) of the requests that reached the service."""
        return {self.urls[r]: status for r, status in self.wire_status.items() if r in self.urls}


class Network:
    """Chromium's network events (DevTools protocol), collected per page load."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.load = Load()
        cdp: CDPSession = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.responseReceived", self._response)
        # Sent only for requests that went over the network, with the status as sent (304);
        # what the page sees of a revalidated response is the cached 200.
        cdp.on("Network.responseReceivedExtraInfo", self._wire)
        cdp.on("Network.loadingFinished", self._finished)
        self.page = page

    def _response(self, event: dict[str, Any]) -> None:
        self.load.urls[event["requestId"]] = event["response"]["url"]

    def _wire(self, event: dict[str, Any]) -> None:
        self.load.wire_status[event["requestId"]] = int(event["statusCode"])

    def _finished(self, event: dict[str, Any]) -> None:
        self.load.transferred[event["requestId"]] = int(event["encodedDataLength"])

    def visit(self, url: str) -> Load:
        """Open the map and wait until it is drawn and the network is quiet."""
        self.load = Load()
        self.page.goto(url, wait_until="load")
        self.page.locator(".leaflet-overlay-pane svg path").first.wait_for()
        self.page.wait_for_load_state("networkidle")
        return self.load


@pytest.fixture
def network(browser: Browser) -> Iterator[Network]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    yield Network(context, context.new_page())
    context.close()


def test_first_visit_is_small_and_a_repeat_visit_only_revalidates(
    service_url: str, network: Network
) -> None:
    first = network.visit(service_url + "/map")
    assets = [url for url in first.urls.values() if "/static/" in url]
    print(f"\n/map first visit: {first.total} bytes in {len(first.urls)} requests")
    for rid, url in first.urls.items():
        print(f"  {first.transferred.get(rid, 0):>7} {url}")
    assert first.total <= FIRST_VISIT_BUDGET
    assert len(assets) >= 4  # Leaflet's script and style, the map's own script and style
    assert set(first.from_network().values()) == {200}

    repeat = network.visit(service_url + "/map")
    print(f"/map repeat visit: {repeat.total} bytes; reached the service: {repeat.from_network()}")
    reached = repeat.from_network()
    assert not [url for url in reached if "/static/" in url]  # every asset from the cache
    assert set(reached.values()) <= {304}  # the page itself: revalidated by its ETag
    assert repeat.total < 2 * 1024
