"""A bulk path for the coverage state: triggers stand aside, the state is computed set-based.

- `broadband.bulk`: a transaction-local setting (`broadband_bulk_begin` turns it on) that the
  coverage-state triggers consult: while it is on they skip inserts and updates (deletes stay
  incremental: they only remove rows), and `broadband_bulk_end` computes the state of the loaded
  municipalities in a few set-based statements instead.
- `broadband_bulk_defer(table, rows)`: before a load that writes many rows compared with what the
  table holds, its foreign keys, unique constraints and secondary indexes are dropped, and
  `broadband_bulk_end` builds them again (one sort instead of a million random inserts). The
  table stays locked (ACCESS EXCLUSIVE) until the transaction ends; a failure rolls all of it back.
- The change log: in bulk mode each INSERT statement is logged as one `load` entry per table,
  with the ids it inserted as ranges (`{"rows": n, "ids": [[first, last], ...]}`); a loaded row
  as it was inserted is the `old` of its first later logged change, else the row as it is now.
- `broadband_rebuild_coverage(municipality)`: one spatial join (each polygon probes the address
  index) into a temporary table, then only the pairs, coverages and counts that differ are
  written, so a rebuild of unchanged data writes nothing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The per-statement state triggers that stand aside in bulk mode.
GUARDED = (
    "broadband_features_changed()",
    "broadband_addresses_changed()",
    "broadband_districts_changed()",
    "broadband_count_coverage()",
)
GUARD = "    IF broadband_bulk() AND TG_OP <> 'DELETE' THEN RETURN NULL; END IF;  -- see 0009\n"

BULK = """
CREATE FUNCTION broadband_bulk() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('broadband.bulk', true), '') = 'on'
$$;

CREATE FUNCTION broadband_bulk_begin() RETURNS void LANGUAGE sql AS $$
    SELECT set_config('broadband.bulk', 'on', true);
    CREATE TEMP TABLE IF NOT EXISTS broadband_deferred (
        position serial, definition text NOT NULL
    ) ON COMMIT DROP;
$$;

-- Indexes are built again after a load when it writes at least this share of the table's rows:
-- measured, a million random inserts into the address indexes cost about three times building
-- them from scratch.
CREATE FUNCTION broadband_bulk_defer(tbl regclass, incoming bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    held double precision := (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = tbl);
    r record;
BEGIN
    IF NOT broadband_bulk() THEN
        RAISE EXCEPTION 'broadband_bulk_defer(%) outside a bulk load', tbl;
    END IF;
    IF incoming < (held + incoming) / 3 OR incoming = 0 THEN
        RETURN false;
    END IF;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tbl);
    FOR r IN SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint
             WHERE conrelid = tbl AND contype IN ('f', 'u') ORDER BY contype DESC, conname LOOP
        INSERT INTO broadband_deferred (definition)
        VALUES (format('ALTER TABLE %s ADD CONSTRAINT %I %s', tbl, r.conname, r.definition));
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, r.conname);
    END LOOP;
    FOR r IN SELECT indexrelid::regclass AS name, pg_get_indexdef(indexrelid) AS definition
             FROM pg_index WHERE indrelid = tbl AND NOT indisprimary ORDER BY 1 LOOP
        INSERT INTO broadband_deferred (definition) VALUES (r.definition);
        EXECUTE format('DROP INDEX %s', r.name);
    END LOOP;
    RETURN true;
END
$$;

CREATE FUNCTION broadband_bulk_restore() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    PERFORM set_config('maintenance_work_mem', '256MB', true);  -- sorts in memory
    FOR r IN SELECT position, definition FROM broadband_deferred ORDER BY position LOOP
        EXECUTE r.definition;
        DELETE FROM broadband_deferred WHERE position = r.position;
    END LOOP;
END
$$;

