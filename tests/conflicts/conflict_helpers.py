"""Helpers of the conflict tests (imported by name: tests/conflicts is on sys.path)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import psycopg
import psycopg.rows
from psycopg.types.json import Jsonb

# Every test starts at 03:00 UTC today (noon in Tokyo): no test straddles the hotel's midnight.
PIN = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(3, 0), tzinfo=dt.UTC)


def call(db: psycopg.Connection, function: str, **params) -> list[dict]:
    names = ", ".join(f"{k} => %({k})s" for k in params)
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(f"select * from api.{function}({names})", params).fetchall()


def scalar(db: psycopg.Connection, function: str, **params) -> Any:
    return next(iter(call(db, function, **params)[0].values()))


def one(db: psycopg.Connection, sql: str, *args) -> Any:
    row = db.execute(sql, args).fetchone()
    return None if row is None else row[0]


def detect(db: psycopg.Connection, entity_type: str, entity_id: int, updates: list[dict]) -> dict:
    return scalar(
        db, "detect_conflicts", p_entity_type=entity_type, p_entity_id=entity_id, p_updates=Jsonb(updates)
    )


def resolve(db: psycopg.Connection, conflict_id: int, method: str, data: dict, user: str = "admin-1") -> dict:
    return scalar(
        db,
        "resolve_conflict",
        p_conflict_id=conflict_id,
        p_resolution_method=method,
        p_resolved_data=Jsonb(data),
        p_resolver_user_id=user,
    )


def update(system: str, minutes: float, **fields) -> dict:
    """One element of conflicting_updates: made by ``system`` ``minutes`` after the test's pin."""
    return {
        "system": f"hotel-{system}",
        "timestamp": (PIN + dt.timedelta(minutes=minutes)).isoformat(),
        "fields": fields,
    }


@dataclass
class Hotel:
    id: int
    today: dt.date
    room_types: dict[str, int] = field(default_factory=dict)
    rate_plans: dict[str, int] = field(default_factory=dict)
    rooms: dict[str, int] = field(default_factory=dict)

    def day(self, n: int) -> dt.date:
        return self.today + dt.timedelta(days=n)
