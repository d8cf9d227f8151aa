"""A true time machine: every version of every feature is kept with the period it was valid.

- `valid_from` on every feature table: since when the row as it stands is the feature's version.
  A new area, hamlet or school counts from its `status_since` if that is earlier than the moment it
  was recorded (a feature entered with a back-dated status existed by then); other new features
  from the moment they are recorded, or since always (the year 1, which every client can read,
  where '-infinity' has no Python or GDAL value) when a municipality's first load of that layer
  sets `broadband.baseline` (a town's address list describes its past too).
- `<table>_versions`: the versions an edit replaced or a delete removed, each with `valid_to`,
  written by a BEFORE UPDATE/DELETE row trigger in the same transaction as the edit. Only a
  change of geometry or attributes makes a version: statuses have their own dated history
  (`status_history`, which now keeps the statuses of deleted features too), and an address makes
  one only when it moves. A version begun in the same transaction is replaced, not kept.
  `broadband.forget` (transaction-local) deletes without keeping: removing a whole municipality
  removes its past as well. A later migration that adds a column to a feature table must add it
  to the versions table at the same position and create the `_at` function again.
- `broadband_<table>_at(d)`: the table as it stood at the end of day `d` in the session's time
  zone, with each area's, hamlet's and school's status valid then (features without a status
  by then are left out); inlined by the planner, so filters reach the indexes.
- `broadband_coverage_at(m, d)` and `broadband_pairs_at(m, d)`: each address of `d` with its
  district and best status then, and which areas and hamlets contained it then.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op
from sqlalchemy import text

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("municipality", "districts", "areas", "hamlets", "schools", "addresses")
STATUS_COLUMN = {"areas": "status", "hamlets": "status", "schools": "connection"}

FUNCTIONS = """
CREATE FUNCTION broadband_recorded_from() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN coalesce(current_setting('broadband.baseline', true), '') = 'on'
        THEN '0001-01-01 00:00:00+00'::timestamptz ELSE now() END
$$;

CREATE FUNCTION broadband_first_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.valid_from := coalesce(NEW.valid_from,
        least(broadband_recorded_from(), NEW.status_since::timestamptz));
    RETURN NEW;
END
$$;

CREATE FUNCTION broadband_keep_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- what a version is made of: statuses are dated in status_history, the rest is derived
    ignored text[] := ARRAY['version', 'updated_at', 'valid_from', 'status', 'connection',
                            'status_since', 'area_m2'];
    before jsonb;
    after jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        before := to_jsonb(OLD);
        after := to_jsonb(NEW);
        IF TG_NARGS > 0 AND TG_ARGV[0] = 'moved' THEN
            IF (before -> 'geom', before -> 'municipality_id')
                IS NOT DISTINCT FROM (after -> 'geom', after -> 'municipality_id') THEN
                NEW.valid_from := OLD.valid_from;
                RETURN NEW;
            END IF;
        ELSIF (before - ignored) = (after - ignored) THEN
            NEW.valid_from := OLD.valid_from;
            RETURN NEW;
        END IF;
        IF OLD.valid_from < now() THEN
            EXECUTE format('INSERT INTO %I SELECT ($1).*, now()', TG_TABLE_NAME || '_versions')
                USING OLD;
        END IF;
        NEW.valid_from := now();
        RETURN NEW;
    END IF;
    IF OLD.valid_from < now() AND coalesce(current_setting('broadband.forget', true), '') <> 'on'
    THEN
        EXECUTE format('INSERT INTO %I SELECT ($1).*, now()', TG_TABLE_NAME || '_versions')
            USING OLD;
    END IF;
    RETURN OLD;
END
$$;

CREATE FUNCTION broadband_forget_municipality() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM status_history WHERE municipality_id = OLD.id;
    DELETE FROM districts_versions WHERE municipality_id = OLD.id;
    DELETE FROM areas_versions WHERE municipality_id = OLD.id;
    DELETE FROM hamlets_versions WHERE municipality_id = OLD.id;
    DELETE FROM schools_versions WHERE municipality_id = OLD.id;
    DELETE FROM addresses_versions WHERE municipality_id = OLD.id;
    IF coalesce(current_setting('broadband.forget', true), '') = 'on' THEN
        DELETE FROM municipality_versions WHERE id = OLD.id;
    END IF;
    RETURN NULL;
