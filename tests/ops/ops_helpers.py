"""Helpers shared by the operations tests (imported by name: tests/ops is on sys.path): a hotel
with room enough for a booking load, a guest, and one booking (hold + confirm) through the
Python client, which retries 40001 / 40P01 as every hotelcore client does."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import psycopg

from pyapi.client import Client

_seq = itertools.count(1)


@dataclass
class LoadHotel:
    id: int
    room_type: int
    rate_plan: int
    today: dt.date
    days: int


def build_hotel(conn: psycopg.Connection, *, rooms: int = 60, days: int = 60) -> LoadHotel:
    n = next(_seq)
    hotel_id = conn.execute(
        "select api.create_hotel(%s, %s, 'Asia/Tokyo', 'JPY', p_city => 'Tokyo')", [f"OPS{n}", f"Ops {n}"]
    ).fetchone()[0]
    room_type = conn.execute(
        "select api.create_room_type(%s, 'STD', 'Standard', 2, 12000)", [hotel_id]
    ).fetchone()[0]
    for i in range(rooms):
        conn.execute("select api.create_room(%s, %s, %s)", [hotel_id, room_type, f"{n}-{i + 1:03d}"])
    rate_plan = conn.execute(
        "select api.create_rate_plan(%s, %s, 'flex', 'Flexible')", [hotel_id, room_type]
    ).fetchone()[0]
    today = conn.execute("select internal.hotel_today(%s)", [hotel_id]).fetchone()[0]
    conn.execute("select api.open_inventory(%s, %s, %s)", [hotel_id, today, today + dt.timedelta(days=days)])
    return LoadHotel(hotel_id, room_type, rate_plan, today, days)


def make_customer(conn: psycopg.Connection) -> int:
    n = next(_seq)
    return conn.execute(
        "insert into core.customers (given_name, family_name, email) values ('Guest', %s, %s) returning id",
        [f"Ops{n}", f"ops{n}@example.com"],
    ).fetchone()[0]


def book(client: Client, hotel: LoadHotel, customer: int, i: int) -> tuple[int, str]:
    """One one-night booking (hold, then confirm, one transaction); (reservation id, code)."""
    night = hotel.today + dt.timedelta(days=1 + i % (hotel.days - 2))

    def work(conn: psycopg.Connection) -> tuple[int, str]:
        hold = conn.execute(
            "select hold_id from api.create_hold(%s, %s, %s, %s, %s)",
            [hotel.id, hotel.room_type, hotel.rate_plan, night, night + dt.timedelta(days=1)],
        ).fetchone()[0]
        row = conn.execute(
            "select reservation_id, confirmation_code from api.confirm_booking(%s, %s, 'auth-ops')",
            [hold, customer],
        ).fetchone()
        return row[0], row[1]

    return client.transaction(work)
