"""Catalog tests keep the house in order (STYLE.md): every rule about how objects are declared."""

from __future__ import annotations

import psycopg

from tests.support.errors import raises_code


def rows(db: psycopg.Connection, sql: str) -> list[str]:
    return [r[0] for r in db.execute(sql).fetchall()]


def test_every_api_function_is_commented(db):
    assert (
        rows(
            db,
            """
        select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'api' and obj_description(p.oid, 'pg_proc') is null""",
        )
        == []
    )


def test_every_security_definer_function_pins_search_path(db):
    assert (
        rows(
            db,
            """
        select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('api', 'internal', 'core') and p.prosecdef
          and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%')""",
        )
        == []
    )


def test_every_api_function_is_security_definer(db):
    assert (
        rows(
            db,
            """
        select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'api' and not p.prosecdef""",
        )
        == []
    )


def test_no_project_function_is_executable_by_public(db):
    assert (
        rows(
            db,
            """
        select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('api', 'internal', 'report', 'core')
          and has_function_privilege('public', p.oid, 'execute')""",
        )
        == []
    )


def test_every_function_states_a_pinned_search_path_or_is_plain_sql_in_core(db):
    """Functions outside api also pin search_path so a caller's objects never shadow a built-in.
    A SQL function with a standard body (RETURN or BEGIN ATOMIC) needs none: its names are bound
    when it is created, and a SET clause would keep the planner from inlining it."""
    assert (
        rows(
            db,
            """
        select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('api', 'internal')
          and not (n.nspname = 'internal' and p.prosqlbody is not null and not p.prosecdef)
          and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%')""",
        )
        == []
    )


def test_every_foreign_key_states_on_delete(db):
    """pg_constraint cannot tell 'no action' written from omitted, so the rule is: never 'no action'."""
    assert (
        rows(
            db,
            """
        select conrelid::regclass::text || '.' || conname from pg_constraint c
        join pg_namespace n on n.oid = c.connamespace
        where n.nspname = 'core' and contype = 'f' and confdeltype = 'a'""",
        )
        == []
    )


def test_every_core_table_has_a_comment(db):
    assert (
        rows(
            db,
            """
        select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'core' and c.relkind in ('r', 'p') and obj_description(c.oid, 'pg_class') is null""",
        )
        == []
    )


def test_every_report_view_and_column_is_commented(db):
    assert (
        rows(
            db,
            """
        select c.oid::regclass::text || coalesce('.' || a.attname, '')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
              and col_description(c.oid, a.attnum) is null
        where n.nspname = 'report' and c.relkind in ('v', 'm')
          and (obj_description(c.oid, 'pg_class') is null or a.attname is not null)""",
        )
        == []
    )


def test_error_registry_is_readable_and_raises_its_own_codes(db):
    codes = db.execute("select sqlstate, name from api.error_codes").fetchall()
    assert len(codes) >= 40
    assert len({c[1] for c in codes}) == len(codes)

    with raises_code("INVENTORY_UNAVAILABLE") as excinfo:
        db.execute(
            "select internal.raise_error('INVENTORY_UNAVAILABLE', 'night 2030-01-01', 'pick other dates')"
        )
    assert excinfo.value.diag.message_detail == "night 2030-01-01"
    assert excinfo.value.diag.message_hint == "pick other dates"


def test_clock_can_be_moved_and_reset(db):
    shifted = db.execute("select internal.shift_clock(interval '3 days') - now()").fetchone()[0]
    assert shifted.days == 3
    db.execute("select internal.shift_clock(interval '0')")
    assert db.execute("select internal.now() = now()").fetchone()[0]


CLIENT_ROLES = "('hotelcore_member', 'hotelcore_pms', 'hotelcore_saas', 'hotelcore_bi', 'hotelcore_admin')"


def test_every_api_function_is_granted_to_a_hotelcore_role(db):
    """Issue 7: clients reach the database through api functions, each granted per seed 000's matrix."""
    assert (
        rows(
            db,
            f"""
        select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'api'
          and not exists (select 1 from aclexplode(p.proacl) a join pg_roles r on r.oid = a.grantee
                          where r.rolname in {CLIENT_ROLES} and a.privilege_type = 'EXECUTE')""",
        )
        == []
    )


def test_no_client_role_has_a_right_on_core(db):
    """Issue 7: no client role reads or writes a core table; they call api and read report."""
    assert (
        rows(
            db,
            f"""
        select r.rolname || ' on ' || c.oid::regclass::text from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        cross join pg_roles r
        where n.nspname = 'core' and c.relkind in ('r', 'p', 'v', 'm', 'S') and r.rolname in {CLIENT_ROLES}
          and exists (select 1 from aclexplode(c.relacl) a where a.grantee = r.oid)
        union all
        select r.rolname || ' on schema core' from pg_roles r
        where r.rolname in {CLIENT_ROLES} and has_schema_privilege(r.oid, 'core', 'usage')""",
        )
        == []
    )


