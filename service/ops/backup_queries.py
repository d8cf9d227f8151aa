"""SQL of backup and restore: what the database holds, emptying it, checking a restore's counts.

"The service's objects" are everything in schema `public` that no extension owns: the tables,
sequences, views, functions and types the migrations made. PostGIS's own objects (`geometry`,
`spatial_ref_sys`, its functions) belong to the extension and its owner; they are never touched.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from service.ops.backup_rules import MunicipalityEntry

_NOT_FROM_AN_EXTENSION = """
    NOT EXISTS (SELECT 1 FROM pg_depend d
                WHERE d.classid = '{catalog}'::regclass AND d.objid = {alias}.oid
                  AND d.deptype = 'e')"""
"""The object is not a member of an extension (PostGIS's types, functions, spatial_ref_sys)."""

SERVER_MAJOR = text("SELECT current_setting('server_version_num')::int / 10000")

SERVER_VERSION = text("SELECT current_setting('server_version')")

EXPORT_SNAPSHOT = text("SELECT pg_export_snapshot()")

READ_ONLY_SNAPSHOT = text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

TABLE_COUNTS = text(
    f"""
SELECT c.relname AS name,
       (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM public.%I', c.relname),
                           false, true, '')))[1]::text::bigint AS rows
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_class", alias="c")}
ORDER BY c.relname
"""
)
"""Rows per table of the service, counted in one statement."""

SERVICE_OBJECTS = text(
    f"""
SELECT c.relname AS name FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_class", alias="c")}
UNION ALL
SELECT p.proname || '()' FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
  AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_proc", alias="p")}
ORDER BY 1
"""
)
"""What a database must not hold for a restore without --replace."""

MUNICIPALITIES = text("SELECT ags, name FROM municipality ORDER BY ags")

CLEAR_SERVICE_OBJECTS = f"""
DO $clear$
DECLARE
  statement text;
BEGIN
  PERFORM set_config('search_path', '', true);
  FOR statement IN
    SELECT format('DROP %s IF EXISTS public.%I CASCADE',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                 ELSE 'TABLE' END,
                  c.relname)
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_class", alias="c")}
    ORDER BY c.relkind = 'S', c.relname
  LOOP
    EXECUTE statement;
  END LOOP;
  FOR statement IN
    SELECT format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure)
    FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
      AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_proc", alias="p")}
  LOOP
    EXECUTE statement;
  END LOOP;
  FOR statement IN
    SELECT format('DROP %s IF EXISTS %s CASCADE',
                  CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype)
    FROM pg_type t
    WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r', 'c')
      AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
      AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_type", alias="t")}
  LOOP
    EXECUTE statement;
  END LOOP;
END
$clear$;
"""
"""Run by psql before the restore, in its transaction: `--replace` empties the database."""

CHECK_RESTORED_COUNTS = f"""
SELECT set_config('broadband.expected_counts', :'counts', true);
DO $check$
DECLARE
  expected jsonb := current_setting('broadband.expected_counts')::jsonb;
  problems text[] := '{{}}';
  table_name text;
  found bigint;
BEGIN
  FOR table_name IN SELECT jsonb_object_keys(expected) ORDER BY 1 LOOP
    IF to_regclass(format('public.%I', table_name)) IS NULL THEN
      problems := problems || format('%s: missing, the manifest lists %s rows',
                                     table_name, expected ->> table_name);
      CONTINUE;
    END IF;
    EXECUTE format('SELECT count(*) FROM public.%I', table_name) INTO found;
    IF found <> (expected ->> table_name)::bigint THEN
      problems := problems || format('%s: %s rows restored, the manifest lists %s',
                                     table_name, found, expected ->> table_name);
    END IF;
  END LOOP;
  FOR table_name IN
    SELECT c.relname FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      AND {_NOT_FROM_AN_EXTENSION.format(catalog="pg_class", alias="c")}
      AND NOT expected ? c.relname
    ORDER BY 1
  LOOP
    problems := problems || format('%s: restored, but not in the manifest', table_name);
  END LOOP;
  IF cardinality(problems) > 0 THEN
    RAISE EXCEPTION 'row counts differ from the manifest: %', array_to_string(problems, '; ');
  END IF;
END
$check$;
"""
"""Run by psql after the restore, in its transaction: a count that differs undoes it all.

psql fills in `:'counts'` (the manifest's row counts as JSON), quoted as a literal.
"""


def server_major(connection: Connection) -> int:
    """The server's major version, to pick client programs that can talk to it."""
    return int(connection.execute(SERVER_MAJOR).scalar_one())


def server_version(connection: Connection) -> str:
    """The server's full version, for the manifest."""
    return str(connection.execute(SERVER_VERSION).scalar_one())


def table_counts(connection: Connection) -> dict[str, int]:
    """Rows per table of the service."""
    return {row.name: int(row.rows) for row in connection.execute(TABLE_COUNTS)}


def service_objects(connection: Connection) -> list[str]:
    """Names of the service's tables, sequences, views and functions in the database."""
    return [str(name) for name in connection.execute(SERVICE_OBJECTS).scalars()]


def municipalities(connection: Connection) -> list[MunicipalityEntry]:
    """Whose data the database holds."""
    return [MunicipalityEntry(ags=r.ags, name=r.name) for r in connection.execute(MUNICIPALITIES)]


def export_snapshot(connection: Connection) -> str:
    """Start a read-only snapshot and name it, so pg_dump sees exactly what we counted."""
    connection.execute(READ_ONLY_SNAPSHOT)
    return str(connection.execute(EXPORT_SNAPSHOT).scalar_one())
