"""The waitlist (seed 003): join, offers in order when nights free up, expiry, leaving."""

from __future__ import annotations

import datetime as dt

from tests.support.errors import raises_code
from tests.support.factories import Clock
from tests.support.reservation import recount_problems
from tests.support.sql import call, scalar


def join(db, hotel, customer_id, start=1, nights=2, **kw):
    return scalar(
        db,
        "join_waitlist",
        p_hotel_id=hotel.id,
        p_room_type_id=hotel.room_types["STD"],
        p_rate_plan_id=hotel.plan(),
        p_customer_id=customer_id,
        p_check_in=hotel.day(start),
        p_check_out=hotel.day(start + nights),
        **kw,
    )


def status(db, entry_id):
    return db.execute(
        "select status, offer_hold_id from core.waitlist_entries where id = %s", (entry_id,)
    ).fetchone()


def test_a_cancellation_offers_the_nights_first_come_first_served(db, make_hotel, book, make_customer):
    hotel = make_hotel(rooms=1)
    res = book(hotel, 1, 2)
    first, second = make_customer(), make_customer()
    e1 = join(db, hotel, first)
    e2 = join(db, hotel, second)
    out = call(db, "cancel_reservation", p_reservation_id=res["reservation_id"])[0]
    assert out["waitlist_offers"] == 1
    st, hold_id = status(db, e1)
    assert st == "offered" and status(db, e2)[0] == "waiting"
    assert recount_problems(db) == []
    booked = call(db, "confirm_booking", p_hold_id=hold_id, p_customer_id=first)[0]
    assert booked["status"] == "confirmed" and status(db, e1)[0] == "booked"


def test_priority_ranks_go_first(db, make_hotel, book, make_customer):
    hotel = make_hotel(rooms=1)
    res = book(hotel, 1, 2)
    early_bronze = join(db, hotel, make_customer("bronze"))
    silver = join(db, hotel, make_customer("silver"))  # silver has no priority booking
    gold = join(db, hotel, make_customer("gold"))
    platinum = join(db, hotel, make_customer("platinum"))
    call(db, "cancel_reservation", p_reservation_id=res["reservation_id"])
    assert status(db, platinum)[0] == "offered"
    assert [status(db, e)[0] for e in (gold, early_bronze, silver)] == ["waiting"] * 3
    # the platinum guest declines: the next offer goes to gold, then the first come
    call(db, "leave_waitlist", p_entry_id=platinum)
    assert status(db, platinum)[0] == "cancelled"
    assert scalar(db, "offer_waitlist", p_hotel_id=hotel.id) == 1
    assert status(db, gold)[0] == "offered"


def test_an_entry_is_only_offered_when_its_whole_stay_is_free(db, make_hotel, book, make_customer):
    hotel = make_hotel(rooms=1)
    a = book(hotel, 1, 2)
    book(hotel, 3, 1, customer_id=make_customer())
    wants_three = join(db, hotel, make_customer(), 1, 3)
    wants_one = join(db, hotel, make_customer(), 2, 1)
    call(db, "cancel_reservation", p_reservation_id=a["reservation_id"])
    assert status(db, wants_three)[0] == "waiting" and status(db, wants_one)[0] == "offered"


def test_offers_and_entries_expire(db, make_hotel, book, make_customer):
    hotel = make_hotel(rooms=1)
    res = book(hotel, 1, 2)
    offered = join(db, hotel, make_customer())
    call(db, "cancel_reservation", p_reservation_id=res["reservation_id"])
    assert status(db, offered)[0] == "offered"
    Clock(db).forward(dt.timedelta(minutes=31))
    assert scalar(db, "expire_waitlist") == 1
    assert status(db, offered)[0] == "expired"
    later = join(
        db,
        hotel,
        make_customer(),
        10,
        1,
        p_expires_at=db.execute("select internal.now() + interval '1 hour'").fetchone()[0],
    )
    assert scalar(db, "expire_waitlist") == 0 and status(db, later)[0] == "waiting"
    Clock(db).forward(dt.timedelta(hours=2))
    assert scalar(db, "expire_waitlist") == 1
    assert status(db, later)[0] == "expired"
    scalar(db, "expire_holds")
    assert recount_problems(db) == []


def test_join_refusals(db, hotel, customer):
    for kw, error in (
        ({"p_customer_id": 999999}, "CUSTOMER_NOT_FOUND"),
        ({"p_adults": 5}, "OCCUPANCY_EXCEEDED"),
        ({"p_rooms": 0}, "INVALID_ARGUMENT"),
        ({"p_expires_at": "2000-01-01T00:00:00Z"}, "INVALID_ARGUMENT"),
    ):
        args = {k: v for k, v in kw.items() if k != "p_customer_id"}
        with raises_code(error):
            join(db, hotel, kw.get("p_customer_id", customer), **args)
    with raises_code("INVALID_DATES"):
        join(db, hotel, customer, -3, 1)
    with raises_code("WAITLIST_ENTRY_NOT_FOUND"):
        call(db, "leave_waitlist", p_entry_id=999999)
