"""Helpers shared by the front-desk tests (imported by name: tests/frontdesk is on sys.path)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
import psycopg.rows


def call(db: psycopg.Connection, function: str, **params) -> list[dict]:
    """``select * from api.<function>(p_x => ...)``; the rows as dicts (a scalar function: one key)."""
    params = {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in params.items()}
    names = ", ".join(f"{k} => %({k})s" for k in params)
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(f"select * from api.{function}({names})", params).fetchall()


def scalar(db: psycopg.Connection, function: str, **params):
    return next(iter(call(db, function, **params)[0].values()))


def one(db: psycopg.Connection, sql: str, *args):
    row = db.execute(sql, args).fetchone()
    return None if row is None else row[0]


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


@dataclass
class Hotel:
    id: int
    today: dt.date
    currency: str
    room_types: dict[str, int] = field(default_factory=dict)
    rooms: dict[str, int] = field(default_factory=dict)
    rate_plans: dict[str, int] = field(default_factory=dict)

    def day(self, offset: int) -> dt.date:
        return self.today + dt.timedelta(days=offset)
