"""The audit trail names the API key that made a change, and who vouched for the application user.

The attack: a SQL client sets hotelcore.app_user to whatever it likes (here another key's
prefix), so the trail named a user no one vouched for. Now each row records the API key of the
request (api_key_id) and the application user as given, prefixed by who vouched for it: the key
inside a request, the login outside one.
"""

from __future__ import annotations

import psycopg

from tests.support.rights import World, issue_key, request
from tests.support.sql import call


def last_room_change(db: psycopg.Connection, room: int) -> tuple:
    return db.execute(
        "select db_role, login_role, api_key_id, app_user from core.audit_log"
        " where entity = 'room' and entity_id = %s order by id desc limit 1",
        (room,),
    ).fetchone()


def test_a_request_records_its_api_key_and_the_user_it_vouched_for(
    db: psycopg.Connection, world: World, connect_as
) -> None:
    key_id, token = issue_key(db, "pms", [world.a.id])
    pool = connect_as("pool")
    request(pool, token, app_user="frontdesk:yuki")
    call(pool, "set_room_status", p_hotel_id=world.a.id, p_room_id=world.a.room_ids[3], p_status="dirty")
    pool.commit()
    assert last_room_change(db, world.a.room_ids[3]) == (
        "hotelcore_pms",
        pool.info.user,
        key_id,
        f"key-{key_id}:frontdesk:yuki",
    )


def test_a_sql_client_cannot_pass_itself_off_as_a_key(
    db: psycopg.Connection, world: World, connect_as
) -> None:
    key_id, _ = issue_key(db, "pms", [world.a.id])
    pms = connect_as("pms")
    pms.execute("select set_config('hotelcore.app_user', %s, true)", (f"key-{key_id}:manager",))
    pms.execute("select set_config('hotelcore.api_key_id', %s, true)", (str(key_id),))
    call(pms, "set_room_status", p_hotel_id=world.a.id, p_room_id=world.a.room_ids[4], p_status="dirty")
    pms.commit()
    login = pms.info.user
    assert last_room_change(db, world.a.room_ids[4]) == (
        login,
        login,
        None,
        f"login-{login}:key-{key_id}:manager",
    )