END
$$;
"""

# As in 0002, except that a deleted feature's statuses stay: they are its past.
TRACK_STATUS = """
CREATE OR REPLACE FUNCTION broadband_track_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    status_column text := TG_ARGV[0];
    tbl text := TG_TABLE_NAME;  -- TG_TABLE_NAME has collation "C", which no index here serves
    versions jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RETURN NULL;  -- see 0011: the statuses of a deleted feature are its past
    ELSIF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(jsonb_build_object('id', n.id, 'municipality_id', n.municipality_id,
            'status', to_jsonb(n) ->> status_column, 'status_since', n.status_since))
        INTO versions FROM new_rows n;
    ELSE
        -- Same status with another date is a correction of that version's date, not a new one.
        SELECT jsonb_agg(jsonb_build_object('id', n.id, 'municipality_id', n.municipality_id,
            'status', to_jsonb(n) ->> status_column, 'status_since', n.status_since,
            'replaces', CASE WHEN to_jsonb(n) ->> status_column = to_jsonb(o) ->> status_column
                             THEN o.status_since END))
        INTO versions FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE to_jsonb(n) ->> status_column IS DISTINCT FROM to_jsonb(o) ->> status_column
           OR n.status_since <> o.status_since OR n.municipality_id <> o.municipality_id;
    END IF;
    IF versions IS NOT NULL THEN
        PERFORM broadband_record_versions(tbl, versions);
    END IF;
    RETURN NULL;
END
$$;
"""

# Each address of day d with its district and best status then. An address whose row today is
# its version of d keeps today's district unless a district changed since; the containment pairs
# of unchanged features and addresses come from address_features, the rest from geometry.
COVERAGE = """
CREATE FUNCTION broadband_pairs_at(m bigint, d date)
RETURNS TABLE (address_id bigint, moved boolean, feature_table text, feature_id bigint,
               rank smallint)
LANGUAGE sql STABLE AS $$
    WITH cut AS (SELECT (d + 1)::timestamptz AS t),
    status_then AS MATERIALIZED (
        SELECT DISTINCT ON (h.feature_table, h.feature_id) h.feature_table, h.feature_id,
            broadband_status_rank(h.status) AS rank
        FROM status_history h
        WHERE h.municipality_id = m AND h.status_since <= d
            AND h.feature_table IN ('areas', 'hamlets')
        ORDER BY h.feature_table, h.feature_id, h.status_since DESC
    ),
    current_features AS MATERIALIZED (
        SELECT 'areas'::text AS feature_table, s.id, s.geom FROM areas s, cut
        WHERE s.municipality_id = m AND s.valid_from < cut.t
        UNION ALL
        SELECT 'hamlets', h.id, h.geom FROM hamlets h, cut
        WHERE h.municipality_id = m AND h.valid_from < cut.t
    ),
    old_features AS MATERIALIZED (
        SELECT 'areas'::text AS feature_table, s.id, s.geom FROM areas_versions s, cut
        WHERE s.municipality_id = m AND s.valid_from < cut.t AND s.valid_to >= cut.t
        UNION ALL
        SELECT 'hamlets', h.id, h.geom FROM hamlets_versions h, cut
        WHERE h.municipality_id = m AND h.valid_from < cut.t AND h.valid_to >= cut.t
    ),
    old_addresses AS MATERIALIZED (
        SELECT a.id, a.geom FROM addresses_versions a, cut
        WHERE a.municipality_id = m AND a.valid_from < cut.t AND a.valid_to >= cut.t
    ),
    pairs AS (
        SELECT p.address_id, false AS moved, p.feature_table, p.feature_id
        FROM address_features p
        JOIN current_features f ON f.feature_table = p.feature_table AND f.id = p.feature_id
        UNION ALL
        SELECT a.id, false, f.feature_table, f.id
        FROM old_features f JOIN addresses a ON ST_Covers(f.geom, a.geom)
        WHERE a.municipality_id = m
        UNION ALL
        SELECT a.id, true, f.feature_table, f.id
        FROM old_addresses a JOIN old_features f ON ST_Covers(f.geom, a.geom)
        UNION ALL
        SELECT a.id, true, 'areas', s.id
        FROM old_addresses a JOIN areas s ON ST_Covers(s.geom, a.geom), cut
        WHERE s.municipality_id = m AND s.valid_from < cut.t
        UNION ALL
        SELECT a.id, true, 'hamlets', h.id
        FROM old_addresses a JOIN hamlets h ON ST_Covers(h.geom, a.geom), cut
        WHERE h.municipality_id = m AND h.valid_from < cut.t
    )
    SELECT p.address_id, p.moved, p.feature_table, p.feature_id, s.rank
    FROM pairs p
    JOIN status_then s ON s.feature_table = p.feature_table AND s.feature_id = p.feature_id