CREATE FUNCTION broadband_bulk_end(municipalities bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    m bigint;
BEGIN
    IF NOT broadband_bulk() THEN
        RAISE EXCEPTION 'broadband_bulk_end outside a bulk load';
    END IF;
    PERFORM broadband_bulk_restore();
    ANALYZE addresses, areas, hamlets, districts;  -- the join below plans with the new rows
    FOREACH m IN ARRAY municipalities LOOP
        PERFORM broadband_rebuild_coverage(m);
    END LOOP;
    PERFORM set_config('broadband.bulk', '', true);
END
$$;
"""

# Polygons outside, the address index inside (OFFSET 0 keeps the planner from turning it round):
# each polygon's candidates come from the point index, and ST_Covers reuses the prepared polygon.
REBUILD = """
CREATE OR REPLACE FUNCTION broadband_rebuild_coverage(municipality bigint) RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '256MB' AS $$
DECLARE
    was text := coalesce(current_setting('broadband.bulk', true), '');
    incoming bigint;
BEGIN
    PERFORM set_config('broadband.bulk', 'on', true);
    CREATE TEMP TABLE IF NOT EXISTS broadband_deferred (
        position serial, definition text NOT NULL
    ) ON COMMIT DROP;
    CREATE TEMP TABLE broadband_new_pairs ON COMMIT DROP AS
    SELECT a.id AS address_id, 'areas'::text AS feature_table, s.id AS feature_id,
        broadband_status_rank(s.status) AS rank
    FROM areas s CROSS JOIN LATERAL (
        SELECT x.id, x.municipality_id FROM addresses x WHERE ST_Covers(s.geom, x.geom) OFFSET 0
    ) a
    WHERE s.municipality_id = municipality AND a.municipality_id = municipality
    UNION ALL
    SELECT a.id, 'hamlets', h.id, broadband_status_rank(h.status)
    FROM hamlets h CROSS JOIN LATERAL (
        SELECT x.id, x.municipality_id FROM addresses x WHERE ST_Covers(h.geom, x.geom) OFFSET 0
    ) a
    WHERE h.municipality_id = municipality AND a.municipality_id = municipality;
    CREATE TEMP TABLE broadband_new_coverage ON COMMIT DROP AS
    SELECT a.id AS address_id, a.municipality_id, d.district_id,
        coalesce(b.best, broadband_status_rank('none'))::smallint AS best_rank
    FROM addresses a
    LEFT JOIN (
        SELECT address_id, min(rank) AS best FROM broadband_new_pairs GROUP BY address_id
    ) b ON b.address_id = a.id
    LEFT JOIN (
        SELECT x.id AS address_id, min(d.id) AS district_id
        FROM districts d CROSS JOIN LATERAL (
            SELECT x.id, x.municipality_id FROM addresses x
            WHERE ST_Covers(d.geom, x.geom) OFFSET 0
        ) x
        WHERE d.municipality_id = municipality AND x.municipality_id = municipality
        GROUP BY x.id
    ) d ON d.address_id = a.id
    WHERE a.municipality_id = municipality;
    ANALYZE broadband_new_pairs, broadband_new_coverage;

    -- One pass over the old pairs and coverages each: only what differs is written.
    CREATE TEMP TABLE broadband_pair_changes ON COMMIT DROP AS
    SELECT coalesce(n.address_id, o.address_id) AS address_id,
        coalesce(n.feature_table, o.feature_table) AS feature_table,
        coalesce(n.feature_id, o.feature_id) AS feature_id, n.rank, o.rank AS old_rank
    FROM broadband_new_pairs n FULL JOIN (
        SELECT p.* FROM address_features p JOIN areas s ON p.feature_table = 'areas'
            AND p.feature_id = s.id AND s.municipality_id = municipality
        UNION ALL
        SELECT p.* FROM address_features p JOIN hamlets h ON p.feature_table = 'hamlets'
            AND p.feature_id = h.id AND h.municipality_id = municipality
    ) o ON o.address_id = n.address_id AND o.feature_table = n.feature_table
        AND o.feature_id = n.feature_id
    WHERE n.rank IS DISTINCT FROM o.rank;
    DELETE FROM address_features p USING broadband_pair_changes c
    WHERE c.rank IS NULL AND p.feature_table = c.feature_table AND p.feature_id = c.feature_id
        AND p.address_id = c.address_id;
    UPDATE address_features p SET rank = c.rank FROM broadband_pair_changes c
    WHERE c.old_rank IS NOT NULL AND p.feature_table = c.feature_table
        AND p.feature_id = c.feature_id AND p.address_id = c.address_id;
    incoming := (SELECT count(*) FROM broadband_pair_changes WHERE old_rank IS NULL);
    PERFORM broadband_bulk_defer('address_features', incoming);
    INSERT INTO address_features (address_id, feature_table, feature_id, rank)
    SELECT address_id, feature_table, feature_id, rank FROM broadband_pair_changes
    WHERE old_rank IS NULL ORDER BY feature_table, feature_id, address_id;

    CREATE TEMP TABLE broadband_coverage_changes ON COMMIT DROP AS
    SELECT coalesce(n.address_id, o.address_id) AS address_id, n.municipality_id, n.district_id,
        n.best_rank, o.address_id IS NOT NULL AS stored
    FROM broadband_new_coverage n FULL JOIN (
        SELECT * FROM address_coverage WHERE municipality_id = municipality
    ) o ON o.address_id = n.address_id
    WHERE (n.municipality_id, n.district_id, n.best_rank)
        IS DISTINCT FROM (o.municipality_id, o.district_id, o.best_rank);
    DELETE FROM address_coverage c USING broadband_coverage_changes x
    WHERE x.municipality_id IS NULL AND c.address_id = x.address_id;
    -- an address that moved here from another municipality is stored under that one
    INSERT INTO address_coverage AS c (address_id, municipality_id, district_id, best_rank)
    SELECT address_id, municipality_id, district_id, best_rank FROM broadband_coverage_changes
    WHERE municipality_id IS NOT NULL ORDER BY address_id
    ON CONFLICT (address_id) DO UPDATE SET municipality_id = excluded.municipality_id,
        district_id = excluded.district_id, best_rank = excluded.best_rank;
    PERFORM broadband_bulk_restore();

    DELETE FROM coverage_counts WHERE municipality_id = municipality;
    INSERT INTO coverage_counts (municipality_id, district_id, best_rank, addresses)
    SELECT municipality_id, district_id, best_rank, count(*) FROM address_coverage
    WHERE municipality_id = municipality GROUP BY 1, 2, 3;
    -- a rebuild that changed nothing leaves caches and ETags valid
    IF EXISTS (SELECT FROM broadband_pair_changes)
        OR EXISTS (SELECT FROM broadband_coverage_changes) THEN
        PERFORM broadband_touch();
    END IF;
    DROP TABLE broadband_new_pairs, broadband_new_coverage, broadband_pair_changes,
        broadband_coverage_changes;
    PERFORM set_config('broadband.bulk', was, true);
END
$$;
"""

# As in 0005, plus: inserts of a bulk load are logged as one `load` entry per statement.
LOG_FUNCTION = """
CREATE OR REPLACE FUNCTION broadband_log_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('broadband.actor', true), ''), session_user);
    origin text := nullif(current_setting('broadband.source', true), '');
    logged bigint;
