"""Setting up a property through the api: hotels, room types, rooms, rates, calendar, restrictions."""

from __future__ import annotations

import datetime as dt

import holidays
import psycopg
import pytest

from tests.support.errors import raises_code
from tests.support.sql import call, scalar


def rack(db, hotel, room_type: str, day: dt.date):
    return db.execute(
        "select rack_rate, rate_source from core.inventory where hotel_id = %s and room_type_id = %s and night = %s",
        (hotel.id, hotel.room_types[room_type], day),
    ).fetchone()


def test_create_hotel_builds_the_calendar_from_active_rooms(db, hotel):
    row = db.execute(
        "select min(capacity), max(capacity), count(*) from core.inventory where hotel_id = %s", (hotel.id,)
    ).fetchone()
    assert row == (3, 3, 2 * 60)
    policies = db.execute(
        "select code from core.cancellation_policies where hotel_id = %s order by code", (hotel.id,)
    ).fetchall()
    assert [p[0] for p in policies] == ["flexible", "non_refundable"]


@pytest.mark.parametrize(
    "kw",
    [
        {"p_time_zone": "Mars/Olympus"},
        {"p_currency": "XXX"},
        {"p_tax_rate": 1.5},
        {"p_code": None},
        {"p_code": "bad code!"},
        {"p_max_stay_nights": 0},
    ],
)
def test_create_hotel_refuses_bad_input(db, kw):
    args = {"p_code": "OK1", "p_name": "Hotel", "p_time_zone": "Asia/Tokyo", "p_currency": "JPY"} | kw
    with raises_code("INVALID_ARGUMENT"):
        call(db, "create_hotel", **args)
    assert db.execute("select count(*) from core.hotels").fetchone()[0] == 0


def test_create_hotel_refuses_a_duplicate_code(db, hotel):
    code = db.execute("select code from core.hotels where id = %s", (hotel.id,)).fetchone()[0]
    with raises_code("INVALID_ARGUMENT"):
        call(db, "create_hotel", p_code=code, p_name="x", p_time_zone="Asia/Seoul", p_currency="KRW")


def test_room_type_and_room_refusals(db, hotel):
    with raises_code("HOTEL_NOT_FOUND"):
        call(
            db,
            "create_room_type",
            p_hotel_id=999999,
            p_code="X",
            p_name="X",
            p_max_occupancy=2,
            p_base_price=1,
        )
    with raises_code("INVALID_ARGUMENT"):
        call(
            db,
            "create_room_type",
            p_hotel_id=hotel.id,
            p_code="X",
            p_name="X",
            p_max_occupancy=0,
            p_base_price=1,
        )
    with raises_code("INVALID_ARGUMENT"):
        call(
            db,
            "create_room_type",
            p_hotel_id=hotel.id,
            p_code="X",
            p_name="X",
            p_max_occupancy=2,
            p_base_price=-1,
        )
    with raises_code("ROOM_TYPE_NOT_FOUND"):
        call(db, "create_room", p_hotel_id=hotel.id, p_room_type_id=999999, p_number="1")
    with raises_code("INVALID_ARGUMENT"):
        call(db, "create_room", p_hotel_id=hotel.id, p_room_type_id=hotel.room_types["STD"], p_number="STD01")


def test_a_new_room_adds_capacity_and_deactivation_follows(db, hotel):
    room = scalar(
        db, "create_room", p_hotel_id=hotel.id, p_room_type_id=hotel.room_types["STD"], p_number="999"
    )
    cap = "select capacity from core.inventory where hotel_id = %s and room_type_id = %s and night = %s"
    assert db.execute(cap, (hotel.id, hotel.room_types["STD"], hotel.day(5))).fetchone()[0] == 4
    scalar(db, "set_room_active", p_hotel_id=hotel.id, p_room_id=room, p_active=False)
    assert db.execute(cap, (hotel.id, hotel.room_types["STD"], hotel.day(5))).fetchone()[0] == 3


def test_deactivating_a_room_that_is_sold_is_refused(db, make_hotel, book):
    hotel = make_hotel(rooms=1)
    book(hotel, 2, 2)
    with raises_code("INVENTORY_UNAVAILABLE"):
        call(db, "set_room_active", p_hotel_id=hotel.id, p_room_id=hotel.rooms["STD01"], p_active=False)
    with raises_code("ROOM_NOT_FOUND"):
        call(db, "set_room_active", p_hotel_id=hotel.id, p_room_id=999999, p_active=False)