$$;

CREATE FUNCTION broadband_coverage_at(m bigint, d date)
RETURNS TABLE (address_id bigint, moved boolean, district_id bigint, best_rank smallint)
LANGUAGE sql STABLE AS $$
    WITH cut AS (SELECT (d + 1)::timestamptz AS t),
    districts_changed AS MATERIALIZED (
        SELECT EXISTS (
            SELECT FROM districts x, cut WHERE x.municipality_id = m AND x.valid_from >= cut.t
        ) OR EXISTS (
            SELECT FROM districts_versions x, cut
            WHERE x.municipality_id = m AND x.valid_to >= cut.t
        ) AS changed
    ),
    best AS MATERIALIZED (
        SELECT p.address_id, p.moved, min(p.rank) AS rank
        FROM broadband_pairs_at(m, d) p GROUP BY 1, 2
    ),
    addresses_then AS (
        SELECT a.id, false AS moved, a.geom, c.district_id
        FROM addresses a JOIN address_coverage c ON c.address_id = a.id, cut
        WHERE a.municipality_id = m AND a.valid_from < cut.t
        UNION ALL
        SELECT a.id, true, a.geom, NULL FROM addresses_versions a, cut
        WHERE a.municipality_id = m AND a.valid_from < cut.t AND a.valid_to >= cut.t
    )
    SELECT x.id, x.moved,
        CASE WHEN NOT x.moved AND NOT (SELECT changed FROM districts_changed)
            THEN x.district_id
            ELSE (SELECT min(z.id) FROM broadband_districts_at(d) z
                  WHERE z.municipality_id = m AND ST_Covers(z.geom, x.geom)) END,
        coalesce(b.rank, broadband_status_rank('none'))
    FROM addresses_then x
    LEFT JOIN best b ON b.address_id = x.id AND b.moved = x.moved
$$;
"""


# Each address's state over time, kept like the coverage state: the periods (in days) in which it
# had one district and best status. Today's state minus the periods begun or ended since a date
# gives that date's counts, reading only what changed since (goal: 200 ms a year back at 1M).
STATES = """
-- `since` the first day of the period, `until` the first day after it (NULL: it still holds).
-- The covering indexes let a past date's counts be read from the indexes alone.
CREATE TABLE address_states (
    address_id bigint NOT NULL,
    municipality_id bigint NOT NULL,
    since date NOT NULL,
    until date,
    district_id bigint,
    best_rank smallint NOT NULL
);
CREATE INDEX ix_address_states_address_id ON address_states (address_id);
CREATE INDEX ix_address_states_open ON address_states (municipality_id, since)
    INCLUDE (district_id, best_rank) WHERE until IS NULL;
CREATE INDEX ix_address_states_closed ON address_states (municipality_id, until)
    INCLUDE (since, district_id, best_rank) WHERE until IS NOT NULL;
