"""Pooled connections: one connection of a gateway login (the HTTP layer's kind: a member of every
system group, trusted to switch) serves 10,000 requests in turn, alternating hotel scope and
system. Each request is one transaction that authenticates its API key (api.authenticate records
the request's identity for the transaction) and runs SET LOCAL ROLE, as pyapi.http does; none may
see a row of the previous request's hotel."""

from __future__ import annotations

import psycopg
from psycopg import sql

from tests.support.rights import World

ALTERNATIONS = 10_000


def test_scope_never_leaks_between_transactions(world: World, connect_as, db: psycopg.Connection) -> None:
    conn = connect_as("pool", autocommit=True)
    tokens = {
        (system, hotel): db.execute(
            "select token from api.issue_api_key(%s, %s, 'pooled')", (system, [hotel])
        ).fetchone()[0]
        for system, hotel in (("pms", world.a.id), ("member", world.b.id))
    }
    requests = [("pms", world.a.id), ("member", world.b.id)]
    cur = conn.cursor()
    for i in range(ALTERNATIONS):
        system, hotel = requests[i % 2]
        # one round trip: begin, the request's identity and role, the read
        cur.execute(
            sql.SQL(
                "begin;"
                " select set_config('role', a.db_role, true) from api.authenticate({}) a;"
                " select array_agg(distinct c.hotel_id), current_user from api.inventory_calendar c"
            ).format(sql.Literal(tokens[system, hotel]))
        )
        while cur.nextset():  # to the last result: the read
            pass
        seen, role = cur.fetchone()
        conn.execute("commit")
        assert seen == [hotel], f"request {i} ({system}, hotel {hotel}) saw hotels {seen}"
        assert role == f"hotelcore_{system}"
    # after the last request the connection is the gateway again, with no scope left over
    left = conn.execute(
        "select current_user, current_setting('hotelcore.request', true),"
        " (select count(distinct c.hotel_id) from api.inventory_calendar c)"
    ).fetchone()
    assert left == (conn.info.user, "", 2)  # no identity left: the gateway's own (chain-wide) view


def test_without_a_request_scope_a_system_role_sees_nothing_it_may_not(world: World, connect_as) -> None:
    """The saas system may not read inventory even through the gateway."""
    conn = connect_as("pool", autocommit=False)
    conn.execute("set local role hotelcore_saas")
    try:
        conn.execute("select count(*) from api.inventory_calendar")
        raise AssertionError("saas read the inventory")
    except psycopg.Error as exc:
        assert exc.sqlstate == "42501"
    conn.rollback()
