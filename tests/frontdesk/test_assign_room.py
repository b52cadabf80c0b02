"""api.assign_room and api.move_room: one active use per room and night."""

from __future__ import annotations

from tests.support.errors import raises_code
from tests.support.frontdesk import overlaps
from tests.support.sql import call, one


def test_assign_picks_a_free_room_of_the_type_ready_ones_first(db, hotel, book):
    call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD01"], p_status="dirty")
    call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD02"], p_status="out_of_order")
    first = call(db, "assign_room", p_reservation_id=book(hotel, 1, 3), p_app_user="desk-1")[0]
    assert first["room_number"] == "STD03"
    assert (first["nights"].lower, first["nights"].upper) == (hotel.day(1), hotel.day(4))
    # the only ready room is taken: a dirty one is assigned for a later arrival (housekeeping cleans it)
    assert call(db, "assign_room", p_reservation_id=book(hotel, 2, 1))[0]["room_number"] == "STD01"
    with raises_code("ROOM_UNAVAILABLE"):
        call(db, "assign_room", p_reservation_id=book(hotel, 2, 1))
    assert overlaps(db) == []


def test_assign_is_idempotent_and_reassigns_to_the_room_asked(db, hotel, book):
    rid = book(hotel, 1, 2)
    room = call(db, "assign_room", p_reservation_id=rid)[0]["room_id"]
    assert call(db, "assign_room", p_reservation_id=rid)[0]["room_id"] == room
    other = next(r for n, r in hotel.rooms.items() if n.startswith("STD") and r != room)
    assert call(db, "assign_room", p_reservation_id=rid, p_room_id=other)[0]["room_id"] == other
    assert one(db, "select count(*) from core.room_assignments where active") == 1


def test_a_room_taken_for_an_overlapping_night_is_refused(db, hotel, book):
    call(db, "assign_room", p_reservation_id=book(hotel, 1, 3), p_room_id=hotel.rooms["STD01"])
    with raises_code("ROOM_UNAVAILABLE"):
        call(db, "assign_room", p_reservation_id=book(hotel, 3, 2), p_room_id=hotel.rooms["STD01"])
    # back to back is fine: check-out day is the next arrival day
    call(db, "assign_room", p_reservation_id=book(hotel, 4, 2), p_room_id=hotel.rooms["STD01"])


def test_room_of_another_type_and_unknown_room_are_refused(db, hotel, book):
    rid = book(hotel, 1, 1)
    with raises_code("ROOM_TYPE_MISMATCH"):
        call(db, "assign_room", p_reservation_id=rid, p_room_id=hotel.rooms["DLX01"])
    with raises_code("ROOM_NOT_FOUND"):
        call(db, "assign_room", p_reservation_id=rid, p_room_id=-5)
    with raises_code("RESERVATION_NOT_FOUND"):
        call(db, "assign_room", p_reservation_id=-5)


def test_in_house_and_cancelled_stays_are_refused(db, hotel, book):
    rid = book(hotel, 0, 1)
    call(db, "check_in", p_reservation_id=rid)
    with raises_code("INVALID_STATE_TRANSITION"):
        call(db, "assign_room", p_reservation_id=rid)


def test_cancelling_a_booking_frees_its_room(db, hotel, book):
    rid = book(hotel, 3, 2)
    call(db, "assign_room", p_reservation_id=rid, p_room_id=hotel.rooms["STD01"])
    call(db, "cancel_reservation", p_reservation_id=rid)
    assert one(db, "select count(*) from core.room_assignments where active") == 0
    call(db, "assign_room", p_reservation_id=book(hotel, 3, 2), p_room_id=hotel.rooms["STD01"])


def test_new_dates_release_an_assignment_that_no_longer_fits(db, hotel, book):
    rid = book(hotel, 3, 2)
    call(db, "assign_room", p_reservation_id=rid)
    version = one(db, "select version from core.reservations where id = %s", rid)
    call(
        db,
        "modify_reservation",
        p_reservation_id=rid,
        p_version=version,
        p_check_in=hotel.day(5),
        p_check_out=hotel.day(6),
    )
    assert one(db, "select count(*) from core.room_assignments where active") == 0


def test_move_room_keeps_the_nights_slept_on_the_old_room(db, hotel, checked_in, clock):
    rid = checked_in(hotel, 3)
    old = one(
        db,
        "select a.room_id from core.room_assignments a join core.reservation_rooms l "
        "on l.id = a.reservation_room_id where l.reservation_id = %s",
        rid,
    )
    clock.days(1)
    moved = call(db, "move_room", p_reservation_id=rid, p_reason="noisy neighbours", p_app_user="desk-2")[0]
    assert moved["room_id"] != old
    assert (moved["nights"].lower, moved["nights"].upper) == (hotel.day(1), hotel.day(3))
    kept = db.execute(
        "select lower(nights), upper(nights) from core.room_assignments where room_id = %s and active", (old,)
    ).fetchone()
    assert kept == (hotel.day(0), hotel.day(1))
    assert db.execute(
        "select to_status::text, reason, app_user from core.room_status_log where room_id = %s", (old,)
    ).fetchall() == [("dirty", "noisy neighbours", "desk-2")]
    assert overlaps(db) == []


def test_move_on_the_arrival_day_moves_every_night(db, hotel, checked_in):
    rid = checked_in(hotel, 2)
    moved = call(db, "move_room", p_reservation_id=rid, p_room_id=hotel.rooms["STD03"])[0]
    assert (moved["nights"].lower, moved["nights"].upper) == (hotel.day(0), hotel.day(2))
    assert one(db, "select count(*) from core.room_assignments where active") == 1


def test_move_refusals(db, hotel, book, checked_in):
    with raises_code("INVALID_STATE_TRANSITION"):
        call(db, "move_room", p_reservation_id=book(hotel, 1, 1))
    rid = checked_in(hotel, 2)
    current = call(db, "check_in", p_reservation_id=book(hotel, 0, 1))[0][
        "room_id"
    ]  # another guest in a room
    mine = one(
        db,
        "select a.room_id from core.room_assignments a join core.reservation_rooms l "
        "on l.id = a.reservation_room_id where l.reservation_id = %s",
        rid,
    )
    with raises_code("INVALID_ARGUMENT"):
        call(db, "move_room", p_reservation_id=rid, p_room_id=mine)
    with raises_code("ROOM_UNAVAILABLE"):
        call(db, "move_room", p_reservation_id=rid, p_room_id=current)
    with raises_code("ROOM_TYPE_MISMATCH"):
        call(db, "move_room", p_reservation_id=rid, p_room_id=hotel.rooms["DLX01"])
    free = next(r for n, r in hotel.rooms.items() if n.startswith("STD") and r not in (mine, current))
    call(db, "set_room_status", p_hotel_id=hotel.id, p_room_id=free, p_status="dirty")
    with raises_code("ROOM_NOT_READY"):
        call(db, "move_room", p_reservation_id=rid, p_room_id=free)
