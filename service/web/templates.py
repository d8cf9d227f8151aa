"""Jinja2 templates of the server-rendered pages, autoescaped; `url_for` builds their links."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).parents[1] / "templates"

templates = Jinja2Templates(directory=TEMPLATES_DIR)
