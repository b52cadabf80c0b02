"""Reading the project's own catalog: a comparable schema dump and the project objects left in a database.

The dump covers what a migration can change (tables, columns, constraints, indexes,
functions with their bodies and settings, triggers, views, policies, grants, comments) and
is what the migration round-trip test compares between a fresh install and an
upgrade / downgrade / upgrade.
"""

from __future__ import annotations

import psycopg

PROJECT_SCHEMAS = ("core", "api", "internal", "report")

# Each query returns text rows; together they describe the schema without OIDs.
_DUMP = {
    "schemas": """
        select n.nspname || ' owner=' || pg_get_userbyid(n.nspowner) || ' acl=' || coalesce(n.nspacl::text, '')
               || ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '')
        from pg_namespace n where n.nspname = any(%(schemas)s::name[])""",
    "extensions": "select extname from pg_extension where extname <> 'plpgsql'",
    "relations": """
        select n.nspname || '.' || c.relname || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity
               || '/' || c.relforcerowsecurity || ' acl=' || coalesce(c.relacl::text, '')
               || ' opts=' || coalesce(c.reloptions::text, '')
               || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%(schemas)s::name[]) and c.relkind in ('r', 'v', 'm', 'p', 'S', 'c')""",
    "columns": """
        select n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
               || ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
               || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
               || ' comment=' || coalesce(col_description(c.oid, a.attnum), '')
        from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where n.nspname = any(%(schemas)s::name[]) and a.attnum > 0 and not a.attisdropped
          and c.relkind in ('r', 'v', 'm', 'p', 'c')""",
    "constraints": """
        select n.nspname || '.' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
        from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%(schemas)s::name[])""",
    "indexes": """
        select schemaname || '.' || indexname || ' ' || indexdef from pg_indexes
        where schemaname = any(%(schemas)s::name[])""",
    "functions": """
        select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
               || pg_get_function_result(p.oid) || ' lang=' || l.lanname || ' vol=' || p.provolatile::text
               || ' secdef=' || p.prosecdef || ' config=' || coalesce(p.proconfig::text, '')
               || ' acl=' || coalesce(p.proacl::text, '') || ' owner=' || pg_get_userbyid(p.proowner)
               || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '') || E'\n' || p.prosrc
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
        where n.nspname = any(%(schemas)s::name[])""",
    "triggers": """
        select n.nspname || '.' || c.relname || ' ' || pg_get_triggerdef(t.oid)
        from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
        where not t.tgisinternal and n.nspname = any(%(schemas)s::name[])""",
    "views": """
        select n.nspname || '.' || c.relname || E'\n' || pg_get_viewdef(c.oid)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%(schemas)s::name[]) and c.relkind in ('v', 'm')""",
    "policies": """
        select schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive || ' ' || roles::text
               || ' ' || cmd || ' using=' || coalesce(qual, '') || ' check=' || coalesce(with_check, '')
        from pg_policies where schemaname = any(%(schemas)s::name[])""",
    "types": """
        select n.nspname || '.' || t.typname || ' ' || t.typtype::text || ' '
               || coalesce((select string_agg(e.enumlabel, ',' order by e.enumsortorder)
                            from pg_enum e where e.enumtypid = t.oid), '')
        from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where n.nspname = any(%(schemas)s::name[]) and t.typtype in ('e', 'd', 'r', 'm')""",
}


def schema_dump(url: str) -> dict[str, list[str]]:
    """Sorted text rows per catalog section, for comparing two databases."""
    out = {}
    with psycopg.connect(url) as conn:
        for section, query in _DUMP.items():
            rows = conn.execute(query, {"schemas": list(PROJECT_SCHEMAS)}).fetchall()
            out[section] = sorted(r[0] for r in rows)
    return out


def project_objects(url: str) -> list[str]:
    """Every project object left in a database (empty after a downgrade to base)."""
    dump = schema_dump(url)
    left = [f"{k}: {v}" for k in ("schemas", "relations", "functions", "types") for v in dump[k]]
    left += [f"extensions: {e}" for e in dump["extensions"]]
    return left
