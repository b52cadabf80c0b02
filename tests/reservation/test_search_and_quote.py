"""api.search_availability, api.search_city_availability and api.quote."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.support.errors import raises_code
from tests.support.factories import Clock
from tests.support.reservation import chain_search_mismatches
from tests.support.sql import call, scalar


def search(db, hotel, start=1, nights=2, **kw):
    return call(
        db,
        "search_availability",
        p_hotel_id=hotel.id,
        p_check_in=hotel.day(start),
        p_check_out=hotel.day(start + nights),
        **kw,
    )


def test_search_lists_every_room_type_and_plan_cheapest_first(db, hotel):
    rows = search(db, hotel)
    assert {(r["room_type_code"], r["rate_plan_code"]) for r in rows} == {
        (t, p) for t in ("STD", "DLX") for p in ("flex", "nr", "bb")
    }
    assert [r["total"] for r in rows] == sorted(r["total"] for r in rows)
    std_flex = next(r for r in rows if (r["room_type_code"], r["rate_plan_code"]) == ("STD", "flex"))
    assert std_flex["available_rooms"] == 3 and std_flex["total"] == 200000 and std_flex["currency"] == "KRW"


def test_search_respects_occupancy_rooms_and_sold_out_nights(db, hotel, book):
    assert {r["room_type_code"] for r in search(db, hotel, p_adults=3)} == {"DLX"}
    assert search(db, hotel, p_adults=2, p_children=2) == []
    for _ in range(3):
        book(hotel, 2, 1)
    assert {r["room_type_code"] for r in search(db, hotel, 1, 3)} == {"DLX"}
    assert search(db, hotel, 5, 2, p_rooms=4) == []


def test_search_respects_restrictions_and_stop_sell(db, hotel):
    std = hotel.room_types["STD"]
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=std,
        p_from=hotel.day(1),
        p_until=hotel.day(2),
        p_min_stay=3,
    )
    assert {r["room_type_code"] for r in search(db, hotel, 1, 2)} == {"DLX"}
    assert "STD" in {r["room_type_code"] for r in search(db, hotel, 1, 3)}
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=std,
        p_from=hotel.day(3),
        p_until=hotel.day(4),
        p_closed_to_departure=True,
    )
    assert {r["room_type_code"] for r in search(db, hotel, 1, 2)} == {"DLX"}
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=hotel.room_types["DLX"],
        p_from=hotel.day(2),
        p_until=hotel.day(3),
        p_stop_sell=True,
    )
    assert search(db, hotel, 1, 2) == []


def test_search_beyond_the_open_calendar_finds_nothing(db, hotel):
    assert search(db, hotel, 58, 5) == []


@pytest.mark.parametrize(
    ("start", "nights", "error"),
    [
        (-1, 2, "INVALID_DATES"),
        (3, 0, "INVALID_DATES"),
        (3, -2, "INVALID_DATES"),
        (1, 31, "STAY_TOO_LONG"),
    ],
)
def test_search_refuses_bad_stays(db, hotel, start, nights, error):
    with raises_code(error):
        search(db, hotel, start, nights)


def test_search_refuses_nulls_unknown_hotel_and_bad_counts(db, hotel):
    with raises_code("INVALID_DATES"):
        call(db, "search_availability", p_hotel_id=hotel.id, p_check_in=None, p_check_out=hotel.day(2))
    with raises_code("HOTEL_NOT_FOUND"):
        call(db, "search_availability", p_hotel_id=999999, p_check_in=hotel.day(1), p_check_out=hotel.day(2))
    for kw in ({"p_rooms": 0}, {"p_adults": 0}, {"p_children": -1}, {"p_rooms": None}):
        with raises_code("INVALID_ARGUMENT"):
            search(db, hotel, **kw)


def test_expired_holds_never_count_as_taken_in_search(db, make_hotel):
    hotel = make_hotel(rooms=1)
    call(
        db,
        "create_hold",
        p_hotel_id=hotel.id,
        p_room_type_id=hotel.room_types["STD"],
        p_rate_plan_id=hotel.plan(),
        p_check_in=hotel.day(2),
        p_check_out=hotel.day(4),
    )
    assert "STD" not in {r["room_type_code"] for r in search(db, hotel, 2, 1)}
    Clock(db).forward(dt.timedelta(seconds=181))
    assert "STD" in {r["room_type_code"] for r in search(db, hotel, 2, 1)}
    calendar = db.execute(
        "select sellable from api.inventory_calendar where hotel_id = %s and room_type_id = %s "
        "and night = %s",
        (hotel.id, hotel.room_types["STD"], hotel.day(2)),
    ).fetchone()[0]
    assert calendar == 1


def test_city_search_returns_the_cheapest_offer_per_hotel(db, make_hotel):
    a = make_hotel(city="Busan")
    b = make_hotel(city="Busan", base_prices=(50000, 90000))
    make_hotel(city="Seoul")
    rows = call(db, "search_city_availability", p_city="busan", p_check_in=a.day(1), p_check_out=a.day(3))
    assert {r["hotel_id"] for r in rows} == {a.id, b.id}
    cheapest_b = next(r for r in rows if r["hotel_id"] == b.id)
    assert cheapest_b["lowest_total"] == 90000 and cheapest_b["bookable_offers"] == 6
    chain = call(
        db,
        "search_city_availability",
        p_city=None,
        p_hotel_ids=[a.id],
        p_check_in=a.day(1),
        p_check_out=a.day(3),
    )
    assert [r["hotel_id"] for r in chain] == [a.id]
    with raises_code("INVALID_ARGUMENT"):
        call(db, "search_city_availability", p_city=None, p_check_in=a.day(1), p_check_out=a.day(3))
    with raises_code("INVALID_DATES"):
        call(db, "search_city_availability", p_city="Busan", p_check_in=a.day(3), p_check_out=a.day(1))


@pytest.mark.parametrize("rooms", [1, 2])
def test_city_search_breaks_a_tie_on_the_total_as_the_hotel_list_orders_it(db, make_hotel, rooms):
    """Two room types at the same prices: their offers cost the same, and the city search shows the
    one the hotel's own list shows first (total, then room type, then rate plan)."""
    h = make_hotel(city="Gwangju", base_prices=(100000, 100000))
    one = call(
        db, "search_availability", p_hotel_id=h.id, p_check_in=h.day(1), p_check_out=h.day(3), p_rooms=rooms
    )
    tied = [r for r in one if r["total"] == one[0]["total"]]
    assert len({r["room_type_id"] for r in tied}) == 2  # the tie this test is about
    (row,) = call(
        db,
        "search_city_availability",
        p_city="Gwangju",
        p_check_in=h.day(1),
        p_check_out=h.day(3),
        p_rooms=rooms,
    )
    assert (row["room_type_id"], row["rate_plan_id"], row["lowest_total"]) == (
        min(r["room_type_id"] for r in tied),
        min(r["rate_plan_id"] for r in tied if r["room_type_id"] == min(t["room_type_id"] for t in tied)),
        one[0]["total"],
    )
    assert row["bookable_offers"] == len(one)