CREATE INDEX ix_areas_versions_geom ON areas_versions USING gist (geom);
CREATE INDEX ix_hamlets_versions_geom ON hamlets_versions USING gist (geom);
CREATE INDEX ix_districts_versions_geom ON districts_versions USING gist (geom);

-- The days a row was the version: from the day it was recorded to the day it was replaced (a
-- version replaced on the day it was made never stood at a day's end).
CREATE FUNCTION broadband_days(valid_from timestamptz, valid_to timestamptz) RETURNS daterange
LANGUAGE sql STABLE AS $$
    SELECT daterange(valid_from::date, valid_to::date)
$$;

-- In steps through temporary tables, each analysed, so every join is planned with real counts
-- (as one statement the planner guessed a handful of rows and joined a million in loops).
CREATE FUNCTION broadband_address_timelines(m bigint, ids bigint[])
RETURNS TABLE (address_id bigint, valid daterange, district_id bigint, best_rank smallint)
LANGUAGE plpgsql SET jit = off AS $$
#variable_conflict use_column
DECLARE
    many boolean := cardinality(ids) >= 1000;  -- few rows plan well without statistics
BEGIN
    -- Made once per session and emptied at each commit: creating and dropping them per
    -- statement would hold a lock per table until the transaction ends, and a transaction of
    -- many edits would fill the server's lock table.
    IF to_regclass('pg_temp.broadband_bounds') IS NULL THEN
        CREATE TEMP TABLE broadband_av (
            id bigint, geom geometry, current boolean, days daterange) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE broadband_pairs (
            id bigint, days daterange, feature_table text, feature_id bigint)
            ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE broadband_statuses (
            feature_table text, feature_id bigint, rank smallint, days daterange)
            ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE broadband_ranked (
            id bigint, days daterange, rank smallint) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE broadband_located (
            id bigint, days daterange, district_id bigint) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE broadband_bounds (id bigint, day date) ON COMMIT DELETE ROWS;
    END IF;
    -- DELETE, not TRUNCATE: emptying small tables without new files on every edit
    DELETE FROM broadband_av;
    DELETE FROM broadband_pairs;
    DELETE FROM broadband_statuses;
    DELETE FROM broadband_ranked;
    DELETE FROM broadband_located;
    DELETE FROM broadband_bounds;
    INSERT INTO broadband_av
        SELECT a.id, a.geom, true AS current, broadband_days(a.valid_from, NULL) AS days
        FROM unnest(ids) AS x(id) JOIN addresses a ON a.id = x.id
        WHERE a.municipality_id = m
        UNION ALL
        SELECT a.id, a.geom, false, broadband_days(a.valid_from, a.valid_to)
        FROM unnest(ids) AS x(id) JOIN addresses_versions a ON a.id = x.id
        WHERE a.municipality_id = m AND NOT isempty(broadband_days(a.valid_from, a.valid_to));
    IF many THEN ANALYZE broadband_av; END IF;
    -- which areas and hamlets contained each version of an address, on which days
    INSERT INTO broadband_pairs
        SELECT av.id, av.days * broadband_days(s.valid_from, NULL) AS days,
            'areas'::text AS feature_table, s.id AS feature_id
        FROM broadband_av av
        JOIN address_features p ON p.address_id = av.id AND p.feature_table = 'areas'
        JOIN areas s ON s.id = p.feature_id WHERE av.current
        UNION ALL
        SELECT av.id, av.days * broadband_days(h.valid_from, NULL), 'hamlets', h.id
        FROM broadband_av av
        JOIN address_features p ON p.address_id = av.id AND p.feature_table = 'hamlets'
        JOIN hamlets h ON h.id = p.feature_id WHERE av.current
        UNION ALL
        SELECT av.id, av.days * broadband_days(v.valid_from, v.valid_to), 'areas', v.id
        FROM broadband_av av JOIN areas_versions v ON ST_Covers(v.geom, av.geom)
        WHERE v.municipality_id = m
        UNION ALL
        SELECT av.id, av.days * broadband_days(v.valid_from, v.valid_to), 'hamlets', v.id
        FROM broadband_av av JOIN hamlets_versions v ON ST_Covers(v.geom, av.geom)
        WHERE v.municipality_id = m
        UNION ALL
        SELECT av.id, av.days * broadband_days(s.valid_from, NULL), 'areas', s.id
        FROM broadband_av av JOIN areas s ON ST_Covers(s.geom, av.geom)
        WHERE NOT av.current AND s.municipality_id = m
        UNION ALL
        SELECT av.id, av.days * broadband_days(h.valid_from, NULL), 'hamlets', h.id
        FROM broadband_av av JOIN hamlets h ON ST_Covers(h.geom, av.geom)
        WHERE NOT av.current AND h.municipality_id = m;
    IF many THEN ANALYZE broadband_pairs; END IF;
    INSERT INTO broadband_statuses
        SELECT h.feature_table, h.feature_id, broadband_status_rank(h.status) AS rank,
            daterange(h.status_since, lead(h.status_since) OVER (
                PARTITION BY h.feature_table, h.feature_id ORDER BY h.status_since)) AS days
        FROM status_history h
        WHERE h.municipality_id = m AND (h.feature_table, h.feature_id) IN (
            SELECT feature_table, feature_id FROM broadband_pairs);
    IF many THEN ANALYZE broadband_statuses; END IF;
    INSERT INTO broadband_ranked
        SELECT p.id, p.days * st.days AS days, st.rank
        FROM broadband_pairs p JOIN broadband_statuses st
            ON st.feature_table = p.feature_table AND st.feature_id = p.feature_id
        WHERE p.days && st.days;
    IF many THEN ANALYZE broadband_ranked; END IF;
    -- the district of each version of an address, on which days
    INSERT INTO broadband_located
        SELECT av.id, av.days * broadband_days(d.valid_from, NULL) AS days, d.id AS district_id
        FROM broadband_av av JOIN address_coverage c ON c.address_id = av.id
        JOIN districts d ON d.id = c.district_id WHERE av.current
        UNION ALL
        SELECT av.id, av.days * broadband_days(d.valid_from, NULL), d.id
        FROM broadband_av av JOIN districts d ON ST_Covers(d.geom, av.geom)
        WHERE NOT av.current AND d.municipality_id = m
        UNION ALL
        SELECT av.id, av.days * broadband_days(d.valid_from, d.valid_to), d.id
        FROM broadband_av av JOIN districts_versions d ON ST_Covers(d.geom, av.geom)
        WHERE d.municipality_id = m;
    IF many THEN ANALYZE broadband_located; END IF;
    -- the days on which something may change for an address
    INSERT INTO broadband_bounds
        SELECT id, lower(days) AS day FROM broadband_av
        UNION SELECT id, upper(days) FROM broadband_av WHERE NOT upper_inf(days)
        UNION SELECT id, lower(days) FROM broadband_ranked WHERE NOT isempty(days)
        UNION SELECT id, upper(days) FROM broadband_ranked
            WHERE NOT isempty(days) AND NOT upper_inf(days)
        UNION SELECT id, lower(days) FROM broadband_located WHERE NOT isempty(days)
        UNION SELECT id, upper(days) FROM broadband_located
            WHERE NOT isempty(days) AND NOT upper_inf(days);
    IF many THEN ANALYZE broadband_bounds; END IF;
    RETURN QUERY
    WITH present AS (
        SELECT DISTINCT b.id, b.day FROM broadband_bounds b
        JOIN broadband_av av ON av.id = b.id AND av.days @> b.day
    ),
    best AS (
        SELECT b.id, b.day, min(r.rank) AS rank FROM broadband_bounds b
        JOIN broadband_ranked r ON r.id = b.id AND r.days @> b.day GROUP BY 1, 2
    ),
    district AS (
        SELECT b.id, b.day, min(l.district_id) AS district_id FROM broadband_bounds b
        JOIN broadband_located l ON l.id = b.id AND l.days @> b.day GROUP BY 1, 2
    ),
    stepped AS (
        SELECT b.id, b.day, p.id IS NOT NULL AS here, d.district_id,
            coalesce(r.rank, broadband_status_rank('none')) AS best_rank
        FROM broadband_bounds b
        LEFT JOIN present p ON p.id = b.id AND p.day = b.day
        LEFT JOIN best r ON r.id = b.id AND r.day = b.day
        LEFT JOIN district d ON d.id = b.id AND d.day = b.day
    ),
    changes AS (
        SELECT id, day, here, district_id, best_rank,
            (here, district_id, best_rank) IS DISTINCT FROM lag((here, district_id, best_rank))
                OVER (PARTITION BY id ORDER BY day) AS starts
        FROM stepped
    ),
    runs AS (
        SELECT id, day, here, district_id, best_rank,
            lead(day) OVER (PARTITION BY id ORDER BY day) AS until
        FROM changes WHERE starts
    )
    SELECT id, daterange(day, until), district_id, best_rank FROM runs WHERE here;
    DELETE FROM broadband_av;
    DELETE FROM broadband_pairs;
    DELETE FROM broadband_statuses;
    DELETE FROM broadband_ranked;
    DELETE FROM broadband_located;
    DELETE FROM broadband_bounds;
END
$$;

-- Only the periods that differ are written: an edit rewrites few of an address's periods, and
-- rewriting all of them left the table bloated and every later edit slower.
CREATE FUNCTION broadband_refresh_states(m bigint, ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.broadband_new_states') IS NULL THEN
        CREATE TEMP TABLE broadband_new_states (
            address_id bigint, since date, until date, district_id bigint, best_rank smallint)
            ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM broadband_new_states;
    INSERT INTO broadband_new_states
        SELECT t.address_id, lower(t.valid) AS since, upper(t.valid) AS until, t.district_id,
            t.best_rank
        FROM broadband_address_timelines(m, ids) t;
    DELETE FROM address_states s
    WHERE s.address_id = ANY(ids) AND NOT EXISTS (
        SELECT FROM broadband_new_states n WHERE n.address_id = s.address_id
            AND (n.since, n.until, n.district_id, n.best_rank)
                IS NOT DISTINCT FROM (s.since, s.until, s.district_id, s.best_rank));
    INSERT INTO address_states (address_id, municipality_id, since, until, district_id, best_rank)
    SELECT n.address_id, m, n.since, n.until, n.district_id, n.best_rank
    FROM broadband_new_states n
    WHERE NOT EXISTS (
        SELECT FROM address_states s WHERE s.address_id = n.address_id
            AND (n.since, n.until, n.district_id, n.best_rank)
                IS NOT DISTINCT FROM (s.since, s.until, s.district_id, s.best_rank));
    DELETE FROM broadband_new_states;
END
$$;

CREATE FUNCTION broadband_refresh_all_states(m bigint) RETURNS void
LANGUAGE plpgsql SET work_mem = '256MB' SET jit = off AS $$
BEGIN
    DELETE FROM address_states WHERE municipality_id = m;
    INSERT INTO address_states (address_id, municipality_id, since, until, district_id, best_rank)
    SELECT t.address_id, m, lower(t.valid), upper(t.valid), t.district_id, t.best_rank
    FROM broadband_address_timelines(m, ARRAY(
        SELECT id FROM addresses WHERE municipality_id = m
        UNION SELECT id FROM addresses_versions WHERE municipality_id = m)) t;
END
$$;

-- After an edit: the timelines of every address the edited features ever covered (any of their
-- versions, before and after), or of the edited addresses themselves.
CREATE FUNCTION broadband_track_states() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    touched record;
BEGIN
    IF broadband_bulk() THEN  -- a bulk load computes them at its end
        RETURN NULL;
    END IF;
    IF to_regclass('pg_temp.broadband_edited') IS NULL THEN
        CREATE TEMP TABLE broadband_edited (
            id bigint, municipality_id bigint, geom geometry
        ) ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM broadband_edited;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO broadband_edited SELECT id, municipality_id, geom FROM old_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO broadband_edited SELECT id, municipality_id, geom FROM new_rows;
    END IF;
    FOR touched IN
        WITH shapes AS (
            SELECT municipality_id, geom FROM broadband_edited WHERE TG_TABLE_NAME <> 'addresses'
            UNION ALL
            SELECT v.municipality_id, v.geom FROM areas_versions v
            WHERE TG_TABLE_NAME = 'areas' AND v.id IN (SELECT id FROM broadband_edited)
            UNION ALL
            SELECT v.municipality_id, v.geom FROM hamlets_versions v
            WHERE TG_TABLE_NAME = 'hamlets' AND v.id IN (SELECT id FROM broadband_edited)
            UNION ALL
            SELECT v.municipality_id, v.geom FROM districts_versions v
            WHERE TG_TABLE_NAME = 'districts' AND v.id IN (SELECT id FROM broadband_edited)
        ), found AS (
            SELECT municipality_id, id FROM broadband_edited WHERE TG_TABLE_NAME = 'addresses'
            UNION
            SELECT a.municipality_id, a.id FROM shapes s
            JOIN addresses a ON ST_Covers(s.geom, a.geom) AND a.municipality_id = s.municipality_id
            UNION
            SELECT a.municipality_id, a.id FROM shapes s
            JOIN addresses_versions a
                ON ST_Covers(s.geom, a.geom) AND a.municipality_id = s.municipality_id
        )
        SELECT municipality_id, array_agg(id) AS ids FROM found GROUP BY municipality_id
    LOOP
        PERFORM broadband_refresh_states(touched.municipality_id, touched.ids);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION broadband_bulk_end(municipalities bigint[]) RETURNS void
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
        ANALYZE address_features, address_coverage, status_history;  -- the states join them
        PERFORM broadband_refresh_all_states(m);  -- see 0011
    END LOOP;
    PERFORM set_config('broadband.bulk', '', true);
END
$$;
"""
STATE_TABLES = ("areas", "hamlets", "districts", "addresses")

def _columns(table: str) -> list[str]:
    """The table's columns in their order, as the versions table and `_at` function repeat them."""
    rows = op.get_bind().execute(
        text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ),
        {"t": table},
    )
    return [str(row[0]) for row in rows]


def _state_function(table: str) -> str:
    """`broadband_<table>_at(d)`: the rows valid at the end of day d, with the status valid then."""
    columns = _columns(table)
    listed = ", ".join(columns)
    union = (
        f"SELECT {listed} FROM {table} WHERE valid_from < (d + 1)::timestamptz "
        f"UNION ALL SELECT {listed} FROM {table}_versions "
        "WHERE valid_from < (d + 1)::timestamptz AND valid_to >= (d + 1)::timestamptz"
    )
    status = STATUS_COLUMN.get(table)
    if status is None:
        body = union
    else:
        taken = {status: f"h.status AS {status}", "status_since": "h.status_since"}
        picked = ", ".join(taken.get(c, f"v.{c}") for c in columns)
        body = (
            f"SELECT {picked} FROM ({union}) v CROSS JOIN LATERAL ("
            "SELECT s.status, s.status_since FROM status_history s "
            f"WHERE s.feature_table = '{table}' AND s.feature_id = v.id AND s.status_since <= d "
            "ORDER BY s.status_since DESC LIMIT 1) h"
        )
    return (
        f"CREATE FUNCTION broadband_{table}_at(d date) RETURNS SETOF {table} "
        f"LANGUAGE sql STABLE AS $$ {body} $$"
    )


def upgrade() -> None:
    op.execute(FUNCTIONS)
    for table in TABLES:
        # A constant default fills existing rows without rewriting the table.
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN valid_from timestamptz NOT NULL "
            "DEFAULT '0001-01-01 00:00:00+00'"
        )
        if table in STATUS_COLUMN:
            # What is known of an existing feature's past: its statuses.
            op.execute(
                f"UPDATE {table} t SET valid_from = least(t.status_since, ("
                "SELECT min(h.status_since) FROM status_history h "
                f"WHERE h.feature_table = '{table}' AND h.feature_id = t.id))::timestamptz"
            )
            op.execute(f"ALTER TABLE {table} ALTER COLUMN valid_from DROP DEFAULT")
            op.execute(
                f"CREATE TRIGGER {table}_first_version BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION broadband_first_version()"
            )
        else:
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN valid_from "
                "SET DEFAULT broadband_recorded_from()"
            )
        op.execute(f"CREATE TABLE {table}_versions (LIKE {table})")
        op.execute(f"ALTER TABLE {table}_versions ADD COLUMN valid_to timestamptz NOT NULL")
        op.execute(f"CREATE INDEX ix_{table}_versions_id ON {table}_versions (id)")
        if table != "municipality":
            op.execute(
                f"CREATE INDEX ix_{table}_versions_municipality_id "
                f"ON {table}_versions (municipality_id, valid_to)"
            )
        moved = "'moved'" if table == "addresses" else ""
        op.execute(
            f"CREATE TRIGGER {table}_keep_version BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION broadband_keep_version({moved})"
        )
        op.execute(_state_function(table))
    op.execute(
        "CREATE TRIGGER municipality_forget AFTER DELETE ON municipality "
        "FOR EACH ROW EXECUTE FUNCTION broadband_forget_municipality()"
    )
    op.execute(TRACK_STATUS)
    op.execute(COVERAGE)
    op.execute(STATES)
    for table in STATE_TABLES:
        for event, tables in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER {table}_timeline_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {tables} FOR EACH STATEMENT "
                "EXECUTE FUNCTION broadband_track_states()"
            )
    op.execute(
        "SELECT broadband_refresh_all_states(id) FROM municipality ORDER BY id"
    )


