"""api.set_room_status and the room operation log (seed 000 v2.1)."""

from __future__ import annotations

from tests.support.errors import raises_code
from tests.support.sql import call, one


def test_status_change_is_logged_with_who_when_from_to_why(db, hotel):
    room = hotel.rooms["STD01"]
    assert (
        call(
            db,
            "set_room_status",
            p_hotel_id=hotel.id,
            p_room_id=room,
            p_status="dirty",
            p_reason="guest spill",
            p_app_user="hk-sato",
        )[0]["set_room_status"]
        == "dirty"
    )
    log = db.execute(
        "select from_status::text, to_status::text, reason, app_user, db_user, changed_at is not null "
        "from core.room_status_log where room_id = %s",
        (room,),
    ).fetchall()
    assert log == [("clean", "dirty", "guest spill", "hk-sato", one(db, "select session_user::text"), True)]
    assert one(db, "select status::text from core.rooms where id = %s", room) == "dirty"


def test_same_status_logs_nothing(db, hotel):
    call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD01"], p_status="clean")
    assert one(db, "select count(*) from core.room_status_log") == 0


def test_a_direct_update_is_logged_too(db, hotel):
    db.execute("update core.rooms set status = 'out_of_order' where id = %s", (hotel.rooms["STD02"],))
    assert (
        one(db, "select to_status::text from core.room_status_log where room_id = %s", hotel.rooms["STD02"])
        == "out_of_order"
    )


def test_unknown_status_is_refused(db, hotel):
    with raises_code("INVALID_ARGUMENT"):
        call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD01"], p_status="sparkling")


def test_unknown_room_is_refused(db, hotel, make_hotel):
    other = make_hotel()
    with raises_code("ROOM_NOT_FOUND"):
        call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=other.rooms["STD01"], p_status="dirty")


def test_unknown_hotel_is_refused(db, hotel):
    with raises_code("HOTEL_NOT_FOUND"):
        call(db, "set_room_status", p_hotel_id=-1, p_room_id=hotel.rooms["STD01"], p_status="dirty")
