"""Factories of the customer and loyalty tests (fixtures): customers through api.create_customer,
a JPY hotel in Japan inserted as rows (one room type, one rate plan), stays as rows, and the
points ledger's check against the balances."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import psycopg
import pytest

from . import factories

_seq = itertools.count(1)


@pytest.fixture
def customer(db: psycopg.Connection) -> Callable[..., int]:
    """Creates a customer through api.create_customer and returns its id."""

    def make(**kw) -> int:
        return factories.create_customer(db, **kw)

    return make


@pytest.fixture
def hotel(db: psycopg.Connection) -> dict:
    """A JPY hotel in Japan with one room type and rate plan."""
    n = factories.seq()
    hotel_id = db.execute(
        "insert into core.hotels (code, name, time_zone, currency, country_code) "
        "values (%s, 'Hotel Sakura', 'Asia/Tokyo', 'JPY', 'JP') returning id",
        (f"H{n}",),
    ).fetchone()[0]
    room_type_id = db.execute(
        "insert into core.room_types (hotel_id, code, name, max_occupancy, base_price) "
        "values (%s, 'TWN', 'Twin', 2, 12000) returning id",
        (hotel_id,),
    ).fetchone()[0]
    rate_plan_id = db.execute(
        "insert into core.rate_plans (hotel_id, room_type_id, code, name) values (%s, %s, 'BAR', 'Best rate') returning id",
        (hotel_id, room_type_id),
    ).fetchone()[0]
    return {"id": hotel_id, "room_type_id": room_type_id, "rate_plan_id": rate_plan_id}


@pytest.fixture
def stay(db: psycopg.Connection, hotel: dict) -> Callable[..., int]:
    """Inserts a checked-in reservation of one room for a customer and returns its id."""

    def make(
        customer_id: int, total: int = 24000, status: str = "checked_in", room_type_id: int | None = None
    ) -> int:
        start = dt.date(2030, 1, 1) + dt.timedelta(days=next(_seq))
        stay_range = f"[{start},{start + dt.timedelta(days=2)})"
        rid = db.execute(
            "insert into core.reservations (hotel_id, customer_id, status, stay, currency, total_amount) "
            "values (%s, %s, %s, %s, 'JPY', %s) returning id",
            (hotel["id"], customer_id, status, stay_range, total),
        ).fetchone()[0]
        db.execute(
            "insert into core.reservation_rooms (reservation_id, hotel_id, room_type_id, rate_plan_id, stay, adults, "
            "status, amount, nightly) values (%s, %s, %s, %s, %s, 2, %s, %s, array[%s, %s]::numeric[])",
            (
                rid,
                hotel["id"],
                room_type_id or hotel["room_type_id"],
                hotel["rate_plan_id"],
                stay_range,
                status,
                total,
                total // 2,
                total // 2,
            ),
        )
        return rid

    return make


@pytest.fixture
def set_status(db: psycopg.Connection) -> Callable[[int, str], None]:
    """Moves a reservation's status as the front desk's check-out (or its reversal) does."""

    def move(reservation_id: int, status: str) -> None:
        db.execute("update core.reservations set status = %s where id = %s", (status, reservation_id))

    return move


@pytest.fixture
def checked_out(stay, set_status) -> Callable[..., int]:
    """A stay that was checked in and then checked out (the rank trigger fires)."""

    def make(customer_id: int, total: int = 24000) -> int:
        rid = stay(customer_id, total)
        set_status(rid, "checked_out")
        return rid

    return make


LEDGER_MATCHES_BALANCES = """
    select coalesce(bool_and(a.balance = coalesce(s.total, 0) and a.balance = coalesce(s.open, 0)), true)
    from core.points_accounts a
    left join (select customer_id, sum(points) as total, sum(remaining) as open
               from core.points_ledger group by customer_id) s on s.customer_id = a.customer_id
"""


@pytest.fixture
def ledger_ok(db: psycopg.Connection) -> Callable[[], bool]:
    """True when every balance equals the sum of its ledger entries and of its open lots."""
    return lambda: db.execute(LEDGER_MATCHES_BALANCES).fetchone()[0]
