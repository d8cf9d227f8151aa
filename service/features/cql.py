"""CQL2 filters (text and JSON, OGC API Features Part 3) to SQL, via pygeofilter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput
from pygeofilter import ast
from pygeofilter.backends.evaluator import handle
from pygeofilter.backends.sqlalchemy.evaluate import SQLAlchemyFilterEvaluator
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from pygeofilter.values import Envelope, Geometry
from shapely.geometry import shape
from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

from service.core.crs import STORAGE_SRID, Crs
from service.core.errors import BadRequestError

TEXT_LANGUAGES = ("cql2-text", "cql-text")  # GDAL before 3.7 announces and sends `cql-text`
JSON_LANGUAGES = ("cql2-json",)
LANGUAGES = TEXT_LANGUAGES + JSON_LANGUAGES
MAX_LENGTH = 20_000
MAX_DEPTH = 100


def _bad(message: str, field: str = "filter") -> BadRequestError:
    return BadRequestError.about(field, message)


def _syntax_error(error: LarkError) -> str:
    if isinstance(error, UnexpectedCharacters):
        return f"CQL2 syntax error at column {error.column}: unexpected character {error.char!r}"
    if isinstance(error, UnexpectedInput):
        token = getattr(error, "token", None)
        found = "end of input" if token is None or token.type == "$END" else repr(str(token))
        return f"CQL2 syntax error at column {error.column}: unexpected {found}"
    return f"CQL2 syntax error: {error}"


def _bbox_polygon(corners: list[Any]) -> dict[str, Any]:
    """A CQL2 bbox `[w, s, e, n]` (or with heights) as a GeoJSON polygon."""
    if len(corners) == 6:
        corners = [corners[0], corners[1], corners[3], corners[4]]
    if len(corners) != 4 or not all(isinstance(c, int | float) for c in corners):
        raise ValueError(f"a bbox has 4 (or 6) numbers, got {corners!r}")
    w, s, e, n = corners
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _with_polygons(node: Any) -> Any:
    """pygeofilter reads `{"bbox": [w, s, e, n]}` in the wrong corner order; pass a polygon."""
    if isinstance(node, list):
        return [_with_polygons(item) for item in node]
    if isinstance(node, dict):
        if set(node) == {"bbox"} and isinstance(node["bbox"], list):
            return _bbox_polygon(node["bbox"])
        return {key: _with_polygons(value) for key, value in node.items()}
    return node


def _parse_json(text: str) -> Any:
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, ValueError) as exc:
        raise _bad(f"CQL2 JSON is not valid JSON: {exc}") from exc
    try:
        return parse_json(_with_polygons(document))
    except Exception as exc:  # pygeofilter raises ValueError, KeyError … or a bare Exception
        raise _bad(f"not a CQL2 JSON expression: {exc}") from exc


def parse(text: str, language: str | None) -> Any:
    """Parse a filter into pygeofilter's AST; a syntax error names the column."""
    language = language or "cql2-text"  # exactly as the API description lists them
    if language not in LANGUAGES:
        raise _bad(f"unknown filter-lang {language!r}; supported: {list(LANGUAGES)}", "filter-lang")
    if len(text) > MAX_LENGTH:
        raise _bad(f"longer than {MAX_LENGTH:,} characters")
    try:
        if language in JSON_LANGUAGES:
            return _parse_json(text)
        return parse_text(text)
    except LarkError as exc:
        raise _bad(_syntax_error(exc)) from exc
    except (ValueError, TypeError) as exc:
        raise _bad(f"invalid CQL2 text: {exc}") from exc
    except RecursionError as exc:
        raise _bad("nested too deeply") from exc


def attributes(node: Any) -> tuple[set[str], int]:
    """Every property a filter names, and how deeply it nests (walked without recursion)."""
    names: set[str] = set()
    deepest = 0
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(current, ast.Attribute):
            names.add(current.name)
        elif isinstance(current, list | tuple):
            stack.extend((item, depth) for item in current)
        elif isinstance(current, ast.Node):
            stack.extend((sub, depth + 1) for sub in current.get_sub_nodes())
    return names, deepest


class _Evaluator(SQLAlchemyFilterEvaluator):  # type: ignore[misc]
    """pygeofilter's SQLAlchemy backend, with geometry literals brought into the storage CRS."""

    def __init__(self, mapping: Mapping[str, Any], crs: Crs) -> None:
        super().__init__(dict(mapping), undefined_as_null=False)
        self.crs = crs

    def _stored(self, wkt: str) -> Any:
        literal = func.ST_GeomFromText(wkt, self.crs.srid)
        if self.crs.lat_first:
            literal = func.ST_FlipCoordinates(literal)
        return func.ST_Transform(literal, STORAGE_SRID)

    @handle(Geometry)
    def geometry(self, node: Geometry) -> Any:
        return self._stored(shape(node.__geo_interface__).wkt)

    @handle(Envelope)
    def envelope(self, node: Envelope) -> Any:
        return self._stored(_box_wkt(node.x1, node.y1, node.x2, node.y2))

    @handle(ast.BBox)
    def bbox(self, node: ast.BBox, lhs: Any) -> Any:
        return lhs.ST_Intersects(self._stored(_box_wkt(node.minx, node.miny, node.maxx, node.maxy)))

    @handle(ast.Function)
    def function(self, node: ast.Function, *arguments: Any) -> Any:
        """CQL2 text writes a bbox literal as `BBOX(w, s, e, n)`, which parses as a function."""
        if node.name.lower() == "bbox":
            polygon = _bbox_polygon(list(arguments))
            return self._stored(shape(polygon).wkt)
        return super().function(node, *arguments)


def _box_wkt(x1: float, y1: float, x2: float, y2: float) -> str:
    return f"POLYGON(({x1} {y1},{x2} {y1},{x2} {y2},{x1} {y2},{x1} {y1}))"


def to_sql(node: Any, columns: Mapping[str, Any], crs: Crs, collection: str) -> ColumnElement[bool]:
    """Translate a parsed filter; unknown properties are named with the queryables."""
    names, depth = attributes(node)
    if depth > MAX_DEPTH:
        raise _bad(f"nested {depth} levels deep; at most {MAX_DEPTH} are allowed")
    unknown = sorted(names - set(columns))
    if unknown:
        allowed = ", ".join(columns)
        raise _bad(
            f"unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} "
            f"in {collection}; queryables: {allowed}"
        )
    try:
        expression: ColumnElement[bool] = _Evaluator(columns, crs).evaluate(node)
    except (KeyError, ValueError, TypeError, AttributeError, NotImplementedError) as exc:
        raise _bad(f"this filter is not supported: {exc}") from exc
    except RecursionError as exc:
        raise _bad("nested too deeply") from exc
    return expression
