"""The reservation ledger's factories (fixtures, shared with the property tests): a hotel of two
room types and three rate plans each, customers as rows, bookings through hold and confirm, the
Python client; and its checks: counters against their recount, the chain search's tables against
a rebuild, and the chain search against each hotel's own search."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from pyapi.client import Client

from . import factories
from .factories import Hotel, RoomType
from .sql import call


def recount_problems(db: psycopg.Connection) -> list[tuple]:
    """Nights whose counters differ from the recount, or that are oversold, and any drift of the
    chain search's tables (search_calendar_problems): none expected."""
    return db.execute(
        "select hotel_id, room_type_id, night, held, held_recount, booked, booked_recount, oversold "
        "from report.inventory_recount where drifted or oversold order by 1, 2, 3"
    ).fetchall() + search_calendar_problems(db)


def search_calendar_problems(db: psycopg.Connection) -> list[tuple]:
    """core.inventory_exceptions against the calendar (report.inventory_exception_recount), and
    core.rate_calendar against a rebuild from the calendar (rolled back): each difference."""
    problems = db.execute(
        """select case when not listed then 'exception missing'
                       when not (sold_out_recount or stop_sell_recount or arrival_rules_recount
                                 or closed_to_departure_recount) then 'exception extra'
                       else 'exception flags differ' end,
                  hotel_id, room_type_id, night::text, sold_out, stop_sell, arrival_rules, closed_to_departure,
                  sold_out_recount, stop_sell_recount, arrival_rules_recount, closed_to_departure_recount
           from report.inventory_exception_recount where drifted order by 2, 3, 4"""
    ).fetchall()
    with db.transaction(force_rollback=True):
        db.execute("create temp table rate_calendar_kept as select * from core.rate_calendar")
        db.execute("select internal.rebuild_rate_calendar(h.id) from core.hotels h")
        problems += db.execute(
            """select 'rate sums differ', c.hotel_id, c.rate_plan_id, c.month::text
               from ((table core.rate_calendar except table rate_calendar_kept)
                     union (table rate_calendar_kept except table core.rate_calendar)) c
               order by 2, 3, 4"""
        ).fetchall()
    return problems


def chain_search_mismatches(db: psycopg.Connection, hotels, city: str, check_in, check_out, **kw) -> list:
    """api.search_city_availability against api.search_availability of each hotel for the same stay:
    per hotel the number of bookable offers and the first (cheapest) of them, and no hotel listed
    that has none. Returns the hotels that differ (empty when the two agree); also how many hotels
    had an offer, so a caller can see the check was not vacuous."""
    city_rows = call(
        db, "search_city_availability", p_city=city, p_check_in=check_in, p_check_out=check_out, **kw
    )
    by_hotel = {r["hotel_id"]: r for r in city_rows}
    mismatches, offered = [], 0
    for h in hotels:
        one = call(
            db, "search_availability", p_hotel_id=h.id, p_check_in=check_in, p_check_out=check_out, **kw
        )
        if not one:
            if h.id in by_hotel:
                mismatches.append((h.id, "listed without an offer", by_hotel[h.id]))
            continue
        offered += 1
        got = by_hotel.get(h.id)
        want = (
            len(one),
            one[0]["room_type_id"],
            one[0]["rate_plan_id"],
            one[0]["available_rooms"],
            one[0]["currency"],
            one[0]["total"],
        )
        have = got and (
            got["bookable_offers"],
            got["room_type_id"],
            got["rate_plan_id"],
            got["available_rooms"],
            got["currency"],
            got["lowest_total"],
        )
        if have != want:
            mismatches.append((h.id, have, want))
    if len(city_rows) != len(by_hotel):
        mismatches.append(("a hotel listed twice", len(city_rows), len(by_hotel)))
    return mismatches, offered


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
