"""Factories every domain's tests share: a hotel built through the api (room types, rooms, rate
plans, an open calendar), customers (a row, or a profile through api.create_customer), a booking
through hold and confirm, an API key, and the test clock."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from .sql import call, one, scalar

_seq = itertools.count(1)


def seq() -> int:
    """A number no other factory call of this process used: codes and e-mails stay unique."""
    return next(_seq)


# Every test that pins the clock starts at 03:00 UTC today (noon in Tokyo and Seoul), so no test
# straddles a hotel's midnight while it runs.
PIN = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(3, 0), tzinfo=dt.UTC)


class Clock:
    """Moves the database's clock (internal.shift_clock): ``days(n)`` to n days after PIN,
    ``at(instant)`` to an instant."""

    def __init__(self, db: psycopg.Connection):
        self.db = db

    def days(self, n: float) -> None:
        self.at(PIN + dt.timedelta(days=n))

    def at(self, instant: dt.datetime) -> None:
        self.db.execute("select internal.shift_clock(%s::timestamptz - now())", (instant,))

    def forward(self, delta: dt.timedelta) -> None:
        """Moves the clock forward by ``delta`` from where it stands (pinned or not)."""
        self.db.execute("select internal.shift_clock(shift + %s) from core.clock where id", (delta,))


@pytest.fixture(autouse=True)
def pinned_clock(db: psycopg.Connection) -> None:
    """Every test of a folder whose conftest imports this starts at PIN (noon in Tokyo and Seoul)."""
    Clock(db).at(PIN)


@dataclass
class Hotel:
    """A hotel the factory built: ids by room-type code, by ``<type>/<plan>`` and by room number."""

    id: int
    today: dt.date
    currency: str
    code: str = ""
    room_types: dict[str, int] = field(default_factory=dict)
    rate_plans: dict[str, int] = field(default_factory=dict)  # "<type>/<plan>" -> id
    rooms: dict[str, int] = field(default_factory=dict)  # number -> id, in creation order

    def day(self, n: int) -> dt.date:
        return self.today + dt.timedelta(days=n)

    def plan(self, room_type: str = "STD", plan: str = "flex") -> int:
        return self.rate_plans[f"{room_type}/{plan}"]

    def stay(self, offset: int = 3, nights: int = 2) -> tuple[dt.date, dt.date]:
        start = self.day(offset)
        return start, start + dt.timedelta(days=nights)

    # a hotel of one room type and one rate plan
    @property
    def room_type(self) -> int:
        return next(iter(self.room_types.values()))

    @property
    def rate_plan(self) -> int:
        return next(iter(self.rate_plans.values()))

    @property
    def room_ids(self) -> list[int]:
        return list(self.rooms.values())


@dataclass(frozen=True)
class RoomType:
    code: str
    max_occupancy: int
    base_price: int
    rooms: int = 3
    name: str | None = None  # default: the code in title case


def _rate_plan_args(db: psycopg.Connection, hotel_id: int, currency: str, plan: str) -> dict[str, Any]:
    if plan == "flex":
        return {"p_code": "flex", "p_name": "Flexible"}
    if plan == "nr":  # non-refundable, 10 % off
        policy = one(
            db,
            "select id from core.cancellation_policies where hotel_id = %s and code = 'non_refundable'",
            hotel_id,
        )
        return {
            "p_code": "nr",
            "p_name": "Non-refundable",
            "p_price_multiplier": 0.9,
            "p_cancellation_policy_id": policy,
        }
    if plan == "bb":  # breakfast supplement
        return {
            "p_code": "bb",
            "p_name": "With breakfast",
            "p_price_supplement": 20000 if currency in ("KRW", "JPY") else 20,
            "p_includes_breakfast": True,
        }
    raise AssertionError(f"no rate plan {plan!r} in the factory")


def make_hotel(
    db: psycopg.Connection,
    *,
    code: str | None = None,
    name: str | None = None,
    time_zone: str = "Asia/Tokyo",
    currency: str = "JPY",
    city: str | None = None,
    tax_rate: float | None = None,
    prices_include_tax: bool | None = None,
    room_types: Sequence[RoomType] = (RoomType("STD", 2, 10000),),
    plans: Sequence[str] = ("flex",),
    room_number: str = "{type}{i:02d}",
    floor: Callable[[int], int] | None = None,
    open_from: int = 0,
    days: int | None = 30,
) -> Hotel:
    """A hotel built through the api: each room type with its rooms (numbered by ``room_number``,
    fields hotel, type and i counted from 1; on ``floor(i)`` when given) and the rate plans
    ``plans`` (flex, nr, bb); the calendar open from ``open_from`` days after the hotel's today
    until ``days`` days after it (``days=None``: not opened)."""
    n = seq()
    code = code or f"H{n}"
    args: dict[str, Any] = {
        "p_code": code,
        "p_name": name or f"Hotel {code}",
        "p_time_zone": time_zone,
        "p_currency": currency,
        "p_city": city,
        "p_tax_rate": tax_rate,
        "p_prices_include_tax": prices_include_tax,
    }
    hotel_id = scalar(db, "create_hotel", **{k: v for k, v in args.items() if v is not None})
    today = one(db, "select internal.hotel_today(%s)", hotel_id)
    hotel = Hotel(hotel_id, today, currency, code)
    for rt in room_types:
        rt_id = scalar(
            db,
            "create_room_type",
            p_hotel_id=hotel_id,
            p_code=rt.code,
            p_name=rt.name or rt.code.title(),
            p_max_occupancy=rt.max_occupancy,
            p_base_price=rt.base_price,
        )
        hotel.room_types[rt.code] = rt_id
        for i in range(1, rt.rooms + 1):
            number = room_number.format(hotel=code, type=rt.code, i=i)
            extra = {} if floor is None else {"p_floor": floor(i)}
            hotel.rooms[number] = scalar(
                db, "create_room", p_hotel_id=hotel_id, p_room_type_id=rt_id, p_number=number, **extra
            )
        for plan in plans:
            hotel.rate_plans[f"{rt.code}/{plan}"] = scalar(
                db,
                "create_rate_plan",
                p_hotel_id=hotel_id,
                p_room_type_id=rt_id,
                **_rate_plan_args(db, hotel_id, currency, plan),
            )
    if days is not None:
        scalar(
            db, "open_inventory", p_hotel_id=hotel_id, p_from=hotel.day(open_from), p_until=hotel.day(days)
        )
    return hotel


def make_customer(db: psycopg.Connection, *, rank: str = "bronze", family_name: str = "No") -> int:
    """A customer row (loyalty's api owns profiles; most tests need only an id) with a rank."""
    n = seq()
    return one(
        db,
        "insert into core.customers (given_name, family_name, email, rank_code) values ('Guest', %s, %s, %s) "
        "returning id",
        f"{family_name}{n}",
        f"{family_name.lower()}{n}@example.com",
        rank,
    )


def create_customer(db: psycopg.Connection, **fields: Any) -> int:
    """A profile through api.create_customer; ``fields`` are its parameters without ``p_``
    (default: Taro Tanaka, a unique e-mail). Returns the id."""
    n = seq()
    args = {"p_given_name": "Taro", "p_family_name": "Tanaka", "p_email": f"guest{n}@example.com"} | {
        f"p_{k}": v for k, v in fields.items()
    }
    return int(scalar(db, "create_customer", **args)["id"])


def book(
    db: psycopg.Connection,
    hotel: Hotel,
    customer: int,
    start: int = 1,
    nights: int = 2,
    *,
    room_type: str = "STD",
    plan: str = "flex",
    payment_authorisation: str | None = "auth-1",
    **hold: Any,
) -> dict[str, Any]:
    """Holds and confirms a stay of ``nights`` from ``hotel.day(start)`` for ``customer``; the
    confirm_booking row plus the hold id. ``hold``: more create_hold parameters without ``p_`` (rooms, adults...)."""
    held = call(
        db,
        "create_hold",
        p_hotel_id=hotel.id,
        p_room_type_id=hotel.room_types[room_type],
        p_rate_plan_id=hotel.plan(room_type, plan),
        p_check_in=hotel.day(start),
        p_check_out=hotel.day(start + nights),
        **{f"p_{k}": v for k, v in hold.items()},
    )[0]
    confirmed = call(
        db,
        "confirm_booking",
        p_hold_id=held["hold_id"],
        p_customer_id=customer,
        p_payment_authorisation=payment_authorisation,
    )[0]
    return confirmed | {"hold_id": held["hold_id"]}


def issue_api_key(
    db: psycopg.Connection, system: str, hotels: list[int], label: str = "test"
) -> tuple[int, str]:
    """An API key (id, token) of ``system`` for ``hotels``, issued by the owner."""
    row = db.execute(
        "select api_key_id, token from api.issue_api_key(%s, %s, %s)", (system, hotels, label)
    ).fetchone()
    return row[0], row[1]