BEGIN
    IF TG_OP = 'INSERT' AND broadband_bulk() THEN
        INSERT INTO changes (actor, source, table_name, feature_id, operation, old, new)
        SELECT who, origin, TG_TABLE_NAME, min(first), 'load', NULL, jsonb_build_object(
            'rows', sum(last - first + 1),
            'ids', jsonb_agg(jsonb_build_array(first, last) ORDER BY first))
        FROM (
            SELECT min(id) AS first, max(id) AS last FROM (
                SELECT id, id - row_number() OVER (ORDER BY id) AS run FROM new_rows
            ) numbered GROUP BY run
        ) runs
        HAVING count(*) > 0;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO changes (actor, source, table_name, feature_id, operation, old, new)
        SELECT who, origin, TG_TABLE_NAME, n.id, 'insert', NULL, to_jsonb(n) FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO changes (actor, source, table_name, feature_id, operation, old, new)
        SELECT who, origin, TG_TABLE_NAME, n.id, 'update', to_jsonb(o), to_jsonb(n)
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE to_jsonb(o) - 'version' - 'updated_at' <> to_jsonb(n) - 'version' - 'updated_at';
    ELSE
        INSERT INTO changes (actor, source, table_name, feature_id, operation, old, new)
        SELECT who, origin, TG_TABLE_NAME, o.id, 'delete', to_jsonb(o), NULL FROM old_rows o;
    END IF;
    GET DIAGNOSTICS logged = ROW_COUNT;
    IF logged > 0 THEN  -- statements that changed nothing leave caches and ETags valid
        PERFORM broadband_touch();
    END IF;
    RETURN NULL;
END
$$;
"""


def _guard(function: str, add: bool) -> None:
    """Add (or remove) the bulk-mode guard at the top of a trigger function's body."""
    bind = op.get_bind()
    definition = bind.exec_driver_sql(
        f"SELECT pg_get_functiondef('{function}'::regprocedure)"
    ).scalar_one()
    if add:
        head, body = definition.split("\nBEGIN\n", 1)
        definition = f"{head}\nBEGIN\n{GUARD}{body}"
    else:
        definition = definition.replace(GUARD, "")
    assert "%" not in definition  # executed without parameters
    bind.exec_driver_sql(definition)


def _earlier(file_name: str, name: str) -> str:
    """A SQL text of an earlier migration, to put its functions back on downgrade."""
    spec = importlib.util.spec_from_file_location(file_name, Path(__file__).with_name(file_name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(getattr(module, name))


def upgrade() -> None:
    op.execute(BULK)
    op.execute(REBUILD)
    op.execute(LOG_FUNCTION)
    for function in GUARDED:
        _guard(function, add=True)
    op.execute("ALTER TABLE changes DROP CONSTRAINT ck_changes_operation_allowed")
    op.execute(
        "ALTER TABLE changes ADD CONSTRAINT ck_changes_operation_allowed "
        "CHECK (operation IN ('insert', 'update', 'delete', 'load'))"
    )


def downgrade() -> None:
    op.execute("DELETE FROM changes WHERE operation = 'load'")
    op.execute("ALTER TABLE changes DROP CONSTRAINT ck_changes_operation_allowed")
    op.execute(
        "ALTER TABLE changes ADD CONSTRAINT ck_changes_operation_allowed "
        "CHECK (operation IN ('insert', 'update', 'delete'))"
    )
    for function in GUARDED:
        _guard(function, add=False)
    op.execute(_earlier("0005_imports.py", "LOG_FUNCTION"))
    rebuild = _earlier("0002_coverage_state.py", "COUNTS").split(
        "CREATE FUNCTION broadband_rebuild"
    )
    op.execute("CREATE OR REPLACE FUNCTION broadband_rebuild" + rebuild[1])
    for function in (
        "broadband_bulk_end(bigint[])",
        "broadband_bulk_restore()",
        "broadband_bulk_defer(regclass, bigint)",
        "broadband_bulk_begin()",
        "broadband_bulk()",
    ):
        op.execute(f"DROP FUNCTION {function}")
