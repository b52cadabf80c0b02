"""A confirmation's rights, call by call: who may confirm a hold and with which origin, who counts
as unrestricted (read from role memberships: a superuser is a member of every role), and that a
login limited to one hotel reaches no other hotel's hold, by the api or by direct SQL."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.errors import DENIED, raises_code
from tests.support.rights import World
from tests.support.sql import call


def hold(conn: psycopg.Connection, w: World, start: int = 12) -> int:
    h = w.a
    held = call(
        conn,
        "create_hold",
        p_hotel_id=h.id,
        p_room_type_id=h.room_type,
        p_rate_plan_id=h.rate_plan,
        p_check_in=h.day(start),
        p_check_out=h.day(start + 1),
    )[0]["hold_id"]
    conn.commit()
    return held


def confirm(conn: psycopg.Connection, w: World, hold_id: int, origin: str) -> dict:
    return call(conn, "confirm_booking", p_hold_id=hold_id, p_customer_id=w.customer, p_origin=origin)[0]


@pytest.mark.parametrize("origin", ["direct", "pms", "ota"])
def test_hotel_member_confirms_as_origin_member_only(world: World, connect_as, origin: str) -> None:
    member = connect_as("member")
    held = hold(member, world)
    with raises_code("PERMISSION_DENIED"):
        confirm(member, world, held, origin)
    member.rollback()
    assert confirm(member, world, held, "member")["status"] == "confirmed"


def test_the_pms_confirms_with_any_origin(world: World, connect_as) -> None:
    pms = connect_as("pms")
    assert confirm(pms, world, hold(pms, world), "direct")["status"] == "confirmed"


@pytest.mark.parametrize("system", ["saas", "bi"])
def test_systems_without_the_create_right_cannot_confirm(
    db: psycopg.Connection, world: World, connect_as, system: str
) -> None:
    other = connect_as(system)
    with pytest.raises(psycopg.Error) as exc:
        confirm(other, world, world.hold[world.a.id], "member")
    assert exc.value.sqlstate in DENIED
    other.rollback()
    assert db.execute(
        "select status from core.holds where id = %s", (world.hold[world.a.id],)
    ).fetchone() == ("active",)


@pytest.mark.parametrize("key", ["member", "pms", "saas", "bi", "pool", "admin"])
def test_unrestricted_is_admin_membership(db: psycopg.Connection, connect_as, key: str) -> None:
    # an admin-only action (chain administration): hotelcore_admin's members and superusers only
    conn = connect_as(key)
    if key == "admin":
        call(conn, "list_api_keys")
    else:
        with pytest.raises(psycopg.Error) as exc:
            call(conn, "list_api_keys")
        assert exc.value.sqlstate in DENIED
    conn.rollback()
    call(db, "list_api_keys")  # the test's superuser login


def test_a_login_limited_to_one_hotel_reaches_no_other_hotels_hold(
    db: psycopg.Connection, world: World, logins, connect_as
) -> None:
    # a PMS login limited to hotel A: hotel B's hold is not found, and core is not readable at all
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (logins["pms"], world.a.id)
    )
    db.commit()
    pms = connect_as("pms")
    b_hold = world.hold[world.b.id]
    with raises_code("HOLD_NOT_FOUND"):
        confirm(pms, world, b_hold, "direct")
    pms.rollback()
    for statement in (
        "select * from core.holds",
        "update core.holds set status = 'released'",
        "select * from core.reservations",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pms.execute(statement)
        pms.rollback()
    assert db.execute("select status from core.holds where id = %s", (b_hold,)).fetchone() == ("active",)
    # its own hotel's hold it confirms
    assert confirm(pms, world, hold(pms, world), "direct")["status"] == "confirmed"