def test_pricing_precedence_season_over_holiday_over_weekend(db, hotel):
    # find a weekend night (Friday or Saturday night) and a weekday night ahead
    days = [hotel.day(i) for i in range(7, 21)]
    weekend = next(d for d in days if d.isoweekday() == 6)
    weekday = next(d for d in days if d.isoweekday() == 2)
    scalar(db, "set_pricing_rule", p_hotel_id=hotel.id, p_kind="weekend", p_multiplier=1.25)
    assert rack(db, hotel, "STD", weekend) == (125000, "weekend")
    assert rack(db, hotel, "STD", weekday) == (100000, "base")
    scalar(
        db,
        "set_pricing_rule",
        p_hotel_id=hotel.id,
        p_kind="weekday",
        p_fixed_price=90000,
        p_room_type_id=hotel.room_types["STD"],
    )
    assert rack(db, hotel, "STD", weekday) == (90000, "weekday")
    assert rack(db, hotel, "DLX", weekday) == (180000, "base")
    scalar(db, "add_holidays", p_hotel_id=hotel.id, p_days=[weekend], p_names=["Test day"])
    scalar(db, "set_pricing_rule", p_hotel_id=hotel.id, p_kind="holiday", p_multiplier=1.5)
    assert rack(db, hotel, "STD", weekend) == (150000, "holiday:Test day")
    season = scalar(
        db,
        "create_season",
        p_hotel_id=hotel.id,
        p_code="peak",
        p_name="Peak",
        p_from=weekend - dt.timedelta(days=1),
        p_until=weekend + dt.timedelta(days=1),
    )
    scalar(db, "set_pricing_rule", p_hotel_id=hotel.id, p_kind="season", p_multiplier=2, p_season_id=season)
    assert rack(db, hotel, "STD", weekend) == (200000, "season:peak")
    # a new rule for the same target replaces the old one
    scalar(db, "set_pricing_rule", p_hotel_id=hotel.id, p_kind="season", p_multiplier=3, p_season_id=season)
    assert rack(db, hotel, "STD", weekend) == (300000, "season:peak")


def test_pricing_rule_refusals(db, hotel):
    for kw in (
        {"p_kind": "sometimes", "p_multiplier": 1},
        {"p_kind": "weekend"},
        {"p_kind": "weekend", "p_multiplier": 1, "p_fixed_price": 1},
        {"p_kind": "season", "p_multiplier": 1},
    ):
        with raises_code("INVALID_ARGUMENT"):
            call(db, "set_pricing_rule", p_hotel_id=hotel.id, **kw)


def test_seasons_never_overlap(db, hotel):
    scalar(
        db,
        "create_season",
        p_hotel_id=hotel.id,
        p_code="s1",
        p_name="S1",
        p_from=hotel.day(1),
        p_until=hotel.day(10),
    )
    with raises_code("INVALID_ARGUMENT"):
        call(
            db,
            "create_season",
            p_hotel_id=hotel.id,
            p_code="s2",
            p_name="S2",
            p_from=hotel.day(5),
            p_until=hotel.day(12),
        )
    with raises_code("INVALID_DATES"):
        call(
            db,
            "create_season",
            p_hotel_id=hotel.id,
            p_code="s3",
            p_name="S3",
            p_from=hotel.day(20),
            p_until=hotel.day(20),
        )


def test_national_holidays_load_from_the_holidays_library(db, make_hotel):
    hotel = make_hotel(currency="JPY", time_zone="Asia/Tokyo", days=400)
    year = hotel.today.year + 1
    jp = holidays.country_holidays("JP", years=year)
    days, names = zip(*sorted(jp.items()), strict=True)
    assert scalar(db, "add_holidays", p_hotel_id=hotel.id, p_days=list(days), p_names=list(names)) == len(jp)
    scalar(db, "set_pricing_rule", p_hotel_id=hotel.id, p_kind="holiday", p_multiplier=1.3)
    new_year = dt.date(year, 1, 1)
    assert rack(db, hotel, "STD", new_year)[1].startswith("holiday:")
    with raises_code("INVALID_ARGUMENT"):
        call(db, "add_holidays", p_hotel_id=hotel.id, p_days=[new_year], p_names=[])


def test_open_inventory_extends_without_touching_existing_nights(db, hotel, book):
    book(hotel, 1, 2)
    added = scalar(db, "open_inventory", p_hotel_id=hotel.id, p_from=hotel.today, p_until=hotel.day(90))
    assert added == 2 * 30
    assert (
        db.execute("select sum(booked) from core.inventory where hotel_id = %s", (hotel.id,)).fetchone()[0]
        == 2
    )
    with raises_code("INVALID_DATES"):
        call(db, "open_inventory", p_hotel_id=hotel.id, p_from=hotel.day(5), p_until=hotel.day(1))


