"""Rights bounded to what each system needs: the hold TTL a caller may ask for (a hold takes rooms
off sale: hotel-member up to 15 minutes for its checkout, hotel-pms up to a day) and the chain-wide
points expiry sweep (a scheduled job, not hotel-member's: it expires one customer's points)."""

from __future__ import annotations

import psycopg

from tests.support.errors import raises_code
from tests.support.rights import World
from tests.support.sql import call


def hold(conn: psycopg.Connection, world: World, ttl: int, day: int = 3):
    return call(
        conn,
        "create_hold",
        p_hotel_id=world.a.id,
        p_room_type_id=world.a.room_type,
        p_rate_plan_id=world.a.rate_plan,
        p_check_in=world.a.day(day),
        p_check_out=world.a.day(day + 1),
        p_ttl_seconds=ttl,
    )[0]


def test_member_cannot_take_rooms_off_sale_for_a_day(world: World, connect_as) -> None:
    member = connect_as("member")
    with raises_code("INVALID_ARGUMENT") as excinfo:
        hold(member, world, 86400)
    assert "900" in excinfo.value.diag.message_detail
    member.rollback()
    assert hold(member, world, 900)["status"] == "active"
    member.rollback()
    pms = connect_as("pms")
    assert hold(pms, world, 86400)["status"] == "active"
    pms.rollback()


def test_the_chain_wide_points_expiry_is_a_scheduled_job(
    db: psycopg.Connection, world: World, logins, connect_as
) -> None:
    member = connect_as("member")
    with raises_code("PERMISSION_DENIED"):
        call(member, "expire_points", p_customer_id=None)
    member.rollback()
    assert call(member, "expire_points", p_customer_id=world.customer) == [{"expire_points": 0}]
    member.rollback()
    # an admin login limited to one hotel may not sweep the whole chain either
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (logins["admin"], world.a.id)
    )
    admin = connect_as("admin")
    with raises_code("PERMISSION_DENIED"):
        call(admin, "expire_points", p_customer_id=None)
    admin.rollback()
    db.execute("delete from core.login_hotels where role_name = %s", (logins["admin"],))
    assert call(admin, "expire_points", p_customer_id=None) == [{"expire_points": 0}]
    admin.rollback()
