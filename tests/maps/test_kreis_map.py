"""The map and its text view of a Kreis: one figure per municipality, worked out by hand.

Generated towns (tests/kreis.py): Westdorf 3 connected addresses of 7, Mittelbach 4 of 9,
Ostheim 2 of 4; the Kreis 9 of 20.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient

FIGURES = {
    "05990001": ("Westdorf", 3, 7, "42,86 %"),
    "05990002": ("Mittelbach", 4, 9, "44,44 %"),
    "05990004": ("Ostheim", 2, 4, "50,00 %"),
}


class _Rows(HTMLParser):
    """The `data-*` attributes of every element that has `data-unit`."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k[5:]: v or "" for k, v in attrs if k.startswith("data-")}
        if "unit" in found:
            self.rows.append(found)


def _layers(page: str) -> dict[str, list[dict[str, object]]]:
    """The features of each layer, as the page hands them to Leaflet."""
    collections = re.findall(r'geo_json_\w+_add\((\{"features".*?\})\);', page, re.S)
    found: dict[str, list[dict[str, object]]] = {}
    for collection in collections:
        for feature in json.loads(collection)["features"]:
            found.setdefault(feature["properties"]["layer"], []).append(feature)
    return found


def _town_features(page: str) -> list[dict[str, object]]:
    """The municipalities' GeoJSON on a Kreis map."""
    return _layers(page)["towns"]


def _longitudes(geometry: object) -> list[float]:
    """Every x of a GeoJSON Polygon or MultiPolygon."""
    assert isinstance(geometry, dict) and geometry["type"] in ("Polygon", "MultiPolygon")
    text = json.dumps(geometry["coordinates"])
    return [float(x) for x in re.findall(r"\[(-?[0-9.]+), -?[0-9.]+\]", text)]


def test_the_kreis_map_shows_one_figure_per_municipality(kreis: str, client: TestClient) -> None:
    response = client.get("/map", params={"ags": kreis})
    assert response.status_code == 200
    page = response.text
    assert "Glasfaserausbau in Kreis 05990 – Karte" in page
    assert "45,00 %" in page and "9 von 20 Adressen" in page  # the Kreis's headline
    features = _town_features(page)
    assert [f["id"] for f in features] == list(FIGURES)
    for feature in features:
        props = feature["properties"]
        assert isinstance(props, dict)
        name, connected, total, share = FIGURES[str(feature["id"])]
        assert props["name"] == name
        assert props["share_text"] == share
        assert props["counts_text"] == f"{connected} von {total}"
        link = f"/map?ags={feature['id']}"
        assert f'<a href="{link}">{name}</a>: {share} ({connected} von {total} Adressen)' in page
    # Each outline is its own town's: they lie side by side, west to east in AGS order.
    west = [min(_longitudes(feature["geometry"])) for feature in features]
    assert west == sorted(west) and len(set(west)) == 3
    assert 'id="bb-search"' not in page  # an address search spans one municipality only
    assert 'href="/map/tabelle?ags=05990"' in page


def test_the_embedded_kreis_map_links_to_embedded_town_maps(kreis: str, client: TestClient) -> None:
    page = client.get("/map/embed", params={"ags": kreis, "as_of": "2022-06-01"}).text
    assert '<a href="/map/embed?ags=05990001&amp;as_of=2022-06-01">Westdorf</a>' in page


def test_the_kreis_text_view_lists_every_municipality(kreis: str, client: TestClient) -> None:
    response = client.get("/map/tabelle", params={"ags": kreis})
    assert response.status_code == 200
    parser = _Rows()
    parser.feed(response.text)
    towns = [row for row in parser.rows if row["unit"] == "towns"]
    assert [
        (row["ags"], row["name"], int(row["numerator"]), int(row["denominator"])) for row in towns
    ] == [(ags, name, c, t) for ags, (name, c, t, _) in FIGURES.items()]
    headline = next(row for row in parser.rows if row["unit"] == "municipality")
    assert (headline["numerator"], headline["denominator"]) == ("9", "20")
    assert not [row for row in parser.rows if row["unit"] in ("districts", "areas")]


def test_a_town_map_keeps_its_features_and_searches_its_own_addresses(
    kreis: str, client: TestClient
) -> None:
    page = client.get("/map", params={"ags": "05558012"}).text
    assert '"lookupUrl": "/lookup?ags=05558012"' in page
    layers = _layers(page)
    assert "towns" not in layers and {"areas", "hamlets", "schools"} <= set(layers)
    assert {str(f["properties"]["name"]) for f in layers["areas"]} >= {"Kernstadt Süd"}  # type: ignore[index]
    answer = client.get("/lookup", params={"ags": "05558012", "q": "Marktplatz 1"})
    assert answer.status_code == 200 and answer.json()["matches"]


def test_kreis_and_town_maps_are_cached_apart(kreis: str, client: TestClient) -> None:
    town = client.get("/map", params={"ags": "05558012"})
    region = client.get("/map", params={"ags": "05558"})
    assert town.headers["etag"] != region.headers["etag"]
    assert "Glasfaserausbau in Coesfeld – Karte" in town.text
    assert "Glasfaserausbau in Kreis 05558 – Karte" in region.text
