"""The front desk's factories (fixtures, shared with the guest-service tests): a hotel of two room
types, customers as rows, bookings through the ledger's hold and confirm, stays checked in, a
pinned clock; and the front desk's checks (no overlapping assignment, counters equal to a recount)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import psycopg
import pytest

from . import factories
from .factories import PIN, Clock, Hotel, RoomType, pinned_clock  # noqa: F401 (autouse fixture)
from .sql import call, one


def balance(db: psycopg.Connection, reservation_id: int) -> Decimal:
    return one(db, "select balance from api.folio_balances where reservation_id = %s", reservation_id)


def overlaps(db: psycopg.Connection) -> list[tuple]:
    """Pairs of active assignments (stays or blocks) of one room sharing a night: none expected."""
    return db.execute(
        """
        select a.id, b.id from core.room_assignments a
        join core.room_assignments b on b.hotel_id = a.hotel_id and b.room_id = a.room_id and b.id > a.id
        where a.active and b.active and a.nights && b.nights
        """
    ).fetchall()


def counter_problems(db: psycopg.Connection) -> list[tuple]:
    """Nights whose booked or blocked counter differs from a recount, or that are oversold."""
    return db.execute(
        "select hotel_id, room_type_id, night, 'booked' from report.inventory_recount where drifted or oversold "
        "union all "
        "select hotel_id, room_type_id, night, 'blocked' from report.room_block_recount where drifted"
    ).fetchall()


@pytest.fixture
def make_hotel(db: psycopg.Connection) -> Callable[..., Hotel]:
    """A hotel with room types STD and DLX of ``rooms`` rooms each (STD01.., DLX01.., ten to a
    floor), one flexible rate plan each, the calendar open from two days before the hotel's today
    until ``days`` days after it."""

    def make(
        *,
        rooms: int = 3,
        days: int = 30,
        currency: str = "JPY",
        time_zone: str = "Asia/Tokyo",
        tax_rate: float = 0.10,
        prices_include_tax: bool = True,
        late_checkout_fee: int | None = None,
    ) -> Hotel:
        n = factories.seq()
        hotel = factories.make_hotel(
            db,
            code=f"FD{n}",
            name=f"Front desk {n}",
            time_zone=time_zone,
            currency=currency,
            tax_rate=tax_rate,
            prices_include_tax=prices_include_tax,
            room_types=(RoomType("STD", 3, 10000, rooms=rooms), RoomType("DLX", 3, 20000, rooms=rooms)),
            floor=lambda i: (i - 1) // 10 + 1,
            open_from=-2,
            days=days,
        )
        if late_checkout_fee is not None:
            db.execute(
                "update core.hotels set late_checkout_fee = %s where id = %s", (late_checkout_fee, hotel.id)
            )
        return hotel

    return make


@pytest.fixture
def hotel(make_hotel) -> Hotel:
    return make_hotel()


@pytest.fixture
def make_customer(db: psycopg.Connection) -> Callable[..., int]:
    def make(rank: str = "bronze") -> int:
        return factories.make_customer(db, rank=rank, family_name="Desk")

    return make


@pytest.fixture
def customer(make_customer) -> int:
    return make_customer()


@pytest.fixture
def book(db: psycopg.Connection, customer: int) -> Callable[..., int]:
    """Holds and confirms a booking through the ledger; returns the reservation id."""

    def make(
        hotel: Hotel,
        start: int = 0,
        nights: int = 2,
        *,
        room_type: str = "STD",
        rooms: int = 1,
        customer_id: int | None = None,
        guaranteed: bool = True,
    ) -> int:
        return factories.book(
            db,
            hotel,
            customer_id or customer,
            start,
            nights,
            room_type=room_type,
            rooms=rooms,
            payment_authorisation="auth-ok" if guaranteed else None,
        )["reservation_id"]

    return make


@pytest.fixture
def checked_in(db: psycopg.Connection, book) -> Callable[..., int]:
    """A booking arriving today, checked in; returns the reservation id."""

    def make(hotel: Hotel, nights: int = 2, **kw) -> int:
        reservation_id = book(hotel, 0, nights, **kw)
        call(db, "check_in", p_reservation_id=reservation_id)
        return reservation_id

    return make


@pytest.fixture
def pay_balance(db: psycopg.Connection) -> Callable[[int], None]:
    """Takes a cash payment for whatever the folio owes."""

    def pay(reservation_id: int) -> None:
        owed = balance(db, reservation_id)
        if owed > 0:
            call(
                db,
                "authorise_payment",
                p_reservation_id=reservation_id,
                p_method="cash",
                p_amount=owed,
                p_capture=True,
            )

    return pay


@pytest.fixture
def clock(db: psycopg.Connection) -> Clock:
    """Moves the clock: clock.days(n) to n days after the pinned start; clock.at(ts) to an instant."""
    return Clock(db)
