"""Helpers of the operations tests: a hotel
with room enough for a booking load, a guest, and one booking (hold + confirm) through the
Python client, which retries 40001 / 40P01 as every hotelcore client does."""

from __future__ import annotations

import datetime as dt

import psycopg

from pyapi.client import Client

from . import factories
from .factories import Hotel, RoomType


def build_hotel(conn: psycopg.Connection, *, rooms: int = 60, days: int = 60) -> Hotel:
    """A Tokyo hotel of one room type with ``rooms`` rooms, one rate plan, ``days`` nights open."""
    n = factories.seq()
    return factories.make_hotel(
        conn,
        code=f"OPS{n}",
        name=f"Ops {n}",
        city="Tokyo",
        room_types=(RoomType("STD", 2, 12000, rooms=rooms, name="Standard"),),
        room_number=f"{n}-{{i:03d}}",
        days=days,
    )


def make_customer(conn: psycopg.Connection) -> int:
    return factories.make_customer(conn, family_name="Ops")


def book(client: Client, hotel: Hotel, customer: int, i: int, days: int = 60) -> tuple[int, str]:
    """One one-night booking (hold, then confirm, one transaction) within the first ``days`` nights;
    (reservation id, code)."""
    night = hotel.today + dt.timedelta(days=1 + i % (days - 2))

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