def test_open_inventory_writes_nights_priced_and_in_night_order(db, hotel):
    # rules first, then the calendar: its nights are born with the rack rate a refresh would give
    days = [hotel.day(i) for i in range(70, 84)]
    scalar(db, "set_pricing_rule", p_hotel_id=hotel.id, p_kind="weekend", p_multiplier=1.25)
    scalar(db, "add_holidays", p_hotel_id=hotel.id, p_days=[days[3]], p_names=["Test day"])
    scalar(db, "set_pricing_rule", p_hotel_id=hotel.id, p_kind="holiday", p_multiplier=1.5)
    scalar(
        db,
        "create_season",
        p_hotel_id=hotel.id,
        p_code="peak",
        p_name="Peak",
        p_from=days[8],
        p_until=days[11],
    )
    season = db.execute(
        "select id from core.seasons where hotel_id = %s and code = 'peak'", (hotel.id,)
    ).fetchone()[0]
    scalar(
        db,
        "set_pricing_rule",
        p_hotel_id=hotel.id,
        p_kind="season",
        p_fixed_price=77777,
        p_season_id=season,
        p_room_type_id=hotel.room_types["DLX"],
    )
    until = hotel.day(400)  # a year: the nights fill many heap pages
    updated = "select pg_stat_get_xact_tuples_updated('core.inventory'::regclass)"
    with db.transaction():
        before = db.execute(updated).fetchone()[0]
        added = scalar(db, "open_inventory", p_hotel_id=hotel.id, p_from=days[0], p_until=until)
        assert db.execute(updated).fetchone()[0] == before  # written once, never rewritten
    assert added == 2 * (until - days[0]).days
    sources = {
        r[0]
        for r in db.execute(
            "select rate_source from core.inventory where hotel_id = %s and night >= %s", (hotel.id, days[0])
        )
    }
    assert {"base", "weekend", "holiday:Test day", "season:peak"} <= sources
    # nothing left for a refresh to change: the insert priced every night
    assert scalar(db, "refresh_rates", p_hotel_id=hotel.id, p_from=days[0], p_until=until) == 0
    assert rack(db, hotel, "DLX", days[9]) == (77777, "season:peak")
    assert rack(db, hotel, "STD", days[3]) == (150000, "holiday:Test day")
    # each room type's nights lie in night order on consecutive slots of the heap (what a search reads)
    for code, type_id in hotel.room_types.items():
        ctids = [
            r[0]
            for r in db.execute(
                """select (ctid::text::point)[0] * 1000 + (ctid::text::point)[1] from core.inventory
                   where hotel_id = %s and room_type_id = %s and night >= %s order by night""",
                (hotel.id, type_id, days[0]),
            )
        ]
        assert ctids == sorted(ctids), code


def test_set_restrictions_and_refusals(db, hotel, book):
    std = hotel.room_types["STD"]
    n = scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=std,
        p_from=hotel.day(1),
        p_until=hotel.day(4),
        p_min_stay=2,
        p_stop_sell=True,
        p_overbooking_allowance=1,
    )
    assert n == 3
    row = db.execute(
        "select min_stay, stop_sell, overbooking_allowance from core.inventory "
        "where hotel_id = %s and room_type_id = %s and night = %s",
        (hotel.id, std, hotel.day(2)),
    ).fetchone()
    assert row == (2, True, 1)
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=std,
        p_from=hotel.day(1),
        p_until=hotel.day(4),
        p_min_stay=0,
        p_stop_sell=False,
    )
    assert (
        db.execute(
            "select min_stay from core.inventory where hotel_id = %s and room_type_id = %s and night = %s",
            (hotel.id, std, hotel.day(2)),
        ).fetchone()[0]
        is None
    )
    with raises_code("INVALID_ARGUMENT"):
        call(
            db,
            "set_restrictions",
            p_hotel_id=hotel.id,
            p_room_type_id=std,
            p_from=hotel.day(1),
            p_until=hotel.day(4),
            p_min_stay=-1,
        )
    # with 3 rooms + 1 allowance sold out, the allowance cannot go back to 0
    scalar(
        db,
        "set_restrictions",
        p_hotel_id=hotel.id,
        p_room_type_id=std,
        p_from=hotel.day(10),
        p_until=hotel.day(11),
        p_overbooking_allowance=1,
    )
    for _ in range(4):
        book(hotel, 10, 1)
    with raises_code("INVENTORY_UNAVAILABLE"):
        call(
            db,
            "set_restrictions",
            p_hotel_id=hotel.id,
            p_room_type_id=std,
            p_from=hotel.day(10),
            p_until=hotel.day(11),
            p_overbooking_allowance=0,
        )


def test_the_inventory_check_refuses_an_oversold_night_even_from_raw_sql(db, hotel):
    with pytest.raises(psycopg.errors.CheckViolation) as excinfo:
        db.execute("update core.inventory set booked = capacity + 1 where hotel_id = %s", (hotel.id,))
    assert excinfo.value.diag.constraint_name == "inventory_booked_within_capacity"


def test_the_inventory_check_asks_the_one_definition_of_sellable(db):
    """The check is core.inventory_sellable(row) >= 0, not a second spelling of the formula."""
    (definition,) = db.execute(
        "select pg_get_constraintdef(oid) from pg_constraint"
        " where conrelid = 'core.inventory'::regclass and conname = 'inventory_booked_within_capacity'"
    ).fetchone()
    assert definition == "CHECK ((core.inventory_sellable(inventory.*) >= 0))"
