"""api.block_room / api.unblock_room: blocks overlap no stay and reduce the room type's capacity."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.errors import raises_code
from tests.support.frontdesk import counter_problems, overlaps
from tests.support.sql import call, one, scalar


def blocked(db, hotel, code, day):
    return one(
        db,
        "select blocked from core.inventory where hotel_id = %s and room_type_id = %s and night = %s",
        hotel.id,
        hotel.room_types[code],
        hotel.day(day),
    )


def test_block_takes_the_room_out_of_the_calendar_and_unblock_gives_it_back(db, hotel):
    block = scalar(
        db,
        "block_room",
        p_hotel_id=hotel.id,
        p_room_id=hotel.rooms["STD01"],
        p_from=hotel.day(2),
        p_until=hotel.day(4),
        p_kind="out_of_order",
        p_reason="leak",
        p_app_user="eng-1",
    )
    assert [blocked(db, hotel, "STD", d) for d in (1, 2, 3, 4)] == [0, 1, 1, 0]
    assert counter_problems(db) == []
    assert scalar(db, "unblock_room", p_hotel_id=hotel.id, p_block_id=block) == 2
    assert [blocked(db, hotel, "STD", d) for d in (2, 3)] == [0, 0]
    assert counter_problems(db) == []
    assert scalar(db, "unblock_room", p_hotel_id=hotel.id, p_block_id=block) == 0  # released already


def test_unblock_after_the_block_started_keeps_the_past_nights(db, hotel, clock):
    block = scalar(
        db,
        "block_room",
        p_hotel_id=hotel.id,
        p_room_id=hotel.rooms["STD01"],
        p_from=hotel.day(0),
        p_until=hotel.day(3),
    )
    clock.days(1)
    assert scalar(db, "unblock_room", p_hotel_id=hotel.id, p_block_id=block) == 2
    assert [blocked(db, hotel, "STD", d) for d in (0, 1, 2)] == [1, 0, 0]
    assert counter_problems(db) == []


def test_assignment_skips_a_blocked_room(db, hotel, book):
    for number in ("STD01", "STD02"):
        call(
            db,
            "block_room",
            p_hotel_id=hotel.id,
            p_room_id=hotel.rooms[number],
            p_from=hotel.day(0),
            p_until=hotel.day(5),
        )
    rid = book(hotel, 1, 2)
    assert call(db, "assign_room", p_reservation_id=rid)[0]["room_number"] == "STD03"
    assert overlaps(db) == []


def test_blocking_an_assigned_room_is_refused(db, hotel, book):
    rid = book(hotel, 1, 2)
    room = call(db, "assign_room", p_reservation_id=rid)[0]["room_id"]
    with raises_code("ROOM_UNAVAILABLE"):
        call(db, "block_room", p_hotel_id=hotel.id, p_room_id=room, p_from=hotel.day(2), p_until=hotel.day(3))


def test_overlapping_blocks_of_one_room_are_refused(db, hotel):
    call(
        db,
        "block_room",
        p_hotel_id=hotel.id,
        p_room_id=hotel.rooms["STD01"],
        p_from=hotel.day(1),
        p_until=hotel.day(3),
    )
    with raises_code("ROOM_UNAVAILABLE"):
        call(
            db,
            "block_room",
            p_hotel_id=hotel.id,
            p_room_id=hotel.rooms["STD01"],
            p_from=hotel.day(2),
            p_until=hotel.day(4),
        )


def test_a_block_that_would_oversell_a_night_is_refused(db, make_hotel, book):
    hotel = make_hotel(rooms=2)
    book(hotel, 1, 1, rooms=2)
    with raises_code("INVENTORY_UNAVAILABLE"):
        call(
            db,
            "block_room",
            p_hotel_id=hotel.id,
            p_room_id=hotel.rooms["STD01"],
            p_from=hotel.day(0),
            p_until=hotel.day(3),
        )
    assert blocked(db, hotel, "STD", 0) == 0


def test_a_block_reduces_what_can_be_booked(db, make_hotel, book):
    hotel = make_hotel(rooms=1)
    call(
        db,
        "block_room",
        p_hotel_id=hotel.id,
        p_room_id=hotel.rooms["STD01"],
        p_from=hotel.day(1),
        p_until=hotel.day(2),
    )
    with raises_code("INVENTORY_UNAVAILABLE"):
        book(hotel, 1, 1)


def test_past_or_reversed_dates_are_refused(db, hotel):
    for start, end in ((-1, 1), (3, 2), (3, 3)):
        with raises_code("INVALID_DATES"):
            call(
                db,
                "block_room",
                p_hotel_id=hotel.id,
                p_room_id=hotel.rooms["STD01"],
                p_from=hotel.day(start),
                p_until=hotel.day(end),
            )


def test_nights_outside_the_open_calendar_are_refused(db, hotel):
    with raises_code("INVALID_DATES"):
        call(
            db,
            "block_room",
            p_hotel_id=hotel.id,
            p_room_id=hotel.rooms["STD01"],
            p_from=hotel.day(25),
            p_until=hotel.day(40),
        )


def test_inactive_room_is_refused(db, hotel):
    call(db, "set_room_active", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD03"], p_active=False)
    with raises_code("ROOM_UNAVAILABLE"):
        call(
            db,
            "block_room",
            p_hotel_id=hotel.id,
            p_room_id=hotel.rooms["STD03"],
            p_from=hotel.day(1),
            p_until=hotel.day(2),
        )


def test_unknown_kind_room_and_block_are_refused(db, hotel):
    with raises_code("INVALID_ARGUMENT"):
        call(
            db,
            "block_room",
            p_hotel_id=hotel.id,
            p_room_id=hotel.rooms["STD01"],
            p_from=hotel.day(1),
            p_until=hotel.day(2),
            p_kind="party",
        )
    with raises_code("ROOM_NOT_FOUND"):
        call(db, "block_room", p_hotel_id=hotel.id, p_room_id=-1, p_from=hotel.day(1), p_until=hotel.day(2))
    with raises_code("ROOM_BLOCK_NOT_FOUND"):
        call(db, "unblock_room", p_hotel_id=hotel.id, p_block_id=-1)


def test_the_exclusion_constraint_keeps_blocks_off_stays_whoever_writes(db, hotel, book):
    rid = book(hotel, 1, 2)
    room = call(db, "assign_room", p_reservation_id=rid)[0]["room_id"]
    block = db.execute(
        "insert into core.room_blocks (hotel_id, room_id, room_type_id, nights, created_at) "
        "values (%s, %s, %s, daterange(%s, %s), now()) returning id",
        (hotel.id, room, hotel.room_types["STD"], hotel.day(2), hotel.day(3)),
    ).fetchone()[0]
    with pytest.raises(psycopg.errors.ExclusionViolation):
        db.execute(
            "insert into core.room_assignments (hotel_id, room_id, room_block_id, nights, assigned_at) "
            "values (%s, %s, %s, daterange(%s, %s), now())",
            (hotel.id, room, block, hotel.day(2), hotel.day(3)),
        )
