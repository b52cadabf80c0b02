"""Factories for the reservation ledger tests: a hotel built through the api (room types, rooms,
rate plans, an open calendar), customers as rows (their api belongs to loyalty), and helpers to
call the api and read the recount."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import psycopg
import pytest
from ledger_helpers import Hotel, call, scalar

from pyapi.client import Client

_seq = itertools.count(1)


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
        n = next(_seq)
        hotel_id = scalar(
            db,
            "create_hotel",
            p_code=f"H{n}",
            p_name=f"Hotel {n}",
            p_time_zone=time_zone,
            p_currency=currency,
            p_city=city,
            p_tax_rate=tax_rate,
            p_prices_include_tax=prices_include_tax,
        )
        today = db.execute("select internal.hotel_today(%s)", (hotel_id,)).fetchone()[0]
        hotel = Hotel(hotel_id, today, currency)
        nr_policy = db.execute(
            "select id from core.cancellation_policies where hotel_id = %s and code = 'non_refundable'",
            (hotel_id,),
        ).fetchone()[0]
        for code, occupancy, price in (("STD", 2, base_prices[0]), ("DLX", 3, base_prices[1])):
            rt = scalar(
                db,
                "create_room_type",
                p_hotel_id=hotel_id,
                p_code=code,
                p_name=code.title(),
                p_max_occupancy=occupancy,
                p_base_price=price,
            )
            hotel.room_types[code] = rt
            for i in range(rooms):
                number = f"{code}{i + 1:02d}"
                hotel.rooms[number] = scalar(
                    db, "create_room", p_hotel_id=hotel_id, p_room_type_id=rt, p_number=number
                )
            hotel.rate_plans[f"{code}/flex"] = scalar(
                db,
                "create_rate_plan",
                p_hotel_id=hotel_id,
                p_room_type_id=rt,
                p_code="flex",
                p_name="Flexible",
            )
            hotel.rate_plans[f"{code}/nr"] = scalar(
                db,
                "create_rate_plan",
                p_hotel_id=hotel_id,
                p_room_type_id=rt,
                p_code="nr",
                p_name="Non-refundable",
                p_price_multiplier=0.9,
                p_cancellation_policy_id=nr_policy,
            )
            hotel.rate_plans[f"{code}/bb"] = scalar(
                db,
                "create_rate_plan",
                p_hotel_id=hotel_id,
                p_room_type_id=rt,
                p_code="bb",
                p_name="With breakfast",
                p_price_supplement=20000 if currency in ("KRW", "JPY") else 20,
                p_includes_breakfast=True,
            )
        scalar(
            db, "open_inventory", p_hotel_id=hotel_id, p_from=today, p_until=today + dt.timedelta(days=days)
        )
        return hotel

    return make


@pytest.fixture
def hotel(make_hotel) -> Hotel:
    return make_hotel()


@pytest.fixture
def make_customer(db: psycopg.Connection) -> Callable[..., int]:
    """A customer row (loyalty owns the api that creates profiles) with a rank."""

    def make(rank: str = "bronze") -> int:
        n = next(_seq)
        return db.execute(
            "insert into core.customers (given_name, family_name, email, rank_code) values ('Guest', %s, %s, %s) "
            "returning id",
            (f"No{n}", f"ledger{n}@example.com", rank),
        ).fetchone()[0]

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
        hold = call(
            db,
            "create_hold",
            p_hotel_id=hotel.id,
            p_room_type_id=hotel.room_types[room_type],
            p_rate_plan_id=hotel.plan(room_type, plan),
            p_check_in=hotel.day(start),
            p_check_out=hotel.day(start + nights),
            p_rooms=rooms,
            p_adults=adults,
            p_customer_id=customer_id,
        )[0]
        res = call(
            db,
            "confirm_booking",
            p_hold_id=hold["hold_id"],
            p_customer_id=customer_id or customer,
            p_payment_authorisation="auth-1",
        )[0]
        return res | {"hold_id": hold["hold_id"]}

    return make


@pytest.fixture
def client(db: psycopg.Connection) -> Client:
    return Client.for_connection(db)
