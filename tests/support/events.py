"""Helpers of the event tests: a small hotel built through the api, changes that publish events,
the webhook endpoint of a verifying receiver, and waiting until events are readable."""

from __future__ import annotations

import time

import psycopg
from psycopg.types.json import Jsonb

from pyapi.dispatch import new_secret

from . import factories
from .factories import Hotel, RoomType


def make_hotel(db: psycopg.Connection, code: str = "EV") -> Hotel:
    """A hotel of one room type (STD) and four rooms <code>-1..4, no rate plan, no calendar."""
    return factories.make_hotel(
        db,
        code=code,
        room_types=(RoomType("STD", 2, 10000, rooms=4, name="Standard"),),
        plans=(),
        room_number="{hotel}-{i}",
        days=None,
    )


def create_customer(db: psycopg.Connection, n: int) -> int:
    """Guest No<n>, guest<n>@example.com, through api.create_customer."""
    return factories.create_customer(
        db, given_name="Guest", family_name=f"No{n}", email=f"guest{n}@example.com"
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
    """An endpoint registered the way the CLI does (a secret made and sealed outside the
    database); its id and its secret in clear."""
    secret, sealed = new_secret()
    params = ", ".join(f"p_{k} => %({k})s" for k in kw)
    (webhook_id,) = db.execute(
        f"select webhook_id from api.add_webhook(p_url => %(url)s, p_event_types => %(types)s,"
        f" p_secret_sealed => %(sealed)s{', ' + params if params else ''})",
        {"url": url, "types": types, "sealed": sealed, **kw},
    ).fetchone()
    return webhook_id, secret


def all_readable(db: psycopg.Connection) -> bool:
    """True when every event committed before this call is readable: below the xmin of every
    snapshot, which a transaction elsewhere in the cluster (the harness drops the previous test's
    database in the background; another process's tests may run on the same server) may hold back
    for a while. Once true it stays true for those events, so a read after it sees all of them."""
    return not db.execute(
        "select exists (select 1 from core.events where order_xid >= pg_snapshot_xmin(pg_current_snapshot()))"
    ).fetchone()[0]


def wait_readable(db: psycopg.Connection, guard: float = 240.0) -> None:
    """Wait until every committed event is readable (:func:`all_readable`). What is awaited is the
    condition; ``guard`` (below pytest's timeout) only names a transaction that never ends."""
    deadline = time.monotonic() + guard
    while not all_readable(db):
        assert time.monotonic() < deadline, "events stayed unreadable"
        time.sleep(0.05)
