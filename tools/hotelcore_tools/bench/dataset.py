"""The loaded dataset as the workloads see it: hotels, room types, booking requests, members, the
invariants checked after a run, and the run's settings.
"""

from __future__ import annotations

import queue
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import psycopg

from .. import datagen
from .harness import Exhausted, Result

# ============================================================================ the dataset as the workloads see it


@dataclass(frozen=True)
class BookingRequest:
    hotel_id: int
    room_type_id: int
    rate_plan_id: int
    customer_id: int
    check_in: date
    check_out: date
    adults: int

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


@dataclass
class RoomTypeCtx:
    id: int
    max_occupancy: int
    rate_plan_ids: list[int]


@dataclass
class HotelCtx:
    id: int
    code: str
    city: str | None
    today: date
    room_types: list[RoomTypeCtx]


@dataclass
class Ctx:
    """Ids and dates the workloads draw their requests from (read back from the database)."""

    hotels: list[HotelCtx]
    audit_hotel: HotelCtx | None
    member_ids: list[int]
    days: int

    @classmethod
    def read(cls, conn: psycopg.Connection, days: int, audit_code: str = "HC-FD-300") -> Ctx:
        plans: dict[int, list[int]] = {}
        for rt_id, rp_id in conn.execute(
            "select room_type_id, id from core.rate_plans where active order by id"
        ):
            plans.setdefault(rt_id, []).append(rp_id)
        types: dict[int, list[RoomTypeCtx]] = {}
        for hid, rt_id, occ in conn.execute(
            "select hotel_id, id, max_occupancy from core.room_types where active order by hotel_id, id"
        ):
            types.setdefault(hid, []).append(RoomTypeCtx(rt_id, occ, plans.get(rt_id, [])))
        hotels = []
        audit = None
        for hid, code, city, today in conn.execute(
            """select h.id, h.code, h.city, (internal.now() at time zone h.time_zone)::date
               from core.hotels h order by h.id"""
        ):
            h = HotelCtx(hid, code, city, today, [t for t in types.get(hid, []) if t.rate_plan_ids])
            if code == audit_code:
                audit = h
            else:
                hotels.append(h)
        members = [r[0] for r in conn.execute("select id from core.customers where is_member order by id")]
        return cls(hotels, audit, members, days)

    def request(
        self, rng: random.Random, hotel: HotelCtx | None = None, max_nights: int = 4
    ) -> BookingRequest:
        """A booking request as a guest would make it: any hotel, room type, plan, a short stay."""
        h = hotel or rng.choice(self.hotels)
        rt = rng.choice(h.room_types)
        nights = min(rng.choice([1, 1, 2, 2, 3, 4]), max_nights)
        first = h.today + timedelta(days=rng.randrange(1, max(2, self.days - nights)))
        return BookingRequest(
            h.id,
            rt.id,
            rng.choice(rt.rate_plan_ids),
            rng.choice(self.member_ids) if self.member_ids else 0,
            first,
            first + timedelta(days=nights),
            rng.randint(1, min(2, rt.max_occupancy)),
        )


# ============================================================================ workloads


class Items:
    """A thread-safe queue of prepared inputs; ``take`` raises Exhausted when it is empty."""

    def __init__(self, items: list[Any] | None = None):
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        for it in items or []:
            self._q.put(it)

    def put(self, item: Any) -> None:
        self._q.put(item)

    def take(self) -> Any:
        try:
            return self._q.get_nowait()
        except queue.Empty:
            raise Exhausted from None

    def drain(self) -> list[Any]:
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out

    def __len__(self) -> int:
        return self._q.qsize()


def _invariants(conn: psycopg.Connection) -> dict[str, Any]:
    return datagen.check_invariants(conn)


def _service_invariants(conn: psycopg.Connection) -> dict[str, Any]:
    """The ledger's invariants, and the guest services': every delivered order's folio postings add
    up to its total, no counted item below zero stock."""
    out = datagen.check_invariants(conn)
    out["orders_charged_wrong"] = conn.execute(
        """select count(*) from core.service_orders o
           where o.status = 'delivered' and o.total_amount <> coalesce((select sum(l.amount)
               from core.service_order_postings p join core.folio_lines l on l.id = p.folio_line_id
               where p.order_id = o.id), 0)"""
    ).fetchone()[0]
    out["negative_stock"] = conn.execute(
        "select count(*) from core.service_items where stock < 0"
    ).fetchone()[0]
    return out


def _rank_trigger(conn: psycopg.Connection) -> str | None:
    """The loyalty trigger that recomputes ranks on check-out, if the schema has one."""
    row = conn.execute(
        """select t.tgname from pg_trigger t join pg_proc p on p.oid = t.tgfoid
           where t.tgrelid = 'core.reservations'::regclass and not t.tgisinternal
             and (t.tgname like '%%rank%%' or p.proname like '%%rank%%')
           order by t.tgname limit 1"""
    ).fetchone()
    return row[0] if row else None


def _has_function(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute(
        "select exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
        "where n.nspname = 'api' and p.proname = %s)",
        (name,),
    ).fetchone()[0]


@dataclass
class RunSettings:
    """The run's settings, derived from the command line."""

    clients: int
    duration: float | None
    ops: int | None
    seed: int
    quick: bool


def _p95_under(ms: float) -> Callable[[Result], bool]:
    return lambda r: r.p95_ms <= ms
