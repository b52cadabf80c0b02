"""api.modify_reservation: dates, room type, guests; re-quote and move inventory; version checked."""

from __future__ import annotations

from tests.support.errors import raises_code
from tests.support.reservation import recount_problems
from tests.support.sql import call


def counters(db, hotel, room_type, day):
    return db.execute(
        "select held, booked from core.inventory where hotel_id = %s and room_type_id = %s and night = %s",
        (hotel.id, hotel.room_types[room_type], hotel.day(day)),
    ).fetchone()


def test_modify_moves_dates_and_requotes(db, hotel, book):
    res = book(hotel, 1, 2)
    out = call(
        db,
        "modify_reservation",
        p_reservation_id=res["reservation_id"],
        p_version=1,
        p_check_in=hotel.day(5),
        p_check_out=hotel.day(8),
    )[0]
    assert out["version"] == 2 and out["total_amount"] == 300000
    assert counters(db, hotel, "STD", 1) == (0, 0)
    assert counters(db, hotel, "STD", 6) == (0, 1)
    stay = db.execute(
        "select lower(stay), upper(stay) from core.reservation_rooms where reservation_id = %s",
        (res["reservation_id"],),
    ).fetchone()
    assert stay == (hotel.day(5), hotel.day(8))
    assert recount_problems(db) == []


def test_modify_can_extend_into_its_own_nights_when_sold_out(db, make_hotel, book):
    hotel = make_hotel(rooms=1)
    res = book(hotel, 2, 2)
    out = call(
        db,
        "modify_reservation",
        p_reservation_id=res["reservation_id"],
        p_version=1,
        p_check_in=hotel.day(1),
        p_check_out=hotel.day(4),
    )[0]
    assert out["total_amount"] == 300000
    assert recount_problems(db) == []


def test_modify_changes_room_type_keeping_the_plan_code_and_guests(db, hotel, book):
    res = book(hotel, 1, 2, plan="nr")
    out = call(
        db,
        "modify_reservation",
        p_reservation_id=res["reservation_id"],
        p_version=1,
        p_room_type_id=hotel.room_types["DLX"],
        p_adults=3,
    )[0]
    assert out["total_amount"] == 2 * 162000
    line = db.execute(
        "select room_type_id, rate_plan_id, adults from core.reservation_rooms where reservation_id = %s",
        (res["reservation_id"],),
    ).fetchone()
    assert line == (hotel.room_types["DLX"], hotel.plan("DLX", "nr"), 3)
    assert counters(db, hotel, "STD", 1) == (0, 0) and counters(db, hotel, "DLX", 1) == (0, 1)


def test_modify_judges_a_stale_version_and_refuses_one_never_read(db, hotel, book):
    res = book(hotel)
    call(db, "modify_reservation", p_reservation_id=res["reservation_id"], p_version=1, p_adults=1)
    # based on version 1 and asking what version 1 had: the newer change stays (the conflict rules,
    # tests/conflicts/test_reservation_rules.py)
    out = call(db, "modify_reservation", p_reservation_id=res["reservation_id"], p_version=1, p_adults=2)[0]
    assert (out["version"], out["conflict"]["verdict"], out["conflict"]["fields"]["adults"]["outcome"]) == (
        2,
        "merged",
        "kept_theirs",
    )
    for version in (3, 0):
        with raises_code("VERSION_CONFLICT"):
            call(
                db,
                "modify_reservation",
                p_reservation_id=res["reservation_id"],
                p_version=version,
                p_adults=2,
            )


def test_modify_into_a_sold_out_night_changes_nothing(db, make_hotel, book, make_customer):
    hotel = make_hotel(rooms=1)
    res = book(hotel, 1, 2)
    book(hotel, 5, 1, customer_id=make_customer())
    with raises_code("INVENTORY_UNAVAILABLE") as excinfo:
        call(
            db,
            "modify_reservation",
            p_reservation_id=res["reservation_id"],
            p_version=1,
            p_check_out=hotel.day(6),
        )
    assert str(hotel.day(5)) in excinfo.value.diag.message_detail
    assert db.execute(
        "select version, upper(stay) from core.reservations where id = %s", (res["reservation_id"],)
    ).fetchone() == (1, hotel.day(3))
    assert recount_problems(db) == []


def test_modify_refusals(db, hotel, book):
    res = book(hotel)
    rid = res["reservation_id"]
    cases = [
        ({"p_reservation_id": 999999}, "RESERVATION_NOT_FOUND"),
        ({"p_version": None}, "INVALID_ARGUMENT"),
        ({"p_check_out": hotel.day(1)}, "INVALID_DATES"),
        ({"p_check_in": hotel.day(-2)}, "INVALID_DATES"),
        ({"p_check_out": hotel.day(40)}, "STAY_TOO_LONG"),
        ({"p_adults": 3}, "OCCUPANCY_EXCEEDED"),
        ({"p_room_type_id": 999999}, "ROOM_TYPE_NOT_FOUND"),
        ({"p_rate_plan_id": hotel.plan("DLX")}, "RATE_PLAN_NOT_FOUND"),
    ]
    for kw, error in cases:
        with raises_code(error):
            call(db, "modify_reservation", **({"p_reservation_id": rid, "p_version": 1} | kw))
    call(db, "cancel_reservation", p_reservation_id=rid)
    with raises_code("INVALID_STATE_TRANSITION"):
        call(db, "modify_reservation", p_reservation_id=rid, p_version=2, p_adults=1)
