"""Factories of the event tests: a small hotel built through the api, changes that publish events,
and the webhook endpoint of a verifying receiver."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb


@dataclass
class Hotel:
    id: int
    rooms: list[int]


def make_hotel(db: psycopg.Connection, code: str = "EV") -> Hotel:
    hotel = db.execute(
        "select api.create_hotel(p_code => %s, p_name => %s, p_time_zone => 'Asia/Tokyo', p_currency => 'JPY')",
        (code, f"Hotel {code}"),
    ).fetchone()[0]
    room_type = db.execute(
        "select api.create_room_type(p_hotel_id => %s, p_code => 'STD', p_name => 'Standard',"
        " p_max_occupancy => 2, p_base_price => 10000)",
        (hotel,),
    ).fetchone()[0]
    rooms = [
        db.execute(
            "select api.create_room(p_hotel_id => %s, p_room_type_id => %s, p_number => %s)",
            (hotel, room_type, f"{code}-{i}"),
        ).fetchone()[0]
        for i in range(1, 5)
    ]
    return Hotel(hotel, rooms)


def create_customer(db: psycopg.Connection, n: int) -> int:
    return int(
        db.execute(
            "select (api.create_customer(p_given_name => 'Guest', p_family_name => %s, p_email => %s))->>'id'",
            (f"No{n}", f"guest{n}@example.com"),
        ).fetchone()[0]
    )


def touch_customer(db: psycopg.Connection, customer: int, city: str) -> None:
    """One customer.updated event for ``customer``."""
    version = db.execute("select version from core.customers where id = %s", (customer,)).fetchone()[0]
    db.execute("select api.update_customer(%s, %s, %s)", (customer, version, Jsonb({"city": city})))


def set_status(db: psycopg.Connection, hotel: Hotel, room: int, status: str) -> None:
    db.execute(
        "select api.set_room_status(p_hotel_id => %s, p_room_id => %s, p_status => %s)",
        (hotel.id, room, status),
    )


def add_webhook(db: psycopg.Connection, url: str, types: list[str], **kw) -> tuple[int, str]:
    params = ", ".join(f"p_{k} => %({k})s" for k in kw)
    return db.execute(
        f"select webhook_id, secret from api.add_webhook(p_url => %(url)s, p_event_types => %(types)s"
        f"{', ' + params if params else ''})",
        {"url": url, "types": types, **kw},
    ).fetchone()


def wait_readable(db: psycopg.Connection, timeout: float = 30.0) -> None:
    """Wait until every committed event is readable: below the xmin of every snapshot, which a
    transaction elsewhere in the cluster (the harness drops the previous test's database in the
    background) may hold back for a moment."""
    import time

    deadline = time.monotonic() + timeout
    while db.execute(
        "select exists (select 1 from core.events where order_xid >= pg_snapshot_xmin(pg_current_snapshot()))"
    ).fetchone()[0]:
        assert time.monotonic() < deadline, "events stayed unreadable"
        time.sleep(0.05)
