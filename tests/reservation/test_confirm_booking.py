"""api.confirm_booking: a live hold becomes a confirmed reservation."""

from __future__ import annotations

import datetime as dt

from tests.support.errors import raises_code
from tests.support.factories import Clock
from tests.support.reservation import recount_problems
from tests.support.sql import call


def hold(db, hotel, start=1, nights=2, **kw):
    return call(
        db,
        "create_hold",
        p_hotel_id=hotel.id,
        p_room_type_id=hotel.room_types["STD"],
        p_rate_plan_id=hotel.plan(),
        p_check_in=hotel.day(start),
        p_check_out=hotel.day(start + nights),
        **kw,
    )[0]


def test_confirm_turns_the_hold_into_a_reservation(db, hotel, customer):
    h = hold(db, hotel, p_rooms=2, p_adults=1)
    res = call(
        db,
        "confirm_booking",
        p_hold_id=h["hold_id"],
        p_customer_id=customer,
        p_payment_authorisation="pa_123",
        p_origin="ota",
        p_special_requests="quiet room",
    )[0]
    assert res["status"] == "confirmed" and res["version"] == 1 and res["total_amount"] == 400000
    assert len(res["confirmation_code"]) == 8
    row = db.execute(
        "select origin, payment_authorisation, special_requests, lower(stay), hold_id "
        "from core.reservations where id = %s",
        (res["reservation_id"],),
    ).fetchone()
    assert row == ("ota", "pa_123", "quiet room", hotel.day(1), h["hold_id"])
    lines = db.execute(
        "select adults, amount from core.reservation_rooms where reservation_id = %s",
        (res["reservation_id"],),
    ).fetchall()
    assert lines == [(1, 200000), (1, 200000)]
    inv = db.execute(
        "select held, booked from core.inventory where hotel_id = %s and room_type_id = %s and night = %s",
        (hotel.id, hotel.room_types["STD"], hotel.day(1)),
    ).fetchone()
    assert inv == (0, 2)
    assert recount_problems(db) == []


def test_a_retried_confirmation_returns_the_same_reservation(db, hotel, customer):
    h = hold(db, hotel)
    first = call(db, "confirm_booking", p_hold_id=h["hold_id"], p_customer_id=customer)[0]
    again = call(db, "confirm_booking", p_hold_id=h["hold_id"], p_customer_id=customer)[0]
    assert again["reservation_id"] == first["reservation_id"]
    assert db.execute("select count(*) from core.reservations").fetchone()[0] == 1


def test_confirm_refuses_an_expired_hold(db, hotel, customer):
    h = hold(db, hotel)
    Clock(db).forward(dt.timedelta(seconds=181))
    with raises_code("HOLD_EXPIRED"):
        call(db, "confirm_booking", p_hold_id=h["hold_id"], p_customer_id=customer)
    call(db, "expire_holds")
    with raises_code("HOLD_EXPIRED"):
        call(db, "confirm_booking", p_hold_id=h["hold_id"], p_customer_id=customer)
    assert db.execute("select count(*) from core.reservations").fetchone()[0] == 0


def test_confirm_refuses_a_released_hold(db, hotel, customer):
    h = hold(db, hotel)
    call(db, "release_hold", p_hold_id=h["hold_id"])
    with raises_code("HOLD_NOT_ACTIVE"):
        call(db, "confirm_booking", p_hold_id=h["hold_id"], p_customer_id=customer)


def test_confirm_refuses_unknown_ids_and_bad_input(db, hotel, customer, make_customer):
    with raises_code("HOLD_NOT_FOUND"):
        call(db, "confirm_booking", p_hold_id=999999, p_customer_id=customer)
    h = hold(db, hotel, p_customer_id=customer)
    for kw, error in (
        ({"p_customer_id": 999999}, "CUSTOMER_NOT_FOUND"),
        ({"p_customer_id": None}, "INVALID_ARGUMENT"),
        ({"p_origin": "fax"}, "INVALID_ARGUMENT"),
        ({"p_customer_id": make_customer()}, "INVALID_ARGUMENT"),
        ({"p_hold_id": None}, "INVALID_ARGUMENT"),
    ):
        with raises_code(error):
            call(db, "confirm_booking", **({"p_hold_id": h["hold_id"], "p_customer_id": customer} | kw))
    assert db.execute("select count(*) from core.reservations").fetchone()[0] == 0


def test_confirmation_codes_are_unique_and_readable(db, hotel, book):
    codes = {book(hotel, i, 1)["confirmation_code"] for i in range(1, 6)}
    assert len(codes) == 5
    assert all(set(c) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for c in codes)


def test_confirmation_codes_are_the_scramble_of_the_sequence_number(db):
    # the released codes: a change of formula or alphabet would give existing numbers other codes
    released = {
        1: "025YJ93J",
        2: "04MV1BN1",
        1000: "D8EPT1NB",
        123456789: "SDN39SA6",
        2147483648: "V2AXWQE3",
        3474457000: "KY3AFM7B",
    }
    got = dict(
        db.execute(
            "select n, core.confirmation_code(n) from unnest(%s::bigint[]) n", (list(released),)
        ).fetchall()
    )
    assert got == released
    assert db.execute("select core.confirmation_code(null)").fetchone()[0] is None
