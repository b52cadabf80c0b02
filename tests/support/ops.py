"""Helpers of the operations tests: a hotel
with room enough for a booking load, a guest, one booking (hold + confirm) through the Python
client, which retries 40001 / 40P01 as every hotelcore client does, and a load of such bookings
from several clients while a migration runs."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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


def book(
    client: Client,
    hotel: Hotel,
    customer: int,
    i: int,
    days: int = 60,
    on_attempt: Callable[[], None] | None = None,
) -> tuple[int, str]:
    """One one-night booking (hold, then confirm, one transaction) within the first ``days`` nights;
    (reservation id, code). ``on_attempt`` is called at each try of the transaction (the client
    runs it again after a deadlock or a serialization failure)."""
    night = hotel.today + dt.timedelta(days=1 + i % (days - 2))

    def work(conn: psycopg.Connection) -> tuple[int, str]:
        if on_attempt is not None:
            on_attempt()
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


@dataclass
class BookingLoad:
    """What a booking load did: each booking's (start, end, reservation id), each failure, and
    how many transaction attempts the clients made (more than the bookings: their retries)."""

    done: list[tuple[float, float, int]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    attempts: int = 0

    def overlapping(self, start: float, end: float) -> list[tuple[float, float, int]]:
        """The bookings that ran while something else ran from ``start`` to ``end``."""
        return [d for d in self.done if d[0] < end and d[1] > start]

    def after(self, end: float) -> list[tuple[float, float, int]]:
        return [d for d in self.done if d[0] > end]

    @property
    def retries(self) -> int:
        return self.attempts - len(self.done) - len(self.failed)

    @property
    def reservation_ids(self) -> list[int]:
        return [d[2] for d in self.done]


@contextmanager
def booking_load(
    url: str,
    hotel: Hotel,
    customers: list[int],
    *,
    days: int = 60,
    before: float = 1.0,
    after: float = 0.5,
) -> Iterator[BookingLoad]:
    """One client per customer booking without pause (each its own nights) from ``before``
    seconds ahead of the block until ``after`` seconds past it; every failure is recorded, not
    raised (it is the test's finding)."""
    stop = threading.Event()
    load = BookingLoad()
    lock = threading.Lock()

    def counted() -> None:
        with lock:
            load.attempts += 1

    def worker(w: int) -> None:
        client = Client(url, min_size=1, max_size=1)
        i = w
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    rid, _ = book(client, hotel, customers[w], i, days=days, on_attempt=counted)
                except Exception as exc:  # every failure is the test's finding
                    with lock:
                        load.failed.append(f"{type(exc).__name__}: {exc}")
                else:
                    with lock:
                        load.done.append((started, time.monotonic(), rid))
                i += len(customers)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(len(customers))]
    for t in threads:
        t.start()
    try:
        time.sleep(before)
        yield load
        time.sleep(after)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