def _earlier(file: str, name: str) -> str:
    """A constant of an earlier migration, so a downgrade restores exactly what it replaced."""
    path = Path(__file__).with_name(file)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(getattr(module, name))


def downgrade() -> None:
    for table in STATE_TABLES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_timeline_{event} ON {table}")
    bulk_end = _earlier("0009_bulk_coverage.py", "BULK")
    bulk_end = bulk_end[bulk_end.index("CREATE FUNCTION broadband_bulk_end") :]
    op.execute(bulk_end.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    for function in (
        "broadband_track_states()",
        "broadband_refresh_all_states(bigint)",
        "broadband_refresh_states(bigint, bigint[])",
        "broadband_address_timelines(bigint, bigint[])",
        "broadband_days(timestamptz, timestamptz)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("DROP TABLE IF EXISTS address_states")
    op.execute("DROP FUNCTION broadband_coverage_at(bigint, date)")
    op.execute("DROP FUNCTION broadband_pairs_at(bigint, date)")
    op.execute("DROP TRIGGER municipality_forget ON municipality")
    for table in reversed(TABLES):
        op.execute(f"DROP FUNCTION broadband_{table}_at(date)")
        op.execute(f"DROP TRIGGER {table}_keep_version ON {table}")
        op.execute(f"DROP TABLE {table}_versions")
        if table in STATUS_COLUMN:
            op.execute(f"DROP TRIGGER {table}_first_version ON {table}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN valid_from")
    # Statuses of features deleted meanwhile have no feature any more.
    op.execute(
        "DELETE FROM status_history h WHERE NOT EXISTS ("
        "SELECT FROM areas s WHERE h.feature_table = 'areas' AND s.id = h.feature_id "
        "UNION ALL SELECT FROM hamlets s WHERE h.feature_table = 'hamlets' AND s.id = h.feature_id "
        "UNION ALL SELECT FROM schools s WHERE h.feature_table = 'schools' AND s.id = h.feature_id)"
    )
    history = _earlier("0002_coverage_state.py", "HISTORY")
    track = history[history.index("CREATE FUNCTION broadband_track_status") :]
    op.execute(track.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    for function in (
        "broadband_forget_municipality()",
        "broadband_keep_version()",
        "broadband_first_version()",
        "broadband_recorded_from()",
    ):
        op.execute(f"DROP FUNCTION {function}")
