"""Hotel scope of group roles: core.login_hotels rows of every role a login inherits apply, whether
or not the login runs SET ROLE. A chain gives its Tokyo front desks a group role limited to hotel A;
a login created IN ROLE that group (and hotelcore_pms) must see hotel A only, with or without
SET ROLE, and SET ROLE to another role it holds must not widen it. Several limited roles intersect."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.support.errors import raises_code
from tests.support.rights import PASSWORD, World
from tests.support.sql import call

_PREFIX = f"hcg{os.getpid()}"


@pytest.fixture
def roles(server_url: str) -> Iterator[dict[str, str]]:
    """Two NOLOGIN regional groups and a PMS front-desk login inheriting both (cluster-wide)."""
    names = {k: f"{_PREFIX}_{k}" for k in ("tokyo", "chain", "desk", "noinherit")}
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in reversed(list(names.values())):
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))
        # the Tokyo front desks' group is a PMS group; the chain group only limits
        conn.execute(
            sql.SQL("create role {} nologin in role hotelcore_pms").format(sql.Identifier(names["tokyo"]))
        )
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(names["chain"])))
        conn.execute(
            sql.SQL("create role {} login password {} in role hotelcore_pms, {}, {}").format(
                sql.Identifier(names["desk"]),
                sql.Literal(PASSWORD),
                sql.Identifier(names["tokyo"]),
                sql.Identifier(names["chain"]),
            )
        )
        # a login that holds the group without inheriting it: the rows apply once it SET ROLEs
        conn.execute(
            sql.SQL("create role {} login noinherit password {} in role {}").format(
                sql.Identifier(names["noinherit"]), sql.Literal(PASSWORD), sql.Identifier(names["tokyo"])
            )
        )
    yield names
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in ("desk", "noinherit", "tokyo", "chain"):
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(names[name])))


def hotels_seen(conn: psycopg.Connection) -> set[int]:
    seen = {r[0] for r in conn.execute("select hotel_id from api.inventory_calendar").fetchall()}
    conn.rollback()
    return seen


def limit(db: psycopg.Connection, role: str, *hotels: int) -> None:
    for hotel in hotels:
        db.execute("insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (role, hotel))


def test_an_inherited_group_limits_a_login_without_set_role(
    db: psycopg.Connection, fresh_db: str, world: World, roles: dict[str, str]
) -> None:
    limit(db, roles["tokyo"], world.a.id)
    with psycopg.connect(fresh_db, user=roles["desk"], password=PASSWORD) as desk:
        assert hotels_seen(desk) == {world.a.id}
        # hotel B's reservation is simply not there, for reads and for changes
        with raises_code("RESERVATION_NOT_FOUND"):
            call(desk, "check_in", p_reservation_id=world.arriving[world.b.id])
        desk.rollback()
        # SET ROLE to the system role it also holds does not shed the group's rows
        desk.execute("set role hotelcore_pms")
        assert hotels_seen(desk) == {world.a.id}
        desk.execute("reset role")


def test_several_limited_roles_intersect(
    db: psycopg.Connection, fresh_db: str, world: World, roles: dict[str, str]
) -> None:
    limit(db, roles["tokyo"], world.a.id)
    limit(db, roles["chain"], world.a.id, world.b.id)
    with psycopg.connect(fresh_db, user=roles["desk"], password=PASSWORD) as desk:
        assert hotels_seen(desk) == {world.a.id}
    # the login's own rows intersect with its groups': nothing in common, nothing seen
    limit(db, roles["desk"], world.b.id)
    with psycopg.connect(fresh_db, user=roles["desk"], password=PASSWORD) as desk:
        assert hotels_seen(desk) == set()


def test_a_noinherit_membership_applies_once_the_role_is_taken(
    db: psycopg.Connection, fresh_db: str, world: World, roles: dict[str, str]
) -> None:
    limit(db, roles["tokyo"], world.a.id)
    with psycopg.connect(fresh_db, user=roles["noinherit"], password=PASSWORD) as conn:
        # without inheriting, the login holds no privilege of the group: nothing to read
        with pytest.raises(psycopg.Error) as excinfo:
            conn.execute("select hotel_id from api.inventory_calendar")
        assert excinfo.value.sqlstate == "42501"
        conn.rollback()
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(roles["tokyo"])))
        conn.commit()
        assert hotels_seen(conn) == {world.a.id}


def test_a_pooled_login_inheriting_a_limited_group_is_limited_in_every_request(
    db: psycopg.Connection, world: World, logins, connect_as, server_url: str, roles: dict[str, str]
) -> None:
    """The HTTP layer's login: a request of an API key for both hotels, authenticated and run as its
    system's role (SET LOCAL ROLE), keeps the limit of the group the pool login inherits."""
    limit(db, roles["tokyo"], world.a.id)
    with psycopg.connect(server_url, autocommit=True) as su:
        su.execute(
            sql.SQL("grant {} to {}").format(sql.Identifier(roles["tokyo"]), sql.Identifier(logins["pool"]))
        )
    try:
        pool = connect_as("pool")
        for system in ("member", "pms"):
            token = db.execute(
                "select token from api.issue_api_key(%s, %s, 'group scope')",
                (system, [world.a.id, world.b.id]),
            ).fetchone()[0]
            pool.execute("select set_config('role', a.db_role, true) from api.authenticate(%s) a", (token,))
            assert pool.execute("select current_user").fetchone()[0] == f"hotelcore_{system}"
            assert hotels_seen(pool) == {world.a.id}, system
    finally:
        with psycopg.connect(server_url, autocommit=True) as su:
            su.execute(
                sql.SQL("revoke {} from {}").format(
                    sql.Identifier(roles["tokyo"]), sql.Identifier(logins["pool"])
                )
            )
