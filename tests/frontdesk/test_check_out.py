"""api.check_out: settles the folio, frees nights not slept, makes the room dirty, late check-out per rank."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.support.errors import raises_code
from tests.support.frontdesk import balance, counter_problems
from tests.support.sql import call, one


def room_of(db, reservation_id):
    return one(
        db,
        "select a.room_id from core.room_assignments a join core.reservation_rooms l "
        "on l.id = a.reservation_room_id where l.reservation_id = %s and a.active",
        reservation_id,
    )


def at_local(clock, hotel, day, hhmm):
    clock.at(dt.datetime.combine(hotel.day(day), dt.time(*hhmm), tzinfo=ZoneInfo("Asia/Tokyo")))


def test_check_out_charges_the_stay_and_settles(db, hotel, checked_in, pay_balance, clock, customer):
    rid = checked_in(hotel, 2)
    preauth = call(
        db,
        "authorise_payment",
        p_reservation_id=rid,
        p_method="card",
        p_amount=5000,
        p_processor_reference="pi_hold_1",
    )[0]["authorise_payment"]
    at_local(clock, hotel, 2, (9, 0))
    total = one(db, "select total_amount from core.reservations where id = %s", rid)
    with raises_code("FOLIO_UNBALANCED"):
        call(db, "check_out", p_reservation_id=rid)
    assert one(db, "select status::text from core.reservations where id = %s", rid) == "checked_in"
    assert one(db, "select count(*) from core.folio_lines") == 0  # the refused check-out posted nothing
    call(db, "post_charge", p_reservation_id=rid, p_kind="service", p_amount=1500, p_description="minibar")
    # the nights are posted by check-out itself when the night audit did not run: pay what they will cost
    call(
        db, "authorise_payment", p_reservation_id=rid, p_method="cash", p_amount=total + 1500, p_capture=True
    )
    out = call(db, "check_out", p_reservation_id=rid, p_app_user="desk-3")[0]
    assert (out["nights_charged"], out["nights_released"], out["late_checkout_fee"]) == (2, 0, 0)
    assert balance(db, rid) == 0
    assert one(db, "select status::text from core.reservations where id = %s", rid) == "checked_out"
    assert one(db, "select status::text from core.payments where id = %s", preauth) == "voided"
    assert one(db, "select settled_at is not null from core.folios where reservation_id = %s", rid)
    room = room_of(db, rid)
    assert one(db, "select status::text from core.rooms where id = %s", room) == "dirty"
    assert one(db, "select app_user from core.room_status_log where room_id = %s", room) == "desk-3"
    assert one(db, "select sum(amount) from core.folio_lines where kind in ('room_night', 'tax')") == total
    assert (
        one(db, "select qualifying_stays from core.customers where id = %s", customer) == 1
    )  # loyalty's trigger


def test_early_departure_frees_the_nights_not_slept(db, hotel, checked_in, pay_balance, clock):
    rid = checked_in(hotel, 4)
    at_local(clock, hotel, 1, (8, 0))
    call(db, "post_charge", p_reservation_id=rid, p_kind="service", p_amount=100, p_description="water")
    with pytest.raises(psycopg.Error):
        call(db, "check_out", p_reservation_id=rid)
    # one night slept: its price, plus the water
    line = db.execute(
        "select amount, nightly from core.reservation_rooms where reservation_id = %s", (rid,)
    ).fetchone()
    first = round(line[0] * line[1][0] / sum(line[1]))
    call(db, "authorise_payment", p_reservation_id=rid, p_method="cash", p_amount=first + 100, p_capture=True)
    out = call(db, "check_out", p_reservation_id=rid)[0]
    assert (out["nights_charged"], out["nights_released"]) == (1, 3)
    stay = one(db, "select stay from core.reservations where id = %s", rid)
    assert (stay.lower, stay.upper) == (hotel.day(0), hotel.day(1))
    assert one(db, "select total_amount from core.reservations where id = %s", rid) == first
    assert counter_problems(db) == []
    assert (
        one(
            db,
            "select sum(booked) from core.inventory where hotel_id = %s and night > %s",
            hotel.id,
            hotel.day(0),
        )
        == 0
    )


def test_late_check_out_is_charged_unless_the_rank_includes_it(
    db, make_hotel, book, make_customer, clock, pay_balance
):
    hotel = make_hotel(late_checkout_fee=3000)
    bronze = book(hotel, 0, 1, customer_id=make_customer("bronze"))
    platinum = book(hotel, 0, 1, customer_id=make_customer("platinum"))
    for rid in (bronze, platinum):
        call(db, "check_in", p_reservation_id=rid)
    call(db, "run_night_audit", p_hotel_id=hotel.id, p_business_date=hotel.day(0))
    for rid in (bronze, platinum):
        pay_balance(rid)
    at_local(clock, hotel, 1, (12, 30))  # after 10:00, before platinum's 14:00
    with raises_code("FOLIO_UNBALANCED"):
        call(db, "check_out", p_reservation_id=bronze)
    call(
        db,
        "post_charge",
        p_reservation_id=bronze,
        p_kind="late_checkout_fee",
        p_amount=3000,
        p_description="late check-out",
    )
    pay_balance(bronze)
    assert call(db, "check_out", p_reservation_id=bronze)[0]["late_checkout_fee"] == 0  # posted beforehand
    assert call(db, "check_out", p_reservation_id=platinum)[0]["late_checkout_fee"] == 0
    assert one(db, "select count(*) from core.folio_lines where kind = 'late_checkout_fee'") == 1


def test_platinum_after_its_late_checkout_time_pays_the_fee(
    db, make_hotel, book, make_customer, clock, pay_balance
):
    hotel = make_hotel(late_checkout_fee=3000)
    rid = book(hotel, 0, 1, customer_id=make_customer("platinum"))
    call(db, "check_in", p_reservation_id=rid)
    call(db, "run_night_audit", p_hotel_id=hotel.id, p_business_date=hotel.day(0))
    pay_balance(rid)
    at_local(clock, hotel, 1, (14, 30))
    call(db, "authorise_payment", p_reservation_id=rid, p_method="cash", p_amount=3000, p_capture=True)
    assert call(db, "check_out", p_reservation_id=rid)[0]["late_checkout_fee"] == 3000


def test_only_an_in_house_stay_checks_out(db, hotel, book):
    with raises_code("INVALID_STATE_TRANSITION"):
        call(db, "check_out", p_reservation_id=book(hotel, 0, 1))
    with raises_code("RESERVATION_NOT_FOUND"):
        call(db, "check_out", p_reservation_id=-1)


def test_an_overpaid_folio_is_unbalanced_too(db, hotel, checked_in, pay_balance):
    rid = checked_in(hotel, 1)
    call(db, "authorise_payment", p_reservation_id=rid, p_method="cash", p_amount=999999, p_capture=True)
    with raises_code("FOLIO_UNBALANCED"):
        call(db, "check_out", p_reservation_id=rid)