def test_every_hotel_table_forces_row_level_security(db):
    """Issue 7: a core table with hotel_id keeps the rows of the caller's hotel scope, for its owner too."""
    assert (
        rows(
            db,
            """
        select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'core' and c.relkind = 'r'
          and (c.relname = 'hotels' or exists (select 1 from pg_attribute a where a.attrelid = c.oid
                                                 and a.attname = 'hotel_id' and not a.attisdropped))
          and c.relname not in ('login_hotels', 'audit_log', 'api_key_hotels')
          and not (c.relrowsecurity and c.relforcerowsecurity
                   and exists (select 1 from pg_policy p where p.polrelid = c.oid))""",
        )
        == []
    )


def test_every_project_object_is_owned_by_hotelcore_owner(db):
    """Issue 7: definer functions and views run as a non-superuser that row-level security binds."""
    assert (
        rows(
            db,
            """
        select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('core', 'api', 'internal', 'report') and c.relkind in ('r', 'v', 'm')
          and pg_get_userbyid(c.relowner) <> 'hotelcore_owner'
        union all
        select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('core', 'api', 'internal', 'report') and pg_get_userbyid(p.proowner) <> 'hotelcore_owner'""",
        )
        == []
    )
    owner = db.execute(
        "select rolsuper, rolcanlogin, rolbypassrls from pg_roles where rolname = 'hotelcore_owner'"
    ).fetchone()
    assert owner == (False, False, False)


def test_dynamic_sql_is_built_by_format_only(db):
    """Issue 7: EXECUTE takes a format() with %I / %L, never a string glued with ||."""
    assert (
        rows(
            db,
            r"""
        select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('api', 'internal', 'core', 'report')
          and (p.prosrc ~* '\mexecute\s+[^;]*\|\|' or p.prosrc ~* '\mexecute\s+(?!format\()[a-z_]')""",
        )
        == []
    )


# api functions still calling api functions: none (a new one fails the test)
CALLS_API_KNOWN: set[str] = set()


def test_no_api_function_calls_another_api_function(db):
    """An api function checks the caller's rights once and runs unchecked internal bodies: calling
    another api function would check rights the caller's own right already covers (an import
    creating rooms needs no room right of its own) and pay each check again."""
    found = set(
        rows(
            db,
            r"""
        select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'api' and p.prosrc ~ '\mapi\.[a-z_]+\s*\('""",
        )
    )
    assert sorted(found - CALLS_API_KNOWN) == [], "an api function calls another: call its internal body"
    assert sorted(CALLS_API_KNOWN - found) == [], "fixed: remove it from CALLS_API_KNOWN"


# Room inventory and its state (部屋在庫・状態) as report columns: counts of rooms available, sold,
# blocked or on the books, occupancy, and the ratios that give a room count back from revenue
# (ADR = room revenue / rooms sold, RevPAR = room revenue / rooms available).
INVENTORY_COLUMNS = (
    "capacity",
    "blocked",
    "held",
    "booked",
    "rooms_total",
    "rooms_blocked",
    "rooms_available",
    "rooms_sold",
    "occupancy",
    "rooms_on_books",
    "rooms_picked_up",
    "rooms_cancelled",
    "net_pickup",
    "room_nights_total",
    "room_nights_blocked",
    "room_nights_available",
    "room_nights_sold",
    "adr",
    "revpar",
)


def test_hotel_saas_reads_no_room_inventory_column(db):
    """Seed 000: 部屋在庫・状態 — hotel-saas 参照不可. No relation of any schema has a column of room
    inventory that hotelcore_saas may select (through a table grant, a column grant or PUBLIC)."""
    names = ", ".join(f"'{c}'" for c in INVENTORY_COLUMNS)
    readable = rows(
        db,
        """
        select count(*)::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('api', 'report') and c.relkind in ('r', 'v', 'm', 'f', 'p')
          and has_any_column_privilege('hotelcore_saas', c.oid, 'select')""",
    )
    assert int(readable[0]) >= 5, "hotel-saas reads its sales and reservation reports"
    assert (
        rows(
            db,
            f"""
        select c.oid::regclass::text || '.' || a.attname from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'
          and c.relkind in ('r', 'v', 'm', 'f', 'p')
          and a.attname in ({names})
          and has_column_privilege('hotelcore_saas', c.oid, a.attnum, 'select')
        order by 1""",
        )
        == []
    )
