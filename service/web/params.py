"""Query parameter types several capabilities share, so the API description states exactly what
their validation accepts: a date is `YYYY-MM-DD` (never a Unix timestamp), an AGS eight digits
(where figures add up, also a Kreis's five or a Land's two)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any

from fastapi import Path as PathParameter
from fastapi import Query
from pydantic import BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

from service.core.dates import ISO_DATE
from service.layers import AGS_PATTERN


def _iso_date(value: Any) -> Any:
    """Pydantic would read `0` or `1.5e9` as seconds since 1970; a date here is written out."""
    if isinstance(value, str) and not ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_format", "expected a date YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
"""A calendar date as RFC 3339 writes it (`full-date`), the OpenAPI `format: date`."""

AsOf = Annotated[
    IsoDate | None,
    Query(
        description="The state at the end of this date, not after today (default: today): "
        "features deleted since are there, ones added since are not, each as it stood then"
    ),
]
"""A past date whose state an answer gives (the features, their outlines and statuses then)."""

AGS = AGS_PATTERN
"""The pattern of an `ags` parameter (Amtlicher Gemeindeschlüssel)."""
AGS_DESCRIPTION = "Municipality key (AGS); needed when several are loaded, 404 if none such is"
"""Marks the parameter (or form field) that picks the municipality: the API description gives
every operation that takes it a 404 (service.web.openapi)."""

Ags = Annotated[str | None, Query(pattern=AGS, description=AGS_DESCRIPTION)]
"""The municipality an answer is about; without it, the only one loaded."""

REGION = "^(?:[0-9]{2}|[0-9]{5}|[0-9]{8})$"
"""The pattern of an `ags` that may also name a Land (2 digits) or a Kreis (5 digits)."""
REGION_DESCRIPTION = (
    "Municipality key (AGS, 8 digits), or a Kreis's (5) or Land's (2) to add up its loaded "
    "municipalities; needed when several are loaded, 404 if none such is"
)
"""Marks an `ags` that may name several municipalities (the API description gives it a 404)."""


def _region_key(value: Any) -> Any:
    """Says in words what a key may be, rather than quoting the pattern."""
    if isinstance(value, str) and not re.fullmatch(REGION, value):
        raise PydanticCustomError(
            "ags_format", "expected a municipality's AGS (8 digits), a Kreis's (5) or a Land's (2)"
        )
    return value


RegionKey = Annotated[str, StringConstraints(pattern=REGION), BeforeValidator(_region_key)]
"""An AGS of 8, 5 or 2 digits; the API description states the pattern it is checked against."""

AgsRegion = Annotated[RegionKey | None, Query(description=REGION_DESCRIPTION)]
"""The municipality, Kreis or Land an answer is about; without it, the only one loaded."""

ImportId = Annotated[
    uuid.UUID, PathParameter(description="The preview's id, as `POST /imports` answered it")
]
"""A stored import (preview) by its public id: random, so no preview's id reveals another's."""
