"""Factories for the conflict tests: customers through the api, a hotel with three room types built
through the api, and bookings through hold and confirm."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import psycopg
import pytest

from tests.support import factories
from tests.support.factories import PIN, Clock, Hotel, RoomType, create_customer, make_hotel, seq


@pytest.fixture(autouse=True)
def _pinned_clock(db: psycopg.Connection) -> None:
    # an hour after the pin, so the updates' timestamps are in the past
    Clock(db).at(PIN + dt.timedelta(hours=1))


@pytest.fixture
def customer(db: psycopg.Connection) -> Callable[..., int]:
    """A member through api.create_customer (Tokyo address, phone); returns the id."""

    def make(**kw) -> int:
        n = seq()
        return create_customer(
            db,
            **{
                "given_name": "Taro",
                "family_name": "Tanaka",
                "email": f"taro{n}@example.com",
                "phone": "+81 90 1111 2222",
                "address_line1": "1-2-3 Nishi-Shinjuku",
                "address_line2": "Apt 4",
                "city": "Shinjuku-ku",
                "country_code": "JP",
            }
            | kw,
        )

    return make


@pytest.fixture
def hotel(db: psycopg.Connection) -> Hotel:
    """A JPY hotel: STD (10,000, 2 rooms), STD2 (11,000, 1 room), SUITE (90,000, 1 room), calendar open 30 nights."""
    n = seq()
    return make_hotel(
        db,
        code=f"CF{n}",
        name=f"Conflicts {n}",
        room_types=(
            RoomType("STD", 2, 10000, rooms=2),
            RoomType("STD2", 2, 11000, rooms=1),
            RoomType("SUITE", 4, 90000, rooms=1),
        ),
        room_number="{type}-{i}",
        days=30,
    )


@pytest.fixture
def book(db: psycopg.Connection) -> Callable[..., int]:
    """Holds and confirms a booking (no payment authorisation); returns the reservation id."""

    def make(hotel: Hotel, customer_id: int, start: int = 2, nights: int = 2, room_type: str = "STD") -> int:
        return factories.book(
            db, hotel, customer_id, start, nights, room_type=room_type, payment_authorisation=None
        )["reservation_id"]

    return make
