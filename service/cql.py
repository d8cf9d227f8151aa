"""CQL2 filters (text and JSON, OGC API Features Part 3) to SQL, via pygeofilter."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
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

from service.crs import STORAGE_SRID, Crs
from service.errors import BadRequestError, Problem

TEXT_LANGUAGES = ("cql2-text", "cql-text")  # GDAL before 3.7 announces and sends `cql-text`
JSON_LANGUAGES = ("cql2-json",)
LANGUAGES = TEXT_LANGUAGES + JSON_LANGUAGES


def _bad(message: str, field: str = "filter") -> BadRequestError:
    return BadRequestError([Problem("request", None, field, message)], f"invalid {field}")


def _syntax_error(error: LarkError) -> str:
    if isinstance(error, UnexpectedCharacters):
        return f"CQL2 syntax error at column {error.column}: unexpected character {error.char!r}"
    if isinstance(error, UnexpectedInput):
        token = getattr(error, "token", None)
        found = "end of input" if token is None or token.type == "$END" else repr(str(token))
        return f"CQL2 syntax error at column {error.column}: unexpected {found}"
    return f"CQL2 syntax error: {error}"


def parse(text: str, language: str | None) -> Any:
    """Parse a filter into pygeofilter's AST; a syntax error names the column."""
    language = (language or "cql2-text").lower()
    if language not in LANGUAGES:
        raise _bad(f"unknown filter-lang {language!r}; supported: {list(LANGUAGES)}", "filter-lang")
    if language in JSON_LANGUAGES:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _bad(f"CQL2 JSON is not valid JSON: {exc}") from exc
        try:
            return parse_json(document)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise _bad(f"not a CQL2 JSON expression: {exc}") from exc
        except Exception as exc:  # pygeofilter raises a bare Exception for some documents
            raise _bad(f"not a CQL2 JSON expression: {exc}") from exc
    try:
        return parse_text(text)
    except LarkError as exc:
        raise _bad(_syntax_error(exc)) from exc
    except (ValueError, TypeError) as exc:
        raise _bad(f"invalid CQL2 text: {exc}") from exc


def attributes(node: Any) -> Iterator[str]:
    """Every property name a filter refers to."""
    if isinstance(node, ast.Attribute):
        yield node.name
    elif isinstance(node, list | tuple):
        for item in node:
            yield from attributes(item)
    elif isinstance(node, ast.Node):
        for sub in node.get_sub_nodes():
            yield from attributes(sub)


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


def _box_wkt(x1: float, y1: float, x2: float, y2: float) -> str:
    return f"POLYGON(({x1} {y1},{x2} {y1},{x2} {y2},{x1} {y2},{x1} {y1}))"


def to_sql(node: Any, columns: Mapping[str, Any], crs: Crs, collection: str) -> ColumnElement[bool]:
    """Translate a parsed filter; unknown properties are named with the queryables."""
    unknown = sorted(set(attributes(node)) - set(columns))
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
    return expression
