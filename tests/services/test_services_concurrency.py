"""Invariants under concurrent writers, checked in SQL afterwards: eight orders racing for the
last units of a counted item never drive its stock below zero and never sell more than there
was; eight writers booking overlapping periods of one facility leave no two active bookings
overlapping; eight retries of one client order key make one order."""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg.types.json import Jsonb

from tests.support.errors import sqlstate
from tests.support.sql import scalar

WORKERS = 8


def test_stock_under_eight_concurrent_orders_never_goes_negative(db, make_hotel, checked_in, catalog, hammer):
    hotel = make_hotel(rooms=8)
    items = catalog(hotel)  # water: 5 in stock
    stays = [checked_in(hotel, room_type=t) for t in ("STD", "DLX") for _ in range(4)]

    def attempt(conn: psycopg.Connection, i: int):
        try:
            conn.execute(
                "select api.create_order(%s, %s, %s)",
                (stays[i], f"race-{i}", Jsonb([{"service_item_id": items["water"], "quantity": 1 + i % 2}])),
            )
            return "ok"
        except psycopg.Error as exc:
            return exc.sqlstate

    outcomes = hammer.run(WORKERS, attempt)
    assert set(outcomes) <= {"ok", sqlstate("OUT_OF_STOCK")}, outcomes  # OUT_OF_STOCK is the only refusal
    stock, sold = db.execute(
        "select i.stock, coalesce((select sum(l.quantity) from core.service_order_lines l where l.service_item_id = i.id), 0)"
        " from core.service_items i where i.id = %s",
        (items["water"],),
    ).fetchone()
    assert stock >= 0
    assert stock + sold == 5
    assert outcomes.count("ok") >= 3  # at least the first few fitted


def test_one_client_key_from_eight_retries_makes_one_order(db, hotel, checked_in, catalog, hammer):
    items = catalog(hotel)
    stay = checked_in(hotel)

    def attempt(conn: psycopg.Connection, i: int):
        return conn.execute(
            "select (api.create_order(%s, 'tap-once', %s) ->> 'id')::bigint",
            (stay, Jsonb([{"service_item_id": items["water"], "quantity": 1}])),
        ).fetchone()[0]

    ids = hammer.run(WORKERS, attempt)
    assert len(set(ids)) == 1
    assert db.execute("select count(*) from core.service_orders").fetchone()[0] == 1
    assert (
        db.execute("select stock from core.service_items where id = %s", (items["water"],)).fetchone()[0] == 4
    )


def test_facility_overlap_under_eight_concurrent_writers(db, make_hotel, checked_in, hammer):
    hotel = make_hotel(rooms=8, days=5)
    spa = scalar(
        db,
        "create_facility",
        p_hotel_id=hotel.id,
        p_code="spa1",
        p_name="Treatment room 1",
        p_kind="spa_room",
        p_capacity=2,
        p_slot_minutes=30,
    )
    stays = [checked_in(hotel, room_type=t) for t in ("STD", "DLX") for _ in range(4)]
    tokyo_tomorrow = dt.datetime.combine(hotel.day(1), dt.time(10, 0)).replace(
        tzinfo=dt.timezone(dt.timedelta(hours=9))
    )

    def attempt(conn: psycopg.Connection, i: int):
        # each writer asks 60 or 90 minutes starting on a half-hour between 10:00 and 11:30: all overlap some other
        start = tokyo_tomorrow + dt.timedelta(minutes=30 * (i % 4))
        end = start + dt.timedelta(minutes=60 + 30 * (i % 2))
        try:
            conn.execute("select api.book_facility(%s, %s, %s, %s, 1)", (spa, stays[i], start, end))
            return "ok"
        except psycopg.Error as exc:
            return exc.sqlstate

    outcomes = hammer.run(WORKERS, attempt)
    assert set(outcomes) <= {"ok", sqlstate("FACILITY_UNAVAILABLE")}, (
        outcomes
    )  # FACILITY_UNAVAILABLE is the only refusal
    assert 1 <= outcomes.count("ok") <= 3
    overlaps = db.execute(
        "select a.id, b.id from core.facility_bookings a join core.facility_bookings b"
        " on b.facility_id = a.facility_id and b.id > a.id and a.period && b.period where a.active and b.active"
    ).fetchall()
    assert overlaps == []
    assert db.execute("select count(*) from core.facility_bookings where active").fetchone()[
        0
    ] == outcomes.count("ok")
