"""api.check_in: on or after the arrival date (hotel time zone), into a clean or inspected room."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tests.support.errors import raises_code
from tests.support.sql import call, one


def test_check_in_assigns_the_best_ready_room_and_sets_checked_in(db, hotel, book):
    rid = book(hotel, 0, 2)
    call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD01"], p_status="dirty")
    call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD03"], p_status="inspected")
    rows = call(db, "check_in", p_reservation_id=rid, p_app_user="desk-1")
    assert [r["room_number"] for r in rows] == ["STD03"]
    assert rows[0]["nights"].lower == hotel.day(0) and rows[0]["nights"].upper == hotel.day(2)
    assert one(db, "select status::text from core.reservations where id = %s", rid) == "checked_in"
    assert one(
        db,
        "select bool_and(status = 'checked_in') from core.reservation_rooms where reservation_id = %s",
        rid,
    )


def test_check_in_uses_the_room_assigned_before(db, hotel, book):
    rid = book(hotel, 0, 1)
    call(db, "assign_room", p_reservation_id=rid, p_room_id=hotel.rooms["STD02"])
    assert [r["room_number"] for r in call(db, "check_in", p_reservation_id=rid)] == ["STD02"]


def test_check_in_into_the_room_asked_for(db, hotel, book):
    rid = book(hotel, 0, 1)
    call(db, "assign_room", p_reservation_id=rid, p_room_id=hotel.rooms["STD02"])
    rows = call(db, "check_in", p_reservation_id=rid, p_room_id=hotel.rooms["STD01"])
    assert [r["room_number"] for r in rows] == ["STD01"]
    assert (
        one(
            db,
            "select count(*) from core.room_assignments a join core.reservation_rooms l "
            "on l.id = a.reservation_room_id where l.reservation_id = %s and a.active",
            rid,
        )
        == 1
    )


def test_check_in_two_rooms_of_one_reservation(db, hotel, book):
    rid = book(hotel, 0, 2, rooms=2)
    rows = call(db, "check_in", p_reservation_id=rid)
    assert len({r["room_id"] for r in rows}) == 2


def test_assigned_room_not_clean_is_refused(db, hotel, book):
    rid = book(hotel, 0, 1)
    call(db, "assign_room", p_reservation_id=rid, p_room_id=hotel.rooms["STD01"])
    call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD01"], p_status="dirty")
    with raises_code("ROOM_NOT_READY"):
        call(db, "check_in", p_reservation_id=rid)
    assert one(db, "select status::text from core.reservations where id = %s", rid) == "confirmed"


def test_room_asked_for_not_clean_is_refused(db, hotel, book):
    rid = book(hotel, 0, 1)
    call(
        db, "set_room_status", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD02"], p_status="out_of_service"
    )
    with raises_code("ROOM_UNAVAILABLE"):
        call(db, "check_in", p_reservation_id=rid, p_room_id=hotel.rooms["STD02"])
    call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD02"], p_status="dirty")
    with raises_code("ROOM_NOT_READY"):
        call(db, "check_in", p_reservation_id=rid, p_room_id=hotel.rooms["STD02"])


def test_only_dirty_rooms_free_is_room_not_ready(db, hotel, book):
    rid = book(hotel, 0, 1)
    for number in ("STD01", "STD02", "STD03"):
        call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=hotel.rooms[number], p_status="dirty")
    with raises_code("ROOM_NOT_READY"):
        call(db, "check_in", p_reservation_id=rid)


def test_room_of_another_type_is_refused(db, hotel, book):
    rid = book(hotel, 0, 1)
    with raises_code("ROOM_TYPE_MISMATCH"):
        call(db, "check_in", p_reservation_id=rid, p_room_id=hotel.rooms["DLX01"])


def test_before_the_arrival_date_is_refused(db, hotel, book):
    rid = book(hotel, 1, 2)
    with raises_code("NOT_ARRIVAL_DAY"):
        call(db, "check_in", p_reservation_id=rid)


def test_after_the_stay_is_refused(db, hotel, book, clock):
    rid = book(hotel, 0, 1)
    clock.days(1)
    with raises_code("NOT_ARRIVAL_DAY"):
        call(db, "check_in", p_reservation_id=rid)


def test_arrival_date_is_read_in_the_hotel_time_zone(db, make_hotel, book, clock):
    """Midnight in Tokyo is 15:00 UTC the day before: the arrival date starts at Tokyo's midnight."""
    hotel = make_hotel(time_zone="Asia/Tokyo")
    rid = book(hotel, 1, 1)
    midnight = dt.datetime.combine(hotel.day(1), dt.time(0, 0), tzinfo=ZoneInfo("Asia/Tokyo"))
    clock.at(midnight - dt.timedelta(minutes=2))
    with raises_code("NOT_ARRIVAL_DAY"):
        call(db, "check_in", p_reservation_id=rid)
    clock.at(midnight + dt.timedelta(minutes=2))
    assert len(call(db, "check_in", p_reservation_id=rid)) == 1


def test_checking_in_twice_is_refused(db, hotel, book):
    rid = book(hotel, 0, 1)
    call(db, "check_in", p_reservation_id=rid)
    with raises_code("INVALID_STATE_TRANSITION"):
        call(db, "check_in", p_reservation_id=rid)


def test_unknown_reservation_is_refused(db):
    with raises_code("RESERVATION_NOT_FOUND"):
        call(db, "check_in", p_reservation_id=-1)


def test_no_free_room_is_room_unavailable(db, make_hotel, book):
    hotel = make_hotel(rooms=1)
    rid = book(hotel, 0, 1)
    db.execute("update core.rooms set status = 'out_of_order' where id = %s", (hotel.rooms["STD01"],))
    with raises_code("ROOM_UNAVAILABLE"):
        call(db, "check_in", p_reservation_id=rid)
