"""Helpers shared by the ledger tests (imported by name: tests/ledger is on sys.path)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
import psycopg.rows


def call(db: psycopg.Connection, function: str, **params):
    """``select * from api.<function>(p_x => ...)``; the rows as dicts (a scalar function: one key)."""
    params = {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in params.items()}
    names = ", ".join(f"{k} => %({k})s" for k in params)
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(f"select * from api.{function}({names})", params).fetchall()


def scalar(db: psycopg.Connection, function: str, **params):
    rows = call(db, function, **params)
    return next(iter(rows[0].values()))


def sqlstate_of(excinfo) -> str:
    return excinfo.value.sqlstate


def recount_problems(db: psycopg.Connection) -> list[tuple]:
    """Nights whose counters differ from the recount, or that are oversold: none expected."""
    return db.execute(
        "select hotel_id, room_type_id, night, held, held_recount, booked, booked_recount, oversold "
        "from report.inventory_recount where drifted or oversold order by 1, 2, 3"
    ).fetchall()


@dataclass
class Hotel:
    id: int
    today: dt.date
    currency: str
    room_types: dict[str, int] = field(default_factory=dict)
    rate_plans: dict[str, int] = field(default_factory=dict)  # "<type>/<plan>" -> id
    rooms: dict[str, int] = field(default_factory=dict)

    def day(self, n: int) -> dt.date:
        return self.today + dt.timedelta(days=n)

    def plan(self, room_type: str = "STD", plan: str = "flex") -> int:
        return self.rate_plans[f"{room_type}/{plan}"]
