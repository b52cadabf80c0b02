"""api.create_hold, api.release_hold, api.expire_holds: 180 s holds (seed 001)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.errors import raises_code
from tests.support.factories import Clock
from tests.support.reservation import recount_problems
from tests.support.sql import call, scalar


def hold(db, hotel, start=1, nights=2, room_type="STD", plan="flex", **kw):
    return call(
        db,
        "create_hold",
        p_hotel_id=hotel.id,
        p_room_type_id=hotel.room_types[room_type],
        p_rate_plan_id=hotel.plan(room_type, plan),
        p_check_in=hotel.day(start),
        p_check_out=hotel.day(start + nights),
        **kw,
    )[0]


def held(db, hotel, day, room_type="STD"):
    return db.execute(
        "select held from core.inventory where hotel_id = %s and room_type_id = %s and night = %s",
        (hotel.id, hotel.room_types[room_type], hotel.day(day)),
    ).fetchone()[0]


def test_create_hold_takes_the_nights_for_180_seconds(db, hotel):
    h = hold(db, hotel, 1, 2, p_rooms=2)
    assert h["status"] == "active" and h["total_amount"] == 2 * 200000
    seconds = db.execute(
        "select extract(epoch from expires_at - created_at) from core.holds where id = %s", (h["hold_id"],)
    ).fetchone()[0]
    assert seconds == 180
    assert [held(db, hotel, d) for d in (0, 1, 2, 3)] == [0, 2, 2, 0]
    assert (
        db.execute("select count(*) from core.hold_lines where hold_id = %s", (h["hold_id"],)).fetchone()[0]
        == 2
    )
    assert recount_problems(db) == []


def test_create_hold_is_idempotent_per_client_key(db, hotel):
    first = hold(db, hotel, p_client_key="req-1")
    again = hold(db, hotel, p_client_key="req-1")
    assert again["hold_id"] == first["hold_id"]
    assert held(db, hotel, 1) == 1
    with raises_code("IDEMPOTENCY_MISMATCH"):
        hold(db, hotel, 1, 3, p_client_key="req-1")


def test_create_hold_refuses_a_sold_out_night_naming_it(db, make_hotel):
    hotel = make_hotel(rooms=1)
    hold(db, hotel, 3, 1)
    with raises_code("INVENTORY_UNAVAILABLE") as excinfo:
        hold(db, hotel, 1, 4)
    assert str(hotel.day(3)) in excinfo.value.diag.message_detail
    assert held(db, hotel, 1) == 0  # nothing written


def test_overbooking_allowance_lets_one_more_sell(db, make_hotel):
    hotel = make_hotel(rooms=1)
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=hotel.room_types["STD"],
        p_from=hotel.day(1),
        p_until=hotel.day(2),
        p_overbooking_allowance=1,
    )
    hold(db, hotel, 1, 1)
    hold(db, hotel, 1, 1)
    with raises_code("INVENTORY_UNAVAILABLE"):
        hold(db, hotel, 1, 1)


def test_create_hold_refuses_stop_sell_and_restrictions(db, hotel):
    std = hotel.room_types["STD"]
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=std,
        p_from=hotel.day(2),
        p_until=hotel.day(3),
        p_stop_sell=True,
    )
    with raises_code("INVENTORY_UNAVAILABLE") as excinfo:
        hold(db, hotel, 1, 3)
    assert str(hotel.day(2)) in excinfo.value.diag.message_detail
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=std,
        p_from=hotel.day(5),
        p_until=hotel.day(6),
        p_min_stay=3,
    )
    with raises_code("RESTRICTION_VIOLATED") as excinfo:
        hold(db, hotel, 5, 2)
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=std,
        p_from=hotel.day(10),
        p_until=hotel.day(11),
        p_max_stay=1,
    )
    with raises_code("RESTRICTION_VIOLATED") as excinfo:
        hold(db, hotel, 10, 2)
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=std,
        p_from=hotel.day(20),
        p_until=hotel.day(21),
        p_closed_to_arrival=True,
    )
    with raises_code("RESTRICTION_VIOLATED") as excinfo:
        hold(db, hotel, 20, 1)
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=std,
        p_from=hotel.day(31),
        p_until=hotel.day(32),
        p_closed_to_departure=True,
    )
    with raises_code("RESTRICTION_VIOLATED"):
        hold(db, hotel, 30, 1)
    assert recount_problems(db) == [] and db.execute("select count(*) from core.holds").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"p_adults": 3}, "OCCUPANCY_EXCEEDED"),
        ({"p_adults": 0}, "INVALID_ARGUMENT"),
        ({"p_children": -1}, "INVALID_ARGUMENT"),
        ({"p_rooms": 0}, "INVALID_ARGUMENT"),
        ({"p_rooms": None}, "INVALID_ARGUMENT"),
        ({"p_customer_id": 999999}, "CUSTOMER_NOT_FOUND"),
        ({"p_ttl_seconds": 0}, "INVALID_ARGUMENT"),
    ],
)
def test_create_hold_refuses_bad_input(db, hotel, kw, error):
    with raises_code(error):
        hold(db, hotel, **kw)
    assert db.execute("select count(*) from core.holds").fetchone()[0] == 0


def test_create_hold_refuses_bad_dates_and_unknown_ids(db, hotel):
    for start, nights, error in (
        (-1, 1, "INVALID_DATES"),
        (2, 0, "INVALID_DATES"),
        (1, 31, "STAY_TOO_LONG"),
        (58, 4, "INVENTORY_UNAVAILABLE"),
    ):
        with raises_code(error):
            hold(db, hotel, start, nights)
    base = {
        "p_hotel_id": hotel.id,
        "p_room_type_id": hotel.room_types["STD"],
        "p_rate_plan_id": hotel.plan(),
        "p_check_in": hotel.day(1),
        "p_check_out": hotel.day(2),
    }
    for kw, error in (
        ({"p_hotel_id": 999999}, "HOTEL_NOT_FOUND"),
        ({"p_room_type_id": 999999}, "ROOM_TYPE_NOT_FOUND"),
        ({"p_rate_plan_id": hotel.plan("DLX")}, "RATE_PLAN_NOT_FOUND"),
        ({"p_hotel_id": None}, "INVALID_ARGUMENT"),
    ):
        with raises_code(error):
            call(db, "create_hold", **(base | kw))


def test_an_expired_hold_frees_its_rooms_before_any_sweep(db, make_hotel):
    hotel = make_hotel(rooms=1)
    first = hold(db, hotel, 1, 3)
    Clock(db).forward(dt.timedelta(minutes=3, seconds=1))
    second = hold(db, hotel, 2, 1)  # reclaims the expired hold under the row lock
    assert second["status"] == "active"
    status = db.execute("select status from core.holds where id = %s", (first["hold_id"],)).fetchone()[0]
    assert status == "expired"
    assert [held(db, hotel, d) for d in (1, 2, 3)] == [0, 1, 0]
    assert recount_problems(db) == []


def test_release_hold_gives_the_nights_back(db, hotel):
    h = hold(db, hotel)
    assert scalar(db, "release_hold", p_hold_id=h["hold_id"]) == "released"
    assert held(db, hotel, 1) == 0
    assert scalar(db, "release_hold", p_hold_id=h["hold_id"]) == "released"  # idempotent
    with raises_code("HOLD_NOT_FOUND"):
        call(db, "release_hold", p_hold_id=999999)


def test_release_of_a_confirmed_hold_is_refused(db, hotel, book):
    booked = book(hotel)
    with raises_code("HOLD_NOT_ACTIVE"):
        call(db, "release_hold", p_hold_id=booked["hold_id"])


def test_expire_holds_sweeps_only_expired_ones(db, make_hotel):
    a, b = make_hotel(), make_hotel()
    hold(db, a, 1, 2)
    hold(db, b, 3, 2, p_rooms=2)
    assert scalar(db, "expire_holds") == 0
    Clock(db).forward(dt.timedelta(minutes=10))
    hold(db, a, 10, 1)  # live
    assert scalar(db, "expire_holds", p_hotel_id=b.id) == 1
    assert scalar(db, "expire_holds") == 1
    assert db.execute("select count(*) from core.holds where status = 'active'").fetchone()[0] == 1
    assert recount_problems(db) == []
    with raises_code("INVALID_ARGUMENT"):
        call(db, "expire_holds", p_limit=0)
