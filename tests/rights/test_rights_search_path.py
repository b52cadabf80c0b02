"""search_path hijack: objects in public and pg_temp that shadow built-ins and core tables, with
the caller's search_path putting them first, against every SECURITY DEFINER function. A shadow
raises XH666 when it is used; no function may reach one (each pins search_path to pg_catalog,
pg_temp and names every object with its schema)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from tests.support.rights import World, build_world, functions, invoke, plausible

# built-ins the project's functions call, shadowed in public with the same argument types
SHADOWED = [
    ("lower", "text", "text"),
    ("upper", "text", "text"),
    ("btrim", "text", "text"),
    ("length", "text", "integer"),
    ("now", "", "timestamptz"),
    ("clock_timestamp", "", "timestamptz"),
    ("current_setting", "text", "text"),
    ("current_setting", "text, boolean", "text"),
    ("set_config", "text, text, boolean", "text"),
    ("string_to_array", "text, text", "text[]"),
    ("array_to_string", "anyarray, text", "text"),
    ("jsonb_typeof", "jsonb", "text"),
    ("jsonb_each", "jsonb", "setof record"),
    ("sha256", "bytea", "bytea"),
    ("gen_random_uuid", "", "uuid"),
    ("pg_has_role", "name, text, text", "boolean"),
    ("isempty", "anyrange", "boolean"),
    ("lower", "anyrange", "anyelement"),
    ("upper", "anyrange", "anyelement"),
]


def arm(db: psycopg.Connection) -> None:
    db.execute(
        "create function public.hijacked() returns integer language plpgsql as $$"
        " begin raise exception using errcode = 'XH666', message = 'a shadow object was used'; end $$"
    )
    for name, args, returns in SHADOWED:
        params = ", ".join(f"a{i} {t.strip()}" for i, t in enumerate(args.split(","))) if args else ""
        if returns == "setof record":
            returns = "table (key text, value jsonb)"
        body = (
            "begin perform public.hijacked(); end"
            if returns.startswith("table")
            else "begin perform public.hijacked(); return null; end"
        )
        db.execute(
            sql.SQL("create function public.{}({}) returns {} language plpgsql as {}").format(
                sql.Identifier(name), sql.SQL(params), sql.SQL(returns), sql.Literal(body)
            )
        )
    db.execute(
        "create function public.hijack_eq(bigint, bigint) returns boolean language plpgsql as $$"
        " begin perform public.hijacked(); return null; end $$"
    )
    db.execute("create operator public.= (leftarg = bigint, rightarg = bigint, function = public.hijack_eq)")
    db.execute("grant execute on all functions in schema public to public")


@pytest.fixture
def hijack(db: psycopg.Connection) -> World:
    world = build_world(db)
    arm(db)
    return world


def test_every_security_definer_function_pins_exactly_pg_catalog_and_pg_temp(db: psycopg.Connection) -> None:
    loose = db.execute(
        """
        select p.oid::regprocedure::text, p.proconfig from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('api', 'internal', 'core', 'report') and p.prosecdef
          and not ('search_path=pg_catalog, pg_temp' = any (coalesce(p.proconfig, '{}')))"""
    ).fetchall()
    assert loose == []


def test_clients_cannot_create_objects_in_public(connect_as, logins) -> None:
    for system in ("member", "pms", "saas", "bi"):
        conn = connect_as(system, autocommit=True)
        with pytest.raises(psycopg.Error) as excinfo:
            conn.execute("create function public.lower(text) returns text language sql as 'select 1::text'")
        assert excinfo.value.sqlstate == "42501"


def test_no_security_definer_function_reaches_a_shadow(
    db: psycopg.Connection, hijack: World, connect_as
) -> None:
    # the caller's own temp views shadow the core tables' names, and its search_path puts them first
    owner_tables = [
        r[0]
        for r in db.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'core' and c.relkind = 'r'"
        ).fetchall()
    ]
    targets = functions(db, "n.nspname in ('api', 'internal', 'core') and p.prosecdef")
    assert len(targets) > 60
    db.autocommit = False
    db.execute("set search_path = pg_temp, public, pg_catalog")
    for table in owner_tables:
        db.execute(
            sql.SQL("create temp view {} as select public.hijacked() as id").format(sql.Identifier(table))
        )
    db.commit()
    reached = []
    for fn in targets:
        for hotel in (hijack.a,):
            try:
                invoke(db, fn, plausible(fn, hijack, hotel))
            except psycopg.Error as exc:
                if exc.sqlstate == "XH666":
                    reached.append(fn.signature)
            finally:
                db.rollback()
    db.autocommit = True
    assert reached == []
    # the shadows were live: an unqualified name in the caller's own query does reach them
    with pytest.raises(psycopg.Error) as excinfo:
        db.execute("select lower('A'::text)")
    assert excinfo.value.sqlstate == "XH666"
