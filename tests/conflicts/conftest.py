"""Factories for the conflict tests: customers through the api, a hotel with three room types built
through the api, and bookings through hold and confirm."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import psycopg
import pytest
from conflict_helpers import PIN, Hotel, call, one, scalar

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _pinned_clock(db: psycopg.Connection) -> None:
    # an hour after the pin, so the updates' timestamps are in the past
    db.execute("select internal.shift_clock(%s::timestamptz - now())", (PIN + dt.timedelta(hours=1),))


@pytest.fixture
def customer(db: psycopg.Connection) -> Callable[..., int]:
    """A member through api.create_customer (Tokyo address, phone); returns the id."""

    def make(**kw) -> int:
        n = next(_seq)
        args = {
            "p_given_name": "Taro",
            "p_family_name": "Tanaka",
            "p_email": f"taro{n}@example.com",
            "p_phone": "+81 90 1111 2222",
            "p_address_line1": "1-2-3 Nishi-Shinjuku",
            "p_address_line2": "Apt 4",
            "p_city": "Shinjuku-ku",
            "p_country_code": "JP",
        } | {f"p_{k}": v for k, v in kw.items()}
        names = ", ".join(f"{k} => %({k})s" for k in args)
        return db.execute(f"select (api.create_customer({names}) ->> 'id')::bigint", args).fetchone()[0]

    return make


@pytest.fixture
def hotel(db: psycopg.Connection) -> Hotel:
    """A JPY hotel: STD (10,000, 2 rooms), STD2 (11,000, 1 room), SUITE (90,000, 1 room), calendar open 30 nights."""
    n = next(_seq)
    hotel_id = scalar(
        db,
        "create_hotel",
        p_code=f"CF{n}",
        p_name=f"Conflicts {n}",
        p_time_zone="Asia/Tokyo",
        p_currency="JPY",
    )
    today = one(db, "select internal.hotel_today(%s)", hotel_id)
    h = Hotel(hotel_id, today)
    for code, price, count, occupancy in (
        ("STD", 10000, 2, 2),
        ("STD2", 11000, 1, 2),
        ("SUITE", 90000, 1, 4),
    ):
        rt = scalar(
            db,
            "create_room_type",
            p_hotel_id=hotel_id,
            p_code=code,
            p_name=code.title(),
            p_max_occupancy=occupancy,
            p_base_price=price,
        )
        h.room_types[code] = rt
        for i in range(count):
            number = f"{code}-{i + 1}"
            h.rooms[number] = scalar(
                db, "create_room", p_hotel_id=hotel_id, p_room_type_id=rt, p_number=number
            )
        h.rate_plans[code] = scalar(
            db, "create_rate_plan", p_hotel_id=hotel_id, p_room_type_id=rt, p_code="flex", p_name="Flexible"
        )
    scalar(db, "open_inventory", p_hotel_id=hotel_id, p_from=today, p_until=today + dt.timedelta(days=30))
    return h


@pytest.fixture
def book(db: psycopg.Connection) -> Callable[..., int]:
    """Holds and confirms a booking; returns the reservation id."""

    def make(hotel: Hotel, customer_id: int, start: int = 2, nights: int = 2, room_type: str = "STD") -> int:
        hold = call(
            db,
            "create_hold",
            p_hotel_id=hotel.id,
            p_room_type_id=hotel.room_types[room_type],
            p_rate_plan_id=hotel.rate_plans[room_type],
            p_check_in=hotel.day(start),
            p_check_out=hotel.day(start + nights),
        )[0]
        return call(db, "confirm_booking", p_hold_id=hold["hold_id"], p_customer_id=customer_id)[0][
            "reservation_id"
        ]

    return make