def quote(db, hotel, start=1, nights=2, room_type="STD", plan="flex", **kw):
    return scalar(
        db,
        "quote",
        p_hotel_id=hotel.id,
        p_room_type_id=hotel.room_types[room_type],
        p_rate_plan_id=hotel.plan(room_type, plan),
        p_check_in=hotel.day(start),
        p_check_out=hotel.day(start + nights),
        **kw,
    )


def test_quote_breaks_the_price_down_night_by_night(db, hotel):
    scalar(db, "set_pricing_rule", p_hotel_id=hotel.id, p_kind="weekend", p_multiplier=1.2)
    q = quote(db, hotel, 1, 7)
    assert len(q["night_prices"]) == 7
    weekend = [n for n in q["night_prices"] if n["rule"] == "weekend"]
    assert len(weekend) == 2 and all(n["price"] == 120000 for n in weekend)
    assert q["subtotal"] == 5 * 100000 + 2 * 120000
    assert q["total"] == q["subtotal"]  # tax included, no discount
    assert q["tax"] == q["total"] - round(q["total"] / 1.1)
    assert q["bookable"] is True


def test_quote_applies_plan_length_of_stay_and_member_discounts(db, hotel, make_customer):
    scalar(db, "set_length_of_stay_discount", p_hotel_id=hotel.id, p_min_nights=3, p_discount_rate=0.1)
    scalar(db, "set_length_of_stay_discount", p_hotel_id=hotel.id, p_min_nights=5, p_discount_rate=0.2)
    gold = make_customer("gold")
    q = quote(db, hotel, 1, 5, plan="nr", p_customer_id=gold)
    assert q["subtotal"] == 5 * 90000
    assert q["length_of_stay_discount"] == 90000  # 20 % for 5+ nights
    assert q["member_discount"] == 36000  # gold 10 % of what is left
    assert q["total"] == 450000 - 90000 - 36000
    assert quote(db, hotel, 1, 2, p_rooms=2)["total"] == 2 * 200000


