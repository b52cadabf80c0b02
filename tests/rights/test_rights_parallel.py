"""Hotel scope under parallel query: core.hotel_scope() is declared PARALLEL SAFE so that the
report views and their refreshes may use parallel workers. What it reads (core.login_hotels,
session_user, the role set, the settings role and hotelcore.request, the request's signed identity) must then
be the same in a worker as in the leader. Every read here runs with parallel query forced (a Gather
on top of every parallel-safe plan, workers free of cost), and must keep only the scope's hotels:
a login limited by core.login_hotels, a pooled request scoped by its API key's hotels (SET LOCAL
ROLE and transaction settings), and a role limited through SET ROLE. Each read's plan is checked to
hold a Gather, so that none passes because the planner stayed serial."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.rights import World


def force_parallel(conn: psycopg.Connection, *, local: bool = False) -> None:
    """Every parallel-safe plan gets a Gather (PostgreSQL 15 names the setting force_parallel_mode)."""
    name = "debug_parallel_query" if conn.info.server_version >= 160000 else "force_parallel_mode"
    scope = "local " if local else ""
    for setting in (
        f"{name} = on",
        "parallel_setup_cost = 0",
        "parallel_tuple_cost = 0",
        "min_parallel_table_scan_size = 0",
        "min_parallel_index_scan_size = 0",
        "max_parallel_workers_per_gather = 2",
    ):
        conn.execute(f"set {scope}{setting}")


def plan(conn: psycopg.Connection, query: str) -> str:
    return "\n".join(r[0] for r in conn.execute(f"explain (costs off) {query}").fetchall())


def hotels_read(conn: psycopg.Connection, relation: str) -> set[int]:
    """The hotels of the rows read from ``relation`` with parallel query forced; its plan has a Gather."""
    query = f"select distinct hotel_id from {relation}"
    assert "Gather" in plan(conn, query), f"{relation} is read without parallel workers"
    return {r[0] for r in conn.execute(query).fetchall()}


def hotel_relations(db: psycopg.Connection, schema: str, kinds: str) -> list[str]:
    """Relations of ``schema`` (of the given relkinds) with a hotel_id column."""
    return [
        r[0]
        for r in db.execute(
            """select format('%%I.%%I', n.nspname, c.relname) from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
               join pg_attribute a on a.attrelid = c.oid and a.attname = 'hotel_id' and not a.attisdropped
               where n.nspname = %s and c.relkind = any(%s::"char"[]) order by 1""",
            (schema, list(kinds)),
        ).fetchall()
    ]


def test_hotel_scope_and_the_clock_are_parallel_safe(db: psycopg.Connection) -> None:
    unsafe = db.execute(
        """select array_agg(p.oid::regprocedure::text order by 1) from pg_proc p
           where p.oid in ('core.hotel_scope()'::regprocedure, 'internal.now()'::regprocedure)
             and p.proparallel <> 's'"""
    ).fetchone()[0]
    assert unsafe is None


def test_a_scoped_login_reads_only_its_hotels_from_report_views_in_parallel(
    db: psycopg.Connection, world: World, logins, connect_as
) -> None:
    db.execute("select * from api.refresh_reports()")
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (logins["bi"], world.a.id)
    )
    views = [v for v in hotel_relations(db, "report", "v") if not v.startswith("report.booking_pace_in")] + [
        "report.booking_pace_in_scope"
    ]
    assert "report.occupancy_daily" in views and "report.inventory_recount" in views
    bi = connect_as("bi", autocommit=True)
    force_parallel(bi)
    everything = {world.a.id, world.b.id}
    for view in views:
        # rows of no hotel are chain-wide data (customer conflicts), seen in every scope like customers
        assert hotels_read(bi, view) - {None} <= {world.a.id}, view
        # the same view read by the owner, unscoped, holds both hotels where it has rows at all
        owners = {r[0] for r in db.execute(f"select distinct hotel_id from {view}").fetchall()}
        assert owners - {None} <= everything
    assert hotels_read(bi, "report.occupancy_daily") == {world.a.id}
    assert hotels_read(bi, "report.inventory_recount") == {world.a.id}
    assert hotels_read(bi, "report.revenue_daily_in_scope") == {world.a.id}


@pytest.mark.parametrize("hotel", ["a", "b"])
def test_a_pooled_request_reads_only_its_api_keys_hotels_in_parallel(
    world: World, connect_as, db: psycopg.Connection, hotel: str
) -> None:
    """The HTTP layer's way: one transaction, api.authenticate (the API key's hotels, in the
    identity it signs, which the workers inherit) and SET LOCAL ROLE."""
    conn = connect_as("pool", autocommit=False)
    hotel_id = getattr(world, hotel).id
    token = db.execute(
        "select token from api.issue_api_key('pms', %s, 'parallel')", ([hotel_id],)
    ).fetchone()[0]
    with conn.transaction():
        force_parallel(conn, local=True)
        conn.execute("select set_config('role', a.db_role, true) from api.authenticate(%s) a", (token,))
        for view in ("api.inventory_calendar", "api.folio_balances"):
            assert hotels_read(conn, view) == {hotel_id}, view
    conn.rollback()


def test_a_role_limited_through_set_role_reads_only_its_hotels_from_core_tables_in_parallel(
    db: psycopg.Connection, world: World
) -> None:
    """core.login_hotels names the owner role: SET ROLE narrows the superuser's session to hotel A.
    Every hotel table is read in parallel, and the scope function itself runs in a worker."""
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values ('hotelcore_owner', %s)", (world.a.id,)
    )
    tables = hotel_relations(db, "core", "r")
    with db.transaction():
        force_parallel(db, local=True)
        db.execute("set local role hotelcore_owner")
        seen = {}
        for table in tables:
            if table in ("core.login_hotels", "core.audit_log", "core.api_key_hotels"):
                continue  # no row-level security: not hotel data (see db/schema/rights.sql)
            seen[table] = hotels_read(db, table)
            if table == "core.events":
                # chain-wide rows (customers' events, points) belong to no hotel
                seen[table] -= {None}
            assert seen[table] <= {world.a.id}, table
        assert seen["core.inventory"] == {world.a.id}
        assert seen["core.reservations"] == {world.a.id}
        # the function called per row inside the worker (no initplan the leader would run first)
        query = "select core.hotel_scope() as scope, count(*) from core.inventory group by 1"
        text = "\n".join(
            r[0]
            for r in db.execute(f"explain (analyze, costs off, timing off, summary off) {query}").fetchall()
        )
        assert "Gather" in text and "Workers Launched: 0" not in text, text
        assert db.execute(query).fetchall() == [
            ([world.a.id], db.execute("select count(*) from core.inventory").fetchone()[0])
        ]
        db.execute("reset role")
    db.execute("delete from core.login_hotels where role_name = 'hotelcore_owner'")
