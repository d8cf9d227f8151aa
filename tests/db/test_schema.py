"""The database itself guards the data: migrations, constraints, validity and the change log."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db import schema
from service.db.models import FEATURE_TABLES, Base
from tests.helpers import TemporaryCluster

SQUARE = (
    "SRID=25832;MULTIPOLYGON(((370000 5750000, 371000 5750000, 371000 5751000, "
    "370000 5751000, 370000 5750000)))"
)
BOWTIE = (
    "SRID=25832;MULTIPOLYGON(((370000 5750000, 370100 5750100, 370100 5750000, "
    "370000 5750100, 370000 5750000)))"
)


@pytest.fixture
def town(db: Session) -> int:
    """A one-square-kilometre municipality inside the rolled-back test transaction."""
    municipality: int = db.execute(
        text(
            "INSERT INTO municipality (ags, name, geom) VALUES ('09999999', 'Testdorf', :g) "
            "RETURNING id"
        ),
        {"g": SQUARE},
    ).scalar_one()
    return municipality


def _insert_area(db: Session, town: int, **overrides: str) -> int:
    values = {"name": "Testgebiet", "kind": "settlement", "status": "connected", "geom": SQUARE}
    values |= overrides
    area: int = db.execute(
        text(
            "INSERT INTO areas (municipality_id, name, kind, status, status_since, geom) "
            "VALUES (:m, :name, :kind, :status, '2021-07-01', :geom) RETURNING id"
        ),
        {"m": town, **values},
    ).scalar_one()
    return area


def test_migrations_run_up_and_down(spare_cluster: TemporaryCluster) -> None:
    engine = create_engine(spare_cluster.url)
    try:
        schema.upgrade(engine)
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) >= {*FEATURE_TABLES, "changes"}
            assert schema.current_revision(connection) == schema.head_revision()
        schema.downgrade(engine, "base")
        with engine.connect() as connection:
            assert (
                set(inspect(connection).get_table_names()) & {*FEATURE_TABLES, "changes"} == set()
            )
            assert schema.current_revision(connection) is None
        schema.upgrade(engine)
        with engine.connect() as connection:
            assert schema.current_revision(connection) == schema.head_revision()
    finally:
        schema.downgrade(engine, "base")
        engine.dispose()


def test_models_match_the_migrations(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": alembic_helpers.include_object, "compare_type": True},
        )
        assert compare_metadata(context, Base.metadata) == []


def test_every_geometry_has_a_gist_index(engine: Engine) -> None:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.relname FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
                "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_am a ON a.oid = x.relam "
                "JOIN pg_attribute att ON att.attrelid = c.oid AND att.attnum = i.indkey[0] "
                "WHERE a.amname = 'gist' AND att.attname = 'geom'"
            )
        ).scalars()
        assert set(rows) >= set(FEATURE_TABLES)


def test_geometries_are_stored_in_utm32(engine: Engine) -> None:
    with engine.connect() as connection:
        srids = connection.execute(
            text("SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema='public'")
        ).all()
    versions = {f"{table}_versions" for table in FEATURE_TABLES}
    assert {table for table, _ in srids} == set(FEATURE_TABLES) | versions
    assert {srid for _, srid in srids} == {25832}


@pytest.mark.parametrize(
    ("column", "value", "constraint"),
    [
        ("status", "done", "ck_areas_status_allowed"),
        ("kind", "industrial", "ck_areas_kind_allowed"),
        ("geom", BOWTIE, "ck_areas_geom_valid"),
        ("geom", "SRID=25832;MULTIPOLYGON EMPTY", "ck_areas_geom_valid"),
    ],
)
def test_database_rejects_what_python_might_let_through(
    db: Session, town: int, column: str, value: str, constraint: str
) -> None:
    with pytest.raises(IntegrityError, match=constraint), db.begin_nested():
        _insert_area(db, town, **{column: value})


def test_database_rejects_a_point_where_an_area_belongs(db: Session, town: int) -> None:
    with pytest.raises(Exception, match="Geometry type"), db.begin_nested():
        _insert_area(db, town, geom="SRID=25832;POINT(370500 5750500)")


def test_database_rejects_school_connection_outside_vocabulary(db: Session, town: int) -> None:
    with pytest.raises(IntegrityError, match="ck_schools_connection_allowed"), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO schools (municipality_id, name, school_type, pupils, connection, "
                "status_since, geom) VALUES (:m, 'S', 'Grundschule', 10, 'dsl', '2021-01-01', "
                "'SRID=25832;POINT(370500 5750500)')"
            ),
            {"m": town},
        )


def test_every_write_is_logged_with_actor_and_values(db: Session, town: int) -> None:
    area = _insert_area(db, town)
    db.execute(text("UPDATE areas SET status = 'planned' WHERE id = :id"), {"id": area})
    db.execute(text("UPDATE areas SET status = 'planned' WHERE id = :id"), {"id": area})
    db.execute(text("DELETE FROM areas WHERE id = :id"), {"id": area})
    log = db.execute(
        text(
            "SELECT operation, actor, old->>'status', new->>'status', "
            "new->'geom'->>'type' FROM changes WHERE table_name = 'areas' AND feature_id = :id "
            "ORDER BY id"
        ),
        {"id": area},
    ).all()
    assert log == [
        ("insert", "test", None, "connected", "MultiPolygon"),
        ("update", "test", "connected", "planned", "MultiPolygon"),
        ("delete", "test", "planned", None, None),
    ]


def test_updates_bump_the_feature_version(db: Session, town: int) -> None:
    area = _insert_area(db, town)
    db.execute(text("UPDATE areas SET notes = 'x' WHERE id = :id"), {"id": area})
    version = db.execute(text("SELECT version FROM areas WHERE id = :id"), {"id": area})
    assert version.scalar_one() == 2


def test_the_log_is_written_in_the_same_transaction(db: Session, town: int) -> None:
    before = db.execute(text("SELECT count(*) FROM changes")).scalar_one()
    with pytest.raises(IntegrityError), db.begin_nested():
        _insert_area(db, town, name="ok")
        _insert_area(db, town, status="bogus")
    after = db.execute(text("SELECT count(*) FROM changes")).scalar_one()
    assert after == before
