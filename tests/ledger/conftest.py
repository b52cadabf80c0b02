"""Factories for the reservation ledger tests: a hotel built through the api (room types, rooms,
rate plans, an open calendar), customers as rows (their api belongs to loyalty), and helpers to
call the api and read the recount."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from pyapi.client import Client
from tests.support import factories
from tests.support.factories import Hotel, RoomType


@pytest.fixture
def make_hotel(db: psycopg.Connection) -> Callable[..., Hotel]:
    """A hotel with room types STD (2 guests) and DLX (3 guests), ``rooms`` rooms each, rate plans
    flex / nr (non-refundable, 10 % off) / bb (breakfast supplement) each, and the calendar open
    for ``days`` nights from the hotel's today."""

    def make(
        *,
        rooms: int = 3,
        days: int = 60,
        currency: str = "KRW",
        time_zone: str = "Asia/Seoul",
        tax_rate: float = 0.10,
        prices_include_tax: bool = True,
        base_prices: tuple = (100000, 180000),
        city: str = "Seoul",
    ) -> Hotel:
        n = factories.seq()
        return factories.make_hotel(
            db,
            code=f"H{n}",
            name=f"Hotel {n}",
            time_zone=time_zone,
            currency=currency,
            city=city,
            tax_rate=tax_rate,
            prices_include_tax=prices_include_tax,
            room_types=(
                RoomType("STD", 2, base_prices[0], rooms=rooms),
                RoomType("DLX", 3, base_prices[1], rooms=rooms),
            ),
            plans=("flex", "nr", "bb"),
            days=days,
        )

    return make


@pytest.fixture
def hotel(make_hotel) -> Hotel:
    return make_hotel()


@pytest.fixture
def make_customer(db: psycopg.Connection) -> Callable[..., int]:
    """A customer row (loyalty owns the api that creates profiles) with a rank."""

    def make(rank: str = "bronze") -> int:
        return factories.make_customer(db, rank=rank)

    return make


@pytest.fixture
def customer(make_customer) -> int:
    return make_customer()


@pytest.fixture
def book(db: psycopg.Connection, customer: int) -> Callable[..., dict]:
    """Hold and confirm in one step; returns the confirm_booking row plus the hold id."""

    def make(
        hotel: Hotel,
        start: int = 1,
        nights: int = 2,
        *,
        room_type: str = "STD",
        plan: str = "flex",
        rooms: int = 1,
        customer_id: int | None = None,
        adults: int = 2,
    ) -> dict:
        return factories.book(
            db,
            hotel,
            customer_id or customer,
            start,
            nights,
            room_type=room_type,
            plan=plan,
            payment_authorisation="auth-1",
            rooms=rooms,
            adults=adults,
            customer_id=customer_id,
        )

    return make


@pytest.fixture
def client(db: psycopg.Connection) -> Client:
    return Client.for_connection(db)
