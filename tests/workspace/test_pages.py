"""The workspace pages over HTTP: overview, edit form, preview, conflicts, history, rights."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.workspace.conftest import ADMIN, EDITOR, SIGN_IN
from tests.workspace.helpers import area_with_addresses, hidden, put_back, stored


def sign_in(client: TestClient, name: str, password: str) -> None:
    """Load the sign-in form and send it back with its token, as a browser does."""
    token = hidden(client.get(SIGN_IN).text, "csrf_token")
    response = client.post(
        SIGN_IN,
        data={"name": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def editor(client: TestClient, workspace_users: dict[str, str]) -> TestClient:
    """The test client, signed in as the editor."""
    sign_in(client, EDITOR, workspace_users[EDITOR])
    return client


@pytest.fixture
def area(factory: sessionmaker[Session], coesfeld: object) -> Iterator[tuple[int, str, str]]:
    """An area with unconnected addresses; its values are written back after the test."""
    found = area_with_addresses(factory)
    with put_back(factory, "areas", found[0]):
        yield found


def _form(client: TestClient, layer: str, fid: int) -> dict[str, str]:
    """Every field of the edit form as the browser would send it unchanged."""
    page = client.get(f"/redaktion/{layer}/{fid}")
    assert page.status_code == 200, page.text
    values = dict(re.findall(r'<input[^>]* name="([a-z_-]+)"[^>]* value="([^"]*)"', page.text))
    for name, body in re.findall(
        r'<select[^>]* name="([a-z_]+)"[^>]*>(.*?)</select>', page.text, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        values[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(
        r'<textarea[^>]* name="([a-z_]+)"[^>]*>(.*?)</textarea>', page.text, re.S
    ):
        values[name] = body
    values.pop("approximate", None)
    if re.search(r'name="approximate"[^>]* checked', page.text):
        values["approximate"] = "true"
    return values


def _headline(client: TestClient) -> dict[str, int]:
    figure: dict[str, int] = client.get("/coverage").json()["addresses"]
    return figure


def _csp_ok(headers: Mapping[str, str]) -> None:
    policy = headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "script-src 'self'" in policy


def test_overview_sends_strangers_to_sign_in(client: TestClient, coesfeld: object) -> None:
    response = client.get("/redaktion", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{SIGN_IN}?next=")


def test_overview_lists_layers_with_addresses_and_filters(editor: TestClient) -> None:
    page = editor.get("/redaktion")
    assert page.status_code == 200
    _csp_ok(page.headers)
    for title in ("Ausbaugebiete", "Bauerschaften", "Schulen", "Auf der Karte bearbeiten"):
        assert title in page.text
    assert page.text.count("<caption>") == 3
    assert 'href="/redaktion/verlauf"' in page.text and 'lang="de"' in page.text
    assert "style=" not in page.text and "<script>" not in page.text
    filtered = editor.get(
        "/redaktion", params={"status": "insufficient_demand", "kind": "settlement"}
    )
    body = filtered.text.split("<h2", 2)[1]  # the areas table
    assert "Nachfrage nicht ausreichend" in body and "erschlossen</td>" not in body
    ordered = editor.get("/redaktion", params={"sort": "-addresses"})
    areas = ordered.text.split('id="h-areas"')[1].split("</table>")[0]
    counts = [int(n) for n in re.findall(r'<td class="zahl">(\d+)</td>\s*<td class="zahl">', areas)]
    assert counts == sorted(counts, reverse=True) and len(counts) > 3


def test_preview_shows_the_exact_effect_and_saving_changes_coverage(
    editor: TestClient, factory: sessionmaker[Session], area: tuple[int, str, str]
) -> None:
    fid, name, _status = area
    before = _headline(editor)
    values = _form(editor, "areas", fid) | {"status": "connected"}
    preview = editor.post(f"/redaktion/areas/{fid}", data={**values, "action": "preview"})
    assert preview.status_code == 200, preview.text
    found = re.search(
        rf"{re.escape(name)} → erschlossen: \+([\d.]+) Adressen, ([\d,]+) % → ([\d,]+) %",
        preview.text,
    )
    assert found, preview.text
    assert _headline(editor) == before  # the preview stored nothing
    assert stored(factory, "areas", fid)["status"] != "connected"
    saved = editor.post(
        f"/redaktion/areas/{fid}", data={**values, "action": "save"}, follow_redirects=False
    )
    assert saved.status_code == 303
    after = _headline(editor)
    assert after["numerator"] - before["numerator"] == int(found.group(1).replace(".", ""))
    assert f"{after['share_pct']:.2f}".replace(".", ",") == found.group(3)
    assert stored(factory, "areas", fid)["status"] == "connected"


def test_field_messages_come_from_the_api_validation(
    editor: TestClient, factory: sessionmaker[Session], area: tuple[int, str, str]
) -> None:
    fid = area[0]
    version = stored(factory, "areas", fid)["version"]
    values = _form(editor, "areas", fid) | {"name": "", "kind": "industrial"}
    response = editor.post(f"/redaktion/areas/{fid}", data={**values, "action": "save"})
    assert response.status_code == 422
    assert 'aria-describedby="fehler-name"' in response.text
    assert 'id="fehler-kind"' in response.text and "allowed: settlement" in response.text
    assert stored(factory, "areas", fid)["version"] == version


def test_a_stale_form_gets_the_conflict_page_and_can_apply_on_top(
    editor: TestClient, factory: sessionmaker[Session], area: tuple[int, str, str]
) -> None:
    fid = area[0]
    mine = _form(editor, "areas", fid) | {"provider": "Mein Anbieter"}
    theirs = _form(editor, "areas", fid) | {"notes": "von nebenan"}
    assert (
        editor.post(
            f"/redaktion/areas/{fid}", data={**theirs, "action": "save"}, follow_redirects=False
        ).status_code
        == 303
    )
    conflict = editor.post(f"/redaktion/areas/{fid}", data={**mine, "action": "save"})
    assert conflict.status_code == 409
    assert "nicht</strong> gespeichert" in conflict.text and EDITOR in conflict.text
    assert "von nebenan" in conflict.text and "Mein Anbieter" in conflict.text
    assert stored(factory, "areas", fid)["provider"] != "Mein Anbieter"
    new_version = int(hidden(conflict.text, "version"))
    assert new_version == stored(factory, "areas", fid)["version"]
    again = dict(
        re.findall(r'<input type="hidden" name="([a-z_-]+)" value="([^"]*)"', conflict.text)
    )
    assert again["notes"] == "von nebenan"  # their change to another field is kept
    applied = editor.post(
        f"/redaktion/areas/{fid}", data={**again, "action": "save"}, follow_redirects=False
    )
    assert applied.status_code == 303
    assert stored(factory, "areas", fid)["provider"] == "Mein Anbieter"
    assert stored(factory, "areas", fid)["notes"] == "von nebenan"


def test_restore_writes_one_new_change(
    editor: TestClient, factory: sessionmaker[Session], area: tuple[int, str, str]
) -> None:
    fid = area[0]
    first = _form(editor, "areas", fid)
    editor.post(
        f"/redaktion/areas/{fid}", data={**first, "notes": "Zwischenstand", "action": "save"}
    )
    history = editor.get(f"/redaktion/areas/{fid}/verlauf")
    assert history.status_code == 200 and "Zwischenstand" in history.text
    # each entry links to the public map of its day, that day's changes outlined
    with factory() as session:
        today = session.execute(text("SELECT current_date")).scalar_one()
    yesterday = today - dt.timedelta(days=1)
    link = f'href="/map?as_of={today.isoformat()}&amp;compare={yesterday.isoformat()}"'
    assert link in history.text
    shown = editor.get(f"/map?as_of={today.isoformat()}&compare={yesterday.isoformat()}")
    assert shown.status_code == 200
    ids = re.findall(r'name="change_id" value="(\d+)"', history.text)
    assert ids, history.text
    count = editor.get("/changes", params={"collection": "areas", "feature": fid}).json()[
        "numberMatched"
    ]
    restored = editor.post(
        f"/redaktion/areas/{fid}/wiederherstellen",
        data={
            "change_id": ids[0],
            "version": hidden(history.text, "version"),
            "csrf_token": first["csrf_token"],
        },
        follow_redirects=False,
    )
    assert restored.status_code == 303, restored.text
    after = editor.get("/changes", params={"collection": "areas", "feature": fid}).json()[
        "numberMatched"
    ]
    assert after == count + 1
    assert stored(factory, "areas", fid)["notes"] == (first.get("notes") or None)
    town = editor.get("/redaktion/verlauf")
    assert town.status_code == 200 and "Zwischenstand" in town.text


def test_a_form_without_csrf_token_is_refused(
    editor: TestClient, factory: sessionmaker[Session], area: tuple[int, str, str]
) -> None:
    fid = area[0]
    version = stored(factory, "areas", fid)["version"]
    values = _form(editor, "areas", fid) | {"status": "connected", "action": "save"}
    del values["csrf_token"]
    assert editor.post(f"/redaktion/areas/{fid}", data=values).status_code == 403
    assert stored(factory, "areas", fid)["version"] == version


def test_a_write_after_sign_out_is_refused(
    editor: TestClient, factory: sessionmaker[Session], area: tuple[int, str, str]
) -> None:
    fid = area[0]
    version = stored(factory, "areas", fid)["version"]
    values = _form(editor, "areas", fid) | {"status": "connected", "action": "save"}
    editor.post("/redaktion/abmelden", data={"csrf_token": values["csrf_token"]})
    response = editor.post(f"/redaktion/areas/{fid}", data=values, follow_redirects=False)
    assert response.status_code in (401, 403)
    assert stored(factory, "areas", fid)["version"] == version


def test_an_editor_may_not_open_districts_an_admin_may(
    client: TestClient, workspace_users: dict[str, str], factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        district = session.execute(text("SELECT min(id) FROM districts")).scalar_one()
    sign_in(client, EDITOR, workspace_users[EDITOR])
    refused = client.get(f"/redaktion/districts/{district}")
    assert refused.status_code == 403 and "Keine Berechtigung" in refused.text
    _csp_ok(refused.headers)
    client.cookies.clear()
    sign_in(client, ADMIN, workspace_users[ADMIN])
    assert client.get(f"/redaktion/districts/{district}").status_code == 200


def test_restoring_a_status_dates_it_today_and_keeps_the_history(
    editor: TestClient, factory: sessionmaker[Session], area: tuple[int, str, str]
) -> None:
    fid, _name, status = area
    before = stored(factory, "areas", fid)
    first = _form(editor, "areas", fid)
    editor.post(f"/redaktion/areas/{fid}", data={**first, "status": "connected", "action": "save"})
    with factory() as session:
        today = session.execute(text("SELECT current_date")).scalar_one()
        versions = session.execute(
            text(
                "SELECT count(*) FROM status_history "
                "WHERE feature_table = 'areas' AND feature_id = :i"
            ),
            {"i": fid},
        ).scalar_one()
    assert stored(factory, "areas", fid)["status_since"] == today
    history = editor.get(f"/redaktion/areas/{fid}/verlauf")
    ids = re.findall(r'name="change_id" value="(\d+)"', history.text)
    restored = editor.post(
        f"/redaktion/areas/{fid}/wiederherstellen",
        data={
            "change_id": ids[0],
            "version": hidden(history.text, "version"),
            "csrf_token": first["csrf_token"],
        },
        follow_redirects=False,
    )
    assert restored.status_code == 303, restored.text
    now = stored(factory, "areas", fid)
    assert now["status"] == status
    assert now["status_since"] == today != before["status_since"]  # restored today, not back-dated
    with factory() as session:
        earlier = session.execute(
            text(
                "SELECT count(*) FROM status_history "
                "WHERE feature_table = 'areas' AND feature_id = :i AND status_since < :d"
            ),
            {"i": fid, "d": today},
        ).scalar_one()
    assert earlier == versions - 1  # every version before today is still there