def test_quote_rounds_to_the_currency(db, make_hotel):
    usd = make_hotel(
        currency="USD",
        time_zone="America/New_York",
        tax_rate=0.0875,
        prices_include_tax=False,
        base_prices=(99.99, 150),
    )
    q = quote(db, usd, 1, 3, plan="nr")
    assert q["night_prices"][0]["price"] == 89.99  # 99.99 * 0.9 = 89.991
    assert Decimal(str(q["tax"])) == Decimal("23.62")  # 269.97 * 0.0875 = 23.622
    assert Decimal(str(q["total"])) == Decimal("293.59")
    jpy = make_hotel(currency="JPY", time_zone="Asia/Tokyo", base_prices=(10001, 20000))
    assert quote(db, jpy, 1, 1, plan="nr")["total"] == 9001  # 9000.9 rounds to whole yen


def test_quote_refusals(db, hotel):
    cases = [
        ({"room_type": "STD"}, {"p_adults": 3}, "OCCUPANCY_EXCEEDED"),
        ({"nights": 0}, {}, "INVALID_DATES"),
        ({"start": 59, "nights": 3}, {}, "INVENTORY_UNAVAILABLE"),
        ({}, {"p_customer_id": 999999}, "CUSTOMER_NOT_FOUND"),
    ]
    for args, kw, error in cases:
        with raises_code(error):
            quote(db, hotel, **args, **kw)
    with raises_code("RATE_PLAN_NOT_FOUND"):
        scalar(
            db,
            "quote",
            p_hotel_id=hotel.id,
            p_room_type_id=hotel.room_types["STD"],
            p_rate_plan_id=hotel.plan("DLX"),
            p_check_in=hotel.day(1),
            p_check_out=hotel.day(2),
        )
    with raises_code("ROOM_TYPE_NOT_FOUND"):
        scalar(
            db,
            "quote",
            p_hotel_id=hotel.id,
            p_room_type_id=999999,
            p_rate_plan_id=hotel.plan(),
            p_check_in=hotel.day(1),
            p_check_out=hotel.day(2),
        )


def test_city_search_equals_the_one_hotel_search_of_every_hotel(db, make_hotel, make_customer, book):
    """The chain-wide search (one set-based query over every hotel) answers, per hotel, what the
    one-hotel search answers: the number of bookable offers and the first (cheapest) of them."""
    hotels = [
        make_hotel(city="Daegu"),
        make_hotel(city="Daegu", base_prices=(50000, 90000), prices_include_tax=False),
        make_hotel(city="Daegu", rooms=1, currency="JPY", time_zone="Asia/Tokyo", tax_rate=0.08),
        make_hotel(city="Daegu", rooms=2, currency="USD", time_zone="Asia/Seoul", base_prices=(120, 250)),
    ]
    # sold-out nights, a restriction and a stop-sell, so hotels differ in what they can sell
    book(hotels[2], 2, 3)
    book(hotels[2], 3, 1, room_type="DLX", adults=3)
    book(hotels[3], 1, 2, rooms=2)
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotels[1].id,
        p_room_type_id=hotels[1].room_types["STD"],
        p_from=hotels[1].day(1),
        p_until=hotels[1].day(2),
        p_min_stay=3,
    )
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotels[0].id,
        p_room_type_id=hotels[0].room_types["DLX"],
        p_from=hotels[0].day(5),
        p_until=hotels[0].day(6),
        p_stop_sell=True,
    )
    gold = make_customer("gold")
    day = hotels[0].day
    for start, nights, kw in [
        (1, 1, {}),
        (1, 2, {}),
        (2, 5, {"p_adults": 3}),
        (1, 30, {}),
        (4, 3, {"p_rooms": 2}),
        (1, 7, {"p_customer_id": gold}),
        (3, 2, {"p_adults": 1, "p_children": 1}),
    ]:
        mismatches, _ = chain_search_mismatches(db, hotels, "Daegu", day(start), day(start + nights), **kw)
        assert mismatches == [], (start, nights, kw)
