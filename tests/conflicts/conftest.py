"""Factories for the conflict tests: customers through the api, a hotel with two room types built
through the api, bookings through hold and confirm, and the detect / resolve calls."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import psycopg.rows
import pytest
from psycopg.types.json import Jsonb

_seq = itertools.count(1)

# Every test starts at 03:00 UTC today (noon in Tokyo): no test straddles the hotel's midnight.
PIN = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(3, 0), tzinfo=dt.UTC)


def call(db: psycopg.Connection, function: str, **params) -> list[dict]:
    names = ", ".join(f"{k} => %({k})s" for k in params)
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(f"select * from api.{function}({names})", params).fetchall()


def scalar(db: psycopg.Connection, function: str, **params) -> Any:
    return next(iter(call(db, function, **params)[0].values()))


def one(db: psycopg.Connection, sql: str, *args) -> Any:
    row = db.execute(sql, args).fetchone()
    return None if row is None else row[0]


def detect(db: psycopg.Connection, entity_type: str, entity_id: int, updates: list[dict]) -> dict:
    return scalar(
        db, "detect_conflicts", p_entity_type=entity_type, p_entity_id=entity_id, p_updates=Jsonb(updates)
    )


def resolve(db: psycopg.Connection, conflict_id: int, method: str, data: dict, user: str = "admin-1") -> dict:
    return scalar(
        db,
        "resolve_conflict",
        p_conflict_id=conflict_id,
        p_resolution_method=method,
        p_resolved_data=Jsonb(data),
        p_resolver_user_id=user,
    )


def update(system: str, minutes: float, **fields) -> dict:
    """One element of conflicting_updates: made by ``system`` ``minutes`` after the test's pin."""
    return {
        "system": f"hotel-{system}",
        "timestamp": (PIN + dt.timedelta(minutes=minutes)).isoformat(),
        "fields": fields,
    }


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


@dataclass
class Hotel:
    id: int
    today: dt.date
    room_types: dict[str, int] = field(default_factory=dict)
    rate_plans: dict[str, int] = field(default_factory=dict)
    rooms: dict[str, int] = field(default_factory=dict)

    def day(self, n: int) -> dt.date:
        return self.today + dt.timedelta(days=n)


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
