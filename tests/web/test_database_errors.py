"""PostgreSQL's own error text never reaches a client; it is logged, with the request id."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.errors import InvalidDataError
from service.core.logging import RequestIdFilter
from service.features import write_queries
from service.layers import COLLECTIONS

DATABASE_WORDS = ("violates", "operator", "ERROR:", "does not exist", "text +", "SQL", "psycopg")


def _clean(body: str) -> None:
    for word in DATABASE_WORDS:
        assert word not in body, word


def test_a_filter_the_database_cannot_apply_is_a_400_without_its_text(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="service.db.refusals")
    caplog.handler.addFilter(RequestIdFilter())  # as the service's own handler does
    response = client.get(
        "/collections/areas/items",
        params={"filter": "name + 1 = 2"},
        headers={"X-Request-ID": "refusal-test-1"},
    )
    assert response.status_code == 400, response.text
    _clean(response.text)
    assert "filter" in response.json()["problems"][0]["field"]
    logged = [r for r in caplog.records if r.name == "service.db.refusals"]
    assert logged and "operator does not exist" in logged[0].getMessage()
    assert logged[0].__dict__["request_id"] == "refusal-test-1"


RAISE_CHECK = """
DO $$ BEGIN
  RAISE check_violation USING MESSAGE =
    'new row for relation "areas" violates check constraint "areas_status_check"',
    CONSTRAINT = 'areas_status_check';
END $$
"""


def test_a_refused_write_names_the_constraint_not_the_database_text(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="service.db.refusals")
    with pytest.raises(InvalidDataError) as refused:
        write_queries._write(db, text(RAISE_CHECK), COLLECTIONS["areas"])
    problem = refused.value.problems[0]
    assert problem.field == "areas_status_check"
    assert "areas_status_check" in problem.message
    _clean(problem.message)
    assert "violates check constraint" in caplog.text
