"""The demand quota is edited like any other field: in the workspace form and over the OGC API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.workspace.test_pages import editor

__all__ = ["editor"]  # the signed-in client fixture, shared with test_pages.py
SQUARE = [[7.19, 51.96], [7.191, 51.96], [7.191, 51.961], [7.19, 51.961], [7.19, 51.96]]


def _hamlet(factory: sessionmaker[Session], name: str) -> int:
    with factory() as session:
        found: int = session.execute(
            text("SELECT id FROM hamlets WHERE name = :n"), {"n": name}
        ).scalar_one()
        return found


def test_the_workspace_form_offers_the_quota_with_a_german_label(
    editor: TestClient, factory: sessionmaker[Session]
) -> None:
    page = editor.get(f"/redaktion/hamlets/{_hamlet(factory, 'Beikel')}").text
    assert "Mindestquote Nachfrage" in page
    assert 'name="demand_quota"' in page


@pytest.mark.usefixtures("restore")
def test_a_quota_set_over_the_api_replaces_the_default(
    client: TestClient, tokens: dict[str, str]
) -> None:
    hamlet = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[7.19, 51.96], [7.191, 51.96], [7.191, 51.961], [7.19, 51.961], [7.19, 51.96]]
            ],
        },
        "properties": {
            "name": "Quotenhof",
            "status": "insufficient_demand",
            "status_since": "2024-05-01",
            "demand_share": 0.30,
        },
    }
    auth = {"Authorization": f"Bearer {tokens['admin']}"}
    created = client.post("/collections/hamlets/items", json=hamlet, headers=auth)
    assert created.status_code == 201, created.text
    url = f"/collections/hamlets/items/{created.json()['id']}"
    before = {u["name"]: u for u in client.get("/coverage/hamlets").json()}["Quotenhof"]
    assert before["demand_quota_default"] is True
    etag = client.get(url).headers["etag"]
    changed = client.patch(
        url, json={"properties": {"demand_quota": 0.55}}, headers={**auth, "If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["properties"]["demand_quota"] == 0.55
    after = {u["name"]: u for u in client.get("/coverage/hamlets").json()}["Quotenhof"]
    assert (after["demand_quota"], after["demand_quota_default"]) == (0.55, False)
    refused = client.patch(
        url,
        json={"properties": {"demand_quota": 1.5}},
        headers={**auth, "If-Match": changed.headers["etag"]},
    )
    assert refused.status_code in (400, 422)
    assert "demand_quota" in refused.text
