"""Helpers the tests share: a throwaway cluster, a served process, a fingerprint of the data."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.settings import PROJECT_ROOT, Settings
from service.ops import cluster, processes


class TemporaryCluster(cluster.TemporaryCluster):
    """A cluster of the test's own; skipped where no PostgreSQL server binaries are installed."""

    def __init__(self) -> None:
        if cluster.server_binaries() is None:
            pytest.skip("needs local PostgreSQL server binaries with PostGIS")
        super().__init__()


def snapshot(session: Session) -> tuple[object, ...]:
    """A fingerprint of every feature table and the change log, to prove nothing was written."""
    parts = []
    for table in ("municipality", "districts", "areas", "hamlets", "schools", "addresses"):
        parts.append(
            session.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) "
                    f"FROM {table} t"
                )
            ).one()
        )
    parts.append(session.execute(text("SELECT count(*), max(id) FROM changes")).one())
    return tuple(parts)


CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = (
    "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
    ".then((result) => result.violations.map((v) => ({"
    "id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target)"
    "})))"
)


def axe_source() -> str:
    """axe-core's browser bundle as `npm ci` installs it (a devDependency in package.json)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` (as `make test` does) to install axe-core")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """WCAG 2.1 A/AA violations axe-core finds on the page as it is now.

    The page's context must be opened with `bypass_csp=True`: a CSP without 'unsafe-inline'
    rightly blocks the injected script; the CSP the service sends is checked by other tests.
    """
    page.add_script_tag(content=axe_source())
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE, WCAG_21_AA)
    return found


def axe_report(violations: list[dict[str, Any]]) -> str:
    """One line per violation: rule, impact, what it asks, the first places it was found."""
    return "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} – {v['targets']}" for v in violations
    )


def serve_process(settings: Settings, workers: int = 1, **env: str) -> processes.Served:
    """`broadband serve` as an operator starts it, on the test database; returns once ready."""
    assert settings.database_url is not None
    try:
        return processes.serve(settings.database_url, workers, env)
    except processes.ServeStartError as failed:
        pytest.fail(str(failed))


def stop_process(served: processes.Served) -> None:
    """SIGTERM, as an orchestrator stops it; killed if it does not stop in time."""
    served.stop()
