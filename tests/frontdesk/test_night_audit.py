"""api.run_night_audit: room charges for in-house stays, no-shows, business date rolled, idempotent."""

from __future__ import annotations

from tests.support.errors import raises_code
from tests.support.frontdesk import balance, counter_problems
from tests.support.sql import call, one


def lines(db, rid, kind):
    return one(
        db,
        "select count(*) from core.folio_lines l join core.folios f on f.id = l.folio_id "
        "where f.reservation_id = %s and l.kind = %s",
        rid,
        kind,
    )


def test_audit_posts_room_nights_marks_no_shows_and_rolls_the_date(db, make_hotel, book, checked_in):
    hotel = make_hotel(rooms=5)
    in_house = checked_in(hotel, 2, rooms=2)
    guaranteed = book(hotel, 0, 1)
    unguaranteed = book(hotel, 0, 1, guaranteed=False)
    later = book(hotel, 1, 1)
    out = call(db, "run_night_audit", p_hotel_id=hotel.id, p_business_date=hotel.day(0), p_app_user="audit")[
        0
    ]
    assert (out["room_nights_posted"], out["no_shows"], out["next_business_date"], out["already_run"]) == (
        2,
        2,
        hotel.day(1),
        False,
    )
    assert lines(db, in_house, "room_night") == 2 and lines(db, in_house, "tax") == 2
    assert one(db, "select business_date from core.hotels where id = %s", hotel.id) == hotel.day(1)
    statuses = dict(db.execute("select id, status::text from core.reservations").fetchall())
    assert (statuses[guaranteed], statuses[unguaranteed], statuses[later]) == (
        "no_show",
        "no_show",
        "confirmed",
    )
    assert lines(db, guaranteed, "no_show_fee") == 1 and balance(db, guaranteed) > 0
    assert lines(db, unguaranteed, "no_show_fee") == 1 and balance(db, unguaranteed) == 0  # waived
    assert counter_problems(db) == []


def test_a_second_run_for_the_same_date_changes_nothing(db, hotel, checked_in):
    checked_in(hotel, 2)
    first = call(db, "run_night_audit", p_hotel_id=hotel.id, p_business_date=hotel.day(0))[0]
    posted = one(db, "select count(*) from core.folio_lines")
    again = call(db, "run_night_audit", p_hotel_id=hotel.id, p_business_date=hotel.day(0))[0]
    assert again["already_run"] and again["room_nights_posted"] == first["room_nights_posted"]
    assert one(db, "select count(*) from core.folio_lines") == posted
    assert one(db, "select business_date from core.hotels where id = %s", hotel.id) == hotel.day(1)


def test_the_nights_of_a_stay_add_up_to_its_amount(db, hotel, checked_in, clock, pay_balance):
    rid = checked_in(hotel, 3)
    for day in range(3):
        call(db, "run_night_audit", p_hotel_id=hotel.id, p_business_date=hotel.day(day))
        clock.days(day + 1)
    assert one(db, "select sum(amount) from core.folio_lines where kind in ('room_night', 'tax')") == one(
        db, "select total_amount from core.reservations where id = %s", rid
    )
    pay_balance(rid)
    assert call(db, "check_out", p_reservation_id=rid)[0]["nights_charged"] == 3
    assert lines(db, rid, "room_night") == 3  # check-out posted nothing twice


def test_another_date_than_the_business_date_is_refused(db, hotel):
    call(db, "run_night_audit", p_hotel_id=hotel.id, p_business_date=hotel.day(-1))
    with raises_code("BUSINESS_DATE_MISMATCH"):
        call(db, "run_night_audit", p_hotel_id=hotel.id, p_business_date=hotel.day(3))


def test_a_day_not_yet_come_is_refused(db, hotel):
    with raises_code("BUSINESS_DATE_MISMATCH"):
        call(db, "run_night_audit", p_hotel_id=hotel.id, p_business_date=hotel.day(1))
    with raises_code("HOTEL_NOT_FOUND"):
        call(db, "run_night_audit", p_hotel_id=-1, p_business_date=hotel.day(0))
