"""The council report: the PDF's pages and text (poppler), its map rendered, HTML with axe, CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image, ImageStat
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.cli import app
from service.core.settings import PROJECT_ROOT, Settings
from service.main import create_app
from service.maps.printmap import MIN_PT
from service.maps.report import Report, build_report
from service.maps.report_pdf import report_figures
from tests.helpers import axe_report, axe_violations

ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: `make test` installs the Debian package poppler-utils")
    return found


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def _pages(pdf: Path) -> list[str]:
    """The text of every page, spaces normalised (no-break spaces included)."""
    text = _run(_tool("pdftotext"), "-layout", str(pdf), "-")
    return [" ".join(page.replace("\u00a0", " ").split()) for page in text.split("\f")[:-1]]


A4 = (595.3, 841.9)  # points


def _size(line: str) -> tuple[float, float]:
    """'Page    1 size:  841.92 x 595.2 pts (A4)' → (841.92, 595.2)."""
    found = re.search(r"size:\s+([0-9.]+) x ([0-9.]+) pts", line)
    assert found is not None, line
    return float(found[1]), float(found[2])


def _german(value: int) -> str:
    return f"{value:,}".replace(",", ".")


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory, settings: Settings, coesfeld: object) -> Path:
    with TestClient(create_app(settings)) as client:
        response = client.get("/report.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    path = tmp_path_factory.mktemp("report") / "bericht.pdf"
    path.write_bytes(response.content)
    return path


@pytest.fixture
def report(db: Session, coesfeld: object) -> Report:
    return build_report(db, None, None, 0.40)


def test_the_pdf_has_map_table_and_chart_pages_with_metadata(pdf: Path) -> None:
    info = _run(_tool("pdfinfo"), "-f", "1", "-l", "99", str(pdf))
    assert "Title:           Glasfaserausbau in Coesfeld – Sachstandsbericht" in info
    assert "Author:          Broadband coverage service" in info
    assert "CreationDate:" in info
    sizes = [
        _size(line) for line in info.splitlines() if line.startswith("Page ") and " size:" in line
    ]
    assert sizes[0] == pytest.approx(A4[::-1], abs=1)  # the map: A4 landscape
    assert all(size == pytest.approx(A4, abs=1) for size in sizes[1:])  # the rest: A4 portrait
    pages = _pages(pdf)
    assert len(pages) == len(sizes) >= 3
    assert "Legende" in pages[0] and "Maßstab" in pages[0]
    assert "Adressen je Ortsteil" in " ".join(pages[1:-1])
    assert "Zeitverlauf" in pages[-1] and "Quellen" in pages[-1]


def test_the_pdf_states_the_figures_of_coverage(pdf: Path, client: TestClient) -> None:
    text = " ".join(_pages(pdf))
    figure = client.get("/coverage").json()["addresses"]
    share = f"{figure['share_pct']:.2f}".replace(".", ",")
    assert "Glasfaserausbau in Coesfeld – Sachstandsbericht" in text
    assert f"{share} % der Adressen erschlossen" in text
    assert f"{_german(figure['numerator'])} von {_german(figure['denominator'])} Adressen" in text
    district = client.get("/coverage/districts").json()[0]
    assert district["name"] in text
    assert _german(district["addresses"]["denominator"]) in text
    hamlets = client.get("/coverage/hamlets").json()
    assert all(hamlet["name"] in text for hamlet in hamlets)
    assert "Breitbandatlas" in text and "Näherungen" in text


def test_every_area_and_hamlet_is_named_on_the_map_page(pdf: Path, client: TestClient) -> None:
    """By its name on the map, or by a number the key beside the map explains."""
    page = _pages(pdf)[0]
    for collection in ("areas", "hamlets"):
        items = client.get(f"/collections/{collection}/items", params={"limit": 1000}).json()
        for feature in items["features"]:
            assert feature["properties"]["name"] in page


def test_the_map_page_renders_with_content(pdf: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = ARTIFACTS / "report-map"
    _run(
        _tool("pdftoppm"),
        "-png",
        "-r",
        "60",
        "-f",
        "1",
        "-l",
        "1",
        "-singlefile",
        str(pdf),
        str(prefix),
    )
    image = Image.open(prefix.with_suffix(".png")).convert("L")
    assert image.size == (702, 496)  # A4 landscape at 60 dpi
    assert ImageStat.Stat(image).stddev[0] > 40  # not blank: shapes, labels and legend
    coloured = sum(image.histogram()[:200]) / (image.size[0] * image.size[1])
    assert coloured > 0.1


def _texts(figure: Figure) -> list[Text]:
    texts = [t for t in figure.findobj(Text) if t.get_text().strip()]
    for ax in figure.axes:
        for table in ax.tables:
            texts += [cell.get_text() for cell in table.get_celld().values()]
    return texts


def test_every_text_of_every_page_is_at_least_9_pt(report: Report) -> None:
    figures = report_figures(report)
    assert len(figures) >= 3
    for number, figure in enumerate(figures, start=1):
        small = [
            (t.get_text(), t.get_fontsize())
            for t in _texts(figure)
            if float(t.get_fontsize()) < MIN_PT
        ]
        assert small == [], f"page {number}"


def test_the_legend_lies_beside_the_map_not_over_it(report: Report) -> None:
    figure = report_figures(report)[0]
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    map_box = figure.axes[0].get_window_extent(renderer)
    assert figure.legends
    for legend in figure.legends:
        box = legend.get_window_extent(renderer)
        assert box.x0 > map_box.x1
    assert map_box.width / figure.bbox.width > 0.4


def test_the_report_page_is_german_printable_and_keeps_the_csp(
    client: TestClient, coesfeld: object
) -> None:
    response = client.get("/report", params={"as_of": "2021-11-01"})
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page = response.text
    assert 'lang="de"' in page and "<script" not in page
    assert 'Stand: <time datetime="2021-11-01">01.11.2021</time>' in page
    assert "/map.png?as_of=2021-11-01" in page
    assert "data:image/svg+xml;base64," in page
    assert client.get("/map.png", params={"as_of": "2021-11-01"}).status_code == 200
    assert client.get("/report", params={"as_of": "gestern"}).status_code == 400


@pytest.fixture
def report_page(browser: Browser, service_url: str) -> Iterator[object]:
    context = browser.new_context(bypass_csp=True, locale="de-DE")
    page = context.new_page()
    page.goto(f"{service_url}/report", wait_until="load")
    yield page
    context.close()


def test_the_report_page_has_no_wcag_violations(report_page: object) -> None:
    assert isinstance(report_page, Page)
    assert report_page.locator("img").first.evaluate("img => img.naturalWidth") == 1754
    violations = axe_violations(report_page)
    assert violations == [], axe_report(violations)


def test_the_command_writes_the_same_pdf(pdf: Path, settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url is not None
    out = tmp_path / "bericht.pdf"
    result = CliRunner().invoke(
        app, ["report", "--out", str(out)], env={"DATABASE_URL": settings.database_url}
    )
    assert result.exit_code == 0, result.output
    assert _pages(out) == _pages(pdf)
