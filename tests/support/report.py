"""Helpers of the report tests: the hotel-local clock and short spellings of dates and money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg


def at(db: psycopg.Connection, local: str) -> None:
    """Moves the clock to a hotel-local (Asia/Tokyo) time."""
    db.execute("select internal.shift_clock(%s::timestamp at time zone 'Asia/Tokyo' - now())", (local,))


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def money(x) -> Decimal:
    return Decimal(x)
