"""The simulated vendor's ledger: properties, room types, rates, reservations, blocks and the
faults a test can switch on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

RATE_LIMIT = 10  # requests per second per property (Cloudbeds' documented limit)
BASE_PATH = "/api/v1.3"


@dataclass
class Faults:
    """What goes wrong for one property. Counts (``fail_next``, ``throttle_next``) are consumed
    one per request; the rest hold until switched off."""

    latency: float = 0.0  # seconds added to every request
    fail_next: int = 0  # the next N requests answer 500
    fail_status: int = 500
    timeout_next: int = 0  # the next N requests hang for ``hang`` seconds
    lose_answer_next: int = 0  # the next N requests are applied, then answered 504 (answer lost)
    hang: float = 30.0
    outage: bool = False  # every request answers 503
    throttle_next: int = 0  # the next N requests answer 429 with Retry-After
    retry_after: int = 1
    fail_operations: set[str] = field(default_factory=set)  # only these methods fail (empty: all)
    webhook_duplicate: bool = False  # send each notification twice
    webhook_reorder: bool = False  # hold notifications; flush_webhooks sends them newest first


@dataclass
class RoomType:
    id: str
    name: str
    short: str
    max_guests: int


NO_RESTRICTION = {"minLos": 0, "maxLos": 0, "closedToArrival": False, "closedToDeparture": False}


@dataclass
class Rate:
    id: str
    room_type_id: str
    name: str
    base: Decimal
    by_date: dict[dt.date, Decimal] = field(default_factory=dict)
    # per date, as getRatePlans publishes them: minLos / maxLos (0: none), closedToArrival,
    # closedToDeparture
    restrictions: dict[dt.date, dict[str, Any]] = field(default_factory=dict)

    def on(self, night: dt.date) -> Decimal:
        return self.by_date.get(night, self.base)

    def restriction(self, night: dt.date) -> dict[str, Any]:
        return {**NO_RESTRICTION, **self.restrictions.get(night, {})}

    def forbids(self, start: dt.date, end: dt.date) -> str | None:
        """Why the rate cannot sell the stay (the arrival date's length and arrival rules, the
        departure date's closed to departure), None when it can."""
        arrival, departure, nights = self.restriction(start), self.restriction(end), (end - start).days
        if arrival["closedToArrival"]:
            return f"{start} is closed to arrival"
        if departure["closedToDeparture"]:
            return f"{end} is closed to departure"
        if arrival["minLos"] and nights < arrival["minLos"]:
            return f"minimum stay {arrival['minLos']} nights from {start}"
        if arrival["maxLos"] and nights > arrival["maxLos"]:
            return f"maximum stay {arrival['maxLos']} nights from {start}"
        return None


@dataclass
class Reservation:
    id: str
    status: str
    start: dt.date
    end: dt.date
    rooms: list[tuple[str, str]]  # (roomTypeID, roomID)
    guest_first: str
    guest_last: str
    guest_email: str
    total: Decimal
    created: dt.datetime
    modified: dt.datetime
    third_party_id: str | None = None


@dataclass
class Block:
    id: str
    rooms: list[tuple[str, str]]
    start: dt.date
    end: dt.date  # last blocked night (Cloudbeds' endDate is inclusive for blocks)
    expires: dt.datetime


@dataclass
class Property:
    id: str
    api_key: str
    name: str
    city: str
    country: str
    time_zone: str
    currency: str
    room_types: dict[str, RoomType] = field(default_factory=dict)
    rooms: dict[str, str] = field(default_factory=dict)  # roomID -> roomTypeID
    room_names: dict[str, str] = field(default_factory=dict)
    rates: dict[str, Rate] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    blocks: dict[str, Block] = field(default_factory=dict)
    webhooks: list[tuple[str, str, str, str]] = field(default_factory=list)  # (id, object, action, url)
    faults: Faults = field(default_factory=Faults)
    recent: deque = field(default_factory=deque)  # request instants for the rate limit
    held_webhooks: list[dict] = field(default_factory=list)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _nights(start: dt.date, end: dt.date):
    d = start
    while d < end:
        yield d
        d += dt.timedelta(days=1)


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
