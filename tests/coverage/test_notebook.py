"""The notebook GIS staff start from runs against a real service, so it cannot go stale."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

from service.core.settings import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


def _read(path: Path) -> NotebookNode:
    # nbformat.read carries no annotations.
    read = cast(Callable[..., NotebookNode], nbformat.read)
    return read(path, as_version=4)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_against_the_service(
    path: Path, service_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROADBAND_URL", service_url)
    notebook = _read(path)
    NotebookClient(notebook, timeout=180, kernel_name="python3").execute()
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    images = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) >= 2


def test_notebooks_are_committed_without_outputs() -> None:
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        notebook = _read(path)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
