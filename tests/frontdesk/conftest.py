"""Factories for the front-desk tests: a hotel built through the api (room types, rooms, a rate
plan, an open calendar), customers as rows, bookings through the ledger's hold and confirm, and
stays checked in."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import psycopg
import pytest
from frontdesk_helpers import Hotel, call, scalar

_seq = itertools.count(1)


@pytest.fixture
def make_hotel(db: psycopg.Connection) -> Callable[..., Hotel]:
    """A hotel with room types STD and DLX of ``rooms`` rooms each (STD01.., DLX01..), one flexible
    rate plan each, the calendar open for ``days`` nights from the hotel's today."""

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
        n = next(_seq)
        hotel_id = scalar(
            db,
            "create_hotel",
            p_code=f"FD{n}",
            p_name=f"Front desk {n}",
            p_time_zone=time_zone,
            p_currency=currency,
            p_tax_rate=tax_rate,
            p_prices_include_tax=prices_include_tax,
        )
        if late_checkout_fee is not None:
            db.execute(
                "update core.hotels set late_checkout_fee = %s where id = %s", (late_checkout_fee, hotel_id)
            )
        today = db.execute("select internal.hotel_today(%s)", (hotel_id,)).fetchone()[0]
        hotel = Hotel(hotel_id, today, currency)
        for code, price in (("STD", 10000), ("DLX", 20000)):
            rt = scalar(
                db,
                "create_room_type",
                p_hotel_id=hotel_id,
                p_code=code,
                p_name=code.title(),
                p_max_occupancy=3,
                p_base_price=price,
            )
            hotel.room_types[code] = rt
            for i in range(rooms):
                number = f"{code}{i + 1:02d}"
                hotel.rooms[number] = scalar(
                    db,
                    "create_room",
                    p_hotel_id=hotel_id,
                    p_room_type_id=rt,
                    p_number=number,
                    p_floor=i // 10 + 1,
                )
            hotel.rate_plans[code] = scalar(
                db,
                "create_rate_plan",
                p_hotel_id=hotel_id,
                p_room_type_id=rt,
                p_code="flex",
                p_name="Flexible",
            )
        scalar(
            db,
            "open_inventory",
            p_hotel_id=hotel_id,
            p_from=today - dt.timedelta(days=2),
            p_until=today + dt.timedelta(days=days),
        )
        return hotel

    return make


@pytest.fixture
def hotel(make_hotel) -> Hotel:
    return make_hotel()


@pytest.fixture
def make_customer(db: psycopg.Connection) -> Callable[..., int]:
    def make(rank: str = "bronze") -> int:
        n = next(_seq)
        return db.execute(
            "insert into core.customers (given_name, family_name, email, rank_code) values ('Guest', %s, %s, %s) "
            "returning id",
            (f"Desk{n}", f"desk{n}@example.com", rank),
        ).fetchone()[0]

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
        hold = call(
            db,
            "create_hold",
            p_hotel_id=hotel.id,
            p_room_type_id=hotel.room_types[room_type],
            p_rate_plan_id=hotel.rate_plans[room_type],
            p_check_in=hotel.day(start),
            p_check_out=hotel.day(start + nights),
            p_rooms=rooms,
        )[0]
        return call(
            db,
            "confirm_booking",
            p_hold_id=hold["hold_id"],
            p_customer_id=customer_id or customer,
            p_payment_authorisation="auth-ok" if guaranteed else None,
        )[0]["reservation_id"]

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
        owed = db.execute(
            "select balance from api.folio_balances where reservation_id = %s", (reservation_id,)
        ).fetchone()[0]
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


# Every test starts at 03:00 UTC today (noon in Tokyo and Seoul), so no test straddles a hotel's
# midnight while it runs; clock.days(n) moves to n days after that instant.
_PIN = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(3, 0), tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _pinned_clock(db: psycopg.Connection) -> None:
    db.execute("select internal.shift_clock(%s::timestamptz - now())", (_PIN,))


@pytest.fixture
def clock(db: psycopg.Connection):
    """Moves the clock: clock.days(n) to n days after the pinned start; clock.at(ts) to an instant."""

    class Clock:
        def days(self, n: float) -> None:
            self.at(_PIN + dt.timedelta(days=n))

        def at(self, instant: dt.datetime) -> None:
            db.execute("select internal.shift_clock(%s::timestamptz - now())", (instant,))

    return Clock()
