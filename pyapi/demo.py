"""``hotelcore demo``: a season in a small hotel chain, simulated day by day through the ``api``.

The demo builds a chain with :mod:`pyapi.datagen` (hotels, room types, rooms, rate plans,
seasons, holidays, members), then lives through a season one day at a time. Each hotel's day
runs at its own local hours: the database clock (``internal.now()``) is moved to that hour with
``internal.shift_clock`` (the demo connects as the database owner), so every deadline the rules
read — arrival day, free-cancellation window, hold expiry, no-show — is the hotel's own.

What happens on a hotel's day, in order (the hour is local):

* 02:00 night audit of yesterday (room nights posted, no-shows marked), no-show fees collected,
  expired holds and waitlist entries swept;
* 09:00 departures: the folio is paid and the guest checks out (a few leave early); points are
  earned; some guests write a review; some members redeem points;
* 12:00 housekeeping cleans the rooms left dirty; now and then a room is taken out for repairs;
* 13:00 the day's booking requests: a lead time, a length of stay and an origin (member, pms,
  ota, direct) each; a hold is taken, then confirmed, released or left to expire; a sold-out
  request from a member joins the waitlist; a few direct bookings go through the HTTP
  checkout saga; a few minutes later the abandoned holds expire;
* 14:00 cancellations (fees per the rate plan's policy, then collected) and modifications fall
  due; offers made to the waitlist are taken up;
* 16:00 arrivals check in (except the no-shows); 18:00 in-house guests book spa treatments and
  order room service through hotel-saas's orders (accepted, delivered a quarter to an hour
  later, which posts the charges to the folio; a few are cancelled, a rare delivered one is
  reversed after a complaint, some get feedback); 20:00 restaurant, bar and laundry charges.

Every decision comes from one ``random.Random(seed)`` and every query the simulation reads is
ordered, so the same seed gives the same figures. The rules themselves are all in PostgreSQL:
Python only plays the guests and the staff.

After the season the demo prints the manager's reports (read from the ``report`` views), checks
the invariants (no overlapping stays, no oversold night, counters = recount, every closed folio
balanced) and writes an HTML report that opens offline.
"""

from __future__ import annotations

import json
import math
import random
import time as wallclock
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from . import datagen
from .client import Client, HotelcoreError

DEMO_DATABASE = "hotelcore_demo"
# The season is fixed so that the same seed gives the same figures whatever the day it runs.
SEASON_START = date(2025, 7, 1)
# One hotel per time zone and currency, in this order (cycled for more hotels).
DEMO_CITIES = ("Tokyo", "Seoul", "New York", "Paris", "Sydney")

ORIGINS = ("member", "ota", "direct", "pms")
ORIGIN_WEIGHTS = (0.40, 0.30, 0.15, 0.15)
LEAD_MEAN = {"member": 24.0, "ota": 18.0, "direct": 12.0, "pms": 4.0}  # days, exponential
RATE_PLAN_WEIGHTS = (0.55, 0.30, 0.15)  # FLEX, NRF, BB (datagen.RATE_PLANS order)
SERVICE_ITEMS = ("Restaurant", "Bar", "Laundry")  # outlets posting to the folio directly
# hotel-saas's catalog per hotel: (category, code, name, price in units of the currency's scale, hours)
CATALOG = (
    ("room_service", "club", "Club sandwich", 2, ("06:30", "23:30")),
    ("room_service", "noodles", "Noodle bowl", 1.5, ("11:00", "23:30")),
    ("room_service", "breakfast", "Breakfast tray", 3, ("06:30", "11:00")),
    ("spa", "massage", "Massage, 60 minutes", 9, ("10:00", "21:00")),
    ("spa", "facial", "Facial", 7, ("10:00", "21:00")),
)


@dataclass(frozen=True)
class DemoSpec:
    hotels: int = 5
    days: int = 90  # the season: nights reported on
    seed: int = 42
    rooms: int = 60  # per hotel
    room_types: int = 8  # per hotel
    members: int | None = None  # default: 600 per hotel
    presale_days: int = 30  # days of bookings before the first night
    max_lead: int = 60
    http_share: float = 0.25  # share of direct bookings made through the HTTP checkout saga
    external_hotel: bool = True  # one Cloudbeds hotel beside the native ones (simulated vendor)

    def __post_init__(self) -> None:
        if self.hotels < 1 or self.days < 1 or self.rooms < self.room_types:
            raise ValueError("hotels and days must be positive, rooms at least room_types")

    @property
    def member_count(self) -> int:
        return self.members if self.members is not None else 600 * self.hotels

    @property
    def first_night(self) -> date:
        return SEASON_START

    @property
    def end(self) -> date:  # first night after the season
        return SEASON_START + timedelta(days=self.days)

    def dataset(self) -> datagen.DatasetSpec:
        cities = tuple(DEMO_CITIES[i % len(DEMO_CITIES)] for i in range(min(self.hotels, len(DEMO_CITIES))))
        return datagen.DatasetSpec(
            hotels=self.hotels,
            room_types=self.room_types,
            rooms=self.rooms,
            days=self.presale_days + self.days + 35,
            members=self.member_count,
            booked_share=0.0,
            audit_rooms=0,
            seed=self.seed,
            cities=cities,
        )


@dataclass
class Hotel:
    id: int
    code: str
    name: str
    city: str
    time_zone: str
    currency: str
    minor_units: int
    room_types: list[tuple[int, str, int, int]]  # (id, code, max occupancy, rooms)
    rate_plans: dict[int, list[int]]  # room type id -> [FLEX, NRF, BB] ids
    demand: float = 0.0  # booking requests per day
    quality: float = 4.0  # mean review rating


@dataclass
class DemoResult:
    spec: DemoSpec
    seconds: float
    timings: dict[str, float]
    counts: dict[str, int]
    refusals: dict[str, int]
    invariants: dict[str, int]
    reports: dict[str, Any]
    html_path: Path | None
    http_note: str

    @property
    def ok(self) -> bool:
        return invariants_hold(self.invariants)


def invariants_hold(inv: dict[str, int]) -> bool:
    return all(v == 0 for k, v in inv.items() if not k.endswith("_checked"))


# ============================================================================ the simulation


class _Progress:
    """A stand-in for rich's Progress when the caller wants no bars (the tests)."""

    def add_task(self, *_a: Any, **_k: Any) -> int:
        return 0

    def advance(self, *_a: Any, **_k: Any) -> None:
        pass

    def update(self, *_a: Any, **_k: Any) -> None:
        pass


class Season:
    """Plays the guests and the staff of the chain, day by day, through the api."""

    def __init__(self, url: str, spec: DemoSpec, progress: Any):
        self.url = url
        self.spec = spec
        self.progress = progress
        self.rng = random.Random(spec.seed)
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("set synchronous_commit = off")
        self.client = Client.for_connection(self.conn, attempts=3)  # for its SQLSTATE -> refusal mapping
        self.queries: dict[tuple[str, tuple[str, ...]], sql.Composed] = {}
        self.counts: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.hotels: list[Hotel] = []
        self.members: list[int] = []
        self.guest_names: dict[str, list[tuple[str, str]]] = {}
        self.guests: dict[str, int] = {}  # e-mail -> the profile api.find_or_create_guest answered
        self.refs = 0
        # what each booking will do later, decided when it is made: day -> [(reservation id, ...)]
        self.cancel_on: dict[date, list[int]] = {}
        self.modify_on: dict[date, list[int]] = {}
        self.no_shows: set[int] = set()
        self.ranks_before: dict[str, int] = {}
        self.saga = None
        self.http_note = ""

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        if self.saga is not None:
            self.saga.db.close()
        self.conn.close()

    def _query(self, function: str, names: tuple[str, ...]) -> sql.Composed:
        key = (function, names)
        query = self.queries.get(key)
        if query is None:
            query = self.queries[key] = sql.SQL("select * from api.{}({})").format(
                sql.Identifier(function),
                sql.SQL(", ").join(
                    sql.SQL("{} => {}").format(sql.Identifier(n), sql.Placeholder(n)) for n in names
                ),
            )
        return query

    def call(self, function: str, **params: Any) -> list[dict[str, Any]] | None:
        """One api call; a documented refusal is counted and answered with None.

        One connection in autocommit, one statement per call: the client's whole-transaction
        retries have nothing to retry here (the demo is the only writer), so the call goes straight
        to the connection and only the client's mapping of SQLSTATEs to refusals is used.
        """
        try:
            with self.conn.cursor(row_factory=dict_row) as cur:
                cur.execute(self._query(function, tuple(params)), params)
                return cur.fetchall()
        except psycopg.Error as exc:
            mapped = self.client.map_error(exc)
            if not isinstance(mapped, HotelcoreError):
                raise
            self.refusals[f"{function}: {mapped.name}"] += 1
            return None

    def value(self, function: str, **params: Any) -> Any:
        rows = self.call(function, **params)
        return next(iter(rows[0].values())) if rows else None

    def batch(self, function: str, rows: list[dict[str, Any]]) -> None:
        """Many calls of one api function that cannot be refused, pipelined in one round trip."""
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(self._query(function, tuple(rows[0])), rows)

    def at(self, hotel: Hotel, day: date, hour: int, minute: int = 0) -> None:
        """Move the database clock to ``hour:minute`` of ``day`` in the hotel's time zone."""
        local = datetime.combine(day, time(hour, minute), ZoneInfo(hotel.time_zone))
        self.conn.execute("select internal.shift_clock(%s::timestamptz - now())", [local])

    def rows(self, query: str, params: list[Any] | tuple = ()) -> list[tuple]:
        return self.conn.execute(query, params).fetchall()

    def reference(self, kind: str) -> str:
        self.refs += 1
        return f"demo-{kind}-{self.spec.seed}-{self.refs:07d}"

    def settle(self, reservation_id: int, balance: Decimal, counter: str) -> None:
        """Bring a folio to zero: the guest pays what is owed, or is refunded an overpayment."""
        if balance > 0:
            self.pay(reservation_id, balance, counter)
            return
        owed = -balance
        for payment_id, refundable in self.rows(
            """select p.id, p.captured_amount - p.refunded_amount from core.payments p
                   join core.folios f on f.id = p.folio_id
                   where f.reservation_id = %s and p.status in ('captured', 'refunded')
                     and p.captured_amount > p.refunded_amount order by p.id""",
            [reservation_id],
        ):
            if owed <= 0:
                break
            amount = min(owed, refundable)
            if self.call("refund_payment", p_payment_id=payment_id, p_amount=amount, p_app_user="front desk"):
                self.counts["refunds"] += 1
                owed -= amount

    def pay(self, reservation_id: int, amount: Decimal, counter: str) -> None:
        """The guest pays ``amount`` on the folio: mostly by card, some cash, some PayPal."""
        if amount <= 0:
            return
        method = self.rng.choices(("card", "cash", "paypal"), (0.8, 0.15, 0.05))[0]
        ref = None if method == "cash" else self.reference(method)
        if (
            self.call(
                "authorise_payment",
                p_reservation_id=reservation_id,
                p_method=method,
                p_amount=amount,
                p_processor_reference=ref,
                p_capture=True,
            )
            is not None
        ):
            self.counts[counter] += 1

    # ------------------------------------------------------------------ the chain

    def build(self) -> None:
        """The chain, with datagen's hotels, room types, rooms, rate plans, pricing and members."""
        spec = self.spec
        self.conn.execute(
            "select internal.shift_clock(%s::timestamptz - now())",
            [
                datetime.combine(
                    spec.first_night - timedelta(days=spec.presale_days + 1), time(12), ZoneInfo("UTC")
                )
            ],
        )
        plan = datagen.make_plan(spec.dataset())
        loaded = datagen.load(self.url, plan, self.progress)
        self.members = loaded.member_ids
        rng = random.Random(f"{spec.seed}/hotels")
        for hid in loaded.hotel_ids:
            code, name, city, tz, currency, minor = self.rows(
                """select h.code, h.name, h.city, h.time_zone, h.currency, c.minor_units
                   from core.hotels h join core.currencies c on c.code = h.currency where h.id = %s""",
                [hid],
            )[0]
            types = self.rows(
                """select rt.id, rt.code, rt.max_occupancy, count(r.id)::int from core.room_types rt
                   join core.rooms r on r.room_type_id = rt.id where rt.hotel_id = %s group by rt.id order by rt.id""",
                [hid],
            )
            plans: dict[int, list[int]] = {}
            codes = [c for c, *_ in datagen.RATE_PLANS]
            for rt_id, rp_code, rp_id in self.rows(
                "select room_type_id, code, id from core.rate_plans where hotel_id = %s order by id", [hid]
            ):
                plans.setdefault(rt_id, [0] * len(codes))[codes.index(rp_code)] = rp_id
            rooms = sum(t[3] for t in types)
            hotel = Hotel(hid, code, name, city, tz, currency, minor, [tuple(t) for t in types], plans)
            # demand: requests per day so that a hotel fills 60-90 % of its rooms, before cancellations
            target = rng.uniform(0.62, 0.92)
            mean_los = sum(datagen.STAY_LENGTHS) / len(datagen.STAY_LENGTHS)
            hotel.demand = rooms * target / mean_los * 1.7
            hotel.quality = rng.uniform(3.5, 4.6)
            self.hotels.append(hotel)
        # a peak in the middle of the season (on top of datagen's own seasons), priced by the ledger
        for hotel in self.hotels:
            first = spec.first_night + timedelta(days=spec.days * 2 // 5)
            last = first + timedelta(days=max(1, spec.days // 6))
            if (
                self.call(
                    "create_season",
                    p_hotel_id=hotel.id,
                    p_code="PEAK",
                    p_name="Summer peak",
                    p_from=first,
                    p_until=last,
                )
                is None
            ):
                continue
            season_id = self.rows(
                "select id from core.seasons where hotel_id = %s and code = 'PEAK'", [hotel.id]
            )[0][0]
            self.call(
                "set_pricing_rule",
                p_hotel_id=hotel.id,
                p_kind="season",
                p_multiplier=Decimal("1.20"),
                p_season_id=season_id,
            )
        # hotel-saas's catalog: room service and spa, priced in each hotel's currency
        self.catalog: dict[int, dict[str, int]] = {}
        for hotel in self.hotels:
            unit = Decimal(10) ** -hotel.minor_units
            items = {}
            for category, code, name, units, (opens, closes) in CATALOG:
                items[code] = self.value(
                    "create_service_item",
                    p_hotel_id=hotel.id,
                    p_category=category,
                    p_code=code,
                    p_name=name,
                    p_price=(Decimal(self.scale(hotel)) * Decimal(str(units))).quantize(unit),
                    p_available_from=time.fromisoformat(opens),
                    p_available_until=time.fromisoformat(closes),
                )
            self.catalog[hotel.id] = items
        self.ranks_before = dict(
            self.rows(
                "select rank_code, count(*)::int from core.customers where is_member group by 1 order by 1"
            )
        )
        # guests who do not join: names from Faker in each hotel's locale
        from faker import Faker

        for h in plan.hotels:
            if h.locale in self.guest_names:
                continue
            fk = Faker(h.locale)
            fk.seed_instance(spec.seed)
            self.guest_names[h.locale] = [(fk.first_name(), fk.last_name()) for _ in range(300)]
        self.locales = [h.locale for h in plan.hotels]

    def start_saga(self) -> None:
        """The HTTP layer's checkout saga, in process, on its own small pool (if it is there)."""
        try:
            from .http.errors import ErrorMap
            from .http.gateway import ResilientGateway, SimulatedGateway
            from .http.pool import Database
            from .http.saga import CheckoutSaga, Order
        except ImportError as exc:  # pragma: no cover - the HTTP layer ships with the package
            self.http_note = f"HTTP checkout skipped: {exc}"
            return
        db = Database(self.url, min_size=1, max_size=2)
        db.open()
        with db.connection() as conn:
            errors = ErrorMap.load(conn)
        self.saga = CheckoutSaga(db, ResilientGateway(SimulatedGateway()), errors)
        self.order_type = Order
        self.http_note = "HTTP checkout saga: in process, simulated payment gateway"

    # ------------------------------------------------------------------ one day

    def run(self) -> None:
        spec = self.spec
        task = self.progress.add_task("pre-opening sales", total=spec.presale_days)
        day = spec.first_night - timedelta(days=spec.presale_days)
        while day < spec.first_night:
            for hotel in self.hotels:
                self.bookings(hotel, day)
                self.changes(hotel, day)
            day += timedelta(days=1)
            self.progress.advance(task)
        task = self.progress.add_task("the season, day by day", total=spec.days)
        while day < spec.end:
            for hotel in self.hotels:
                self.night(hotel, day)
                self.departures(hotel, day)
                self.housekeeping(hotel, day)
                self.bookings(hotel, day)
                self.changes(hotel, day)
                self.arrivals(hotel, day)
                self.guest_services(hotel, day)
                self.evening(hotel, day)
            day += timedelta(days=1)
            self.progress.advance(task)
        # the last night of the season is audited and its guests leave
        for hotel in self.hotels:
            self.night(hotel, day)
            self.departures(hotel, day)

    def night(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 2)
        audit = self.call(
            "run_night_audit",
            p_hotel_id=hotel.id,
            p_business_date=day - timedelta(days=1),
            p_app_user="night auditor",
        )
        if audit:
            self.counts["night audits"] += 1
            self.counts["no-shows"] += audit[0]["no_shows"]
        # no-show fees of guaranteed bookings are charged to the card on file
        for rid, balance in self.rows(
            """select r.id, b.balance from core.reservations r join api.folio_balances b on b.reservation_id = r.id
                   where r.hotel_id = %s and r.status = 'no_show' and lower(r.stay) >= %s and b.balance <> 0
                   order by r.id""",
            [hotel.id, day - timedelta(days=3)],
        ):
            self.settle(rid, balance, "no-show fees collected")
        self.counts["holds expired"] += self.value("expire_holds", p_hotel_id=hotel.id) or 0
        self.value("expire_waitlist", p_hotel_id=hotel.id)

    def departures(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 9)
        in_house = self.rows(
            """select r.id, upper(r.stay) from core.reservations r
               where r.hotel_id = %s and r.status = 'checked_in' and upper(r.stay) > %s order by r.id""",
            [hotel.id, day],
        )
        # a few guests leave early: check_out frees the nights they do not sleep
        early_ids = {
            rid
            for rid, departure in in_house
            if departure > day + timedelta(days=1) and self.rng.random() < 0.015
        }
        leaving = sorted(
            [rid for rid in early_ids]
            + [
                rid
                for (rid,) in self.rows(
                    """select r.id from core.reservations r where r.hotel_id = %s and r.status = 'checked_in'
               and upper(r.stay) <= %s order by r.id""",
                    [hotel.id, day],
                )
            ]
        )
        balances = dict(
            self.rows(
                "select reservation_id, balance from api.folio_balances where reservation_id = any(%s)",
                [leaving],
            )
        )
        for rid in leaving:
            early = rid in early_ids
            self.settle(rid, balances[rid], "check-out payments")
            if self.call("check_out", p_reservation_id=rid, p_app_user="front desk") is not None:
                self.counts["check-outs"] += 1
                self.counts["early departures"] += early
                if self.rng.random() < 0.35:
                    self.review(hotel, rid)
        self.counts["stays earning points"] += self.value("earn_due_stay_points", p_hotel_id=hotel.id) or 0

    def review(self, hotel: Hotel, rid: int) -> None:
        def rating(bias: float = 0.0) -> int:
            return self.rating(hotel, bias)

        overall = rating()
        titles = {5: "Wonderful stay", 4: "Very good", 3: "Fine", 2: "Disappointing", 1: "Never again"}
        if (
            self.call(
                "submit_review",
                p_reservation_id=rid,
                p_overall_rating=overall,
                p_cleanliness_rating=rating(0.1),
                p_service_rating=rating(),
                p_location_rating=rating(0.3),
                p_facilities_rating=rating(-0.2),
                p_value_rating=rating(-0.3),
                p_title=titles[overall],
            )
            is not None
        ):
            self.counts["reviews"] += 1

    def housekeeping(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 12)
        dirty = self.rows(
            "select id from core.rooms where hotel_id = %s and status = 'dirty' order by id", [hotel.id]
        )
        self.batch(
            "set_room_status",
            [
                {
                    "p_hotel_id": hotel.id,
                    "p_room_id": room_id,
                    "p_status": "inspected" if self.rng.random() < 0.2 else "clean",
                    "p_app_user": "housekeeping",
                }
                for (room_id,) in dirty
            ],
        )
        self.counts["rooms cleaned"] += len(dirty)
        # now and then a room goes out for repairs for a night or two
        if self.rng.random() < 0.08:
            free = self.rows(
                """select r.id from core.rooms r where r.hotel_id = %s and r.active and r.status in ('clean', 'inspected')
                     and not exists (select 1 from core.room_assignments a where a.room_id = r.id and a.active
                                     and upper(a.nights) > %s)
                   order by r.id""",
                [hotel.id, day],
            )
            if free:
                room_id = free[self.rng.randrange(len(free))][0]
                nights = self.rng.choice((1, 1, 2, 3))
                if (
                    self.call(
                        "block_room",
                        p_hotel_id=hotel.id,
                        p_room_id=room_id,
                        p_from=day,
                        p_until=day + timedelta(days=nights),
                        p_kind="out_of_order",
                        p_reason="air conditioning repair",
                        p_app_user="maintenance",
                    )
                    is not None
                ):
                    self.counts["rooms blocked for repairs"] += 1

    def demand_weight(self, hotel: Hotel, night: date) -> float:
        """How much a night is wanted: weekends and the summer peak more."""
        w = 1.0
        if night.isoweekday() in (5, 6):
            w *= 1.35
        peak0 = self.spec.first_night + timedelta(days=self.spec.days * 2 // 5)
        if peak0 <= night < peak0 + timedelta(days=max(1, self.spec.days // 6)):
            w *= 1.3
        if night.isoweekday() in (1, 2, 3):
            w *= 0.8
        return w / 1.8

    def poisson(self, lam: float) -> int:
        if lam > 30:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        k, p, limit = 0, 1.0, math.exp(-lam)
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def customer_for(self, hotel: Hotel, origin: str, index: int) -> int | None:
        if origin == "member":
            return self.members[self.rng.randrange(len(self.members))]
        locale = self.locales[index]
        given, family = self.rng.choice(self.guest_names[locale])
        n = self.rng.randrange(1500)  # some guests come back: the same e-mail finds the same profile
        email = f"guest{n:05d}.h{index}.{self.spec.seed}@example.net"
        if email in self.guests:
            self.counts["returning guests"] += 1
            return self.guests[email]
        found = self.call(
            "find_or_create_guest",
            p_given_name=given,
            p_family_name=family,
            p_email=email,
            p_hotel_id=hotel.id,
        )
        if found:
            self.guests[email] = next(iter(found[0].values()))
        return self.guests.get(email)

    def bookings(self, hotel: Hotel, day: date) -> None:
        spec = self.spec
        self.at(hotel, day, 13)
        index = self.hotels.index(hotel)
        requests = self.poisson(hotel.demand * 1.4)
        abandoned = 0
        for _ in range(requests):
            origin = self.rng.choices(ORIGINS, ORIGIN_WEIGHTS)[0]
            lead = min(spec.max_lead, int(self.rng.expovariate(1 / LEAD_MEAN[origin])))
            arrival = day + timedelta(days=lead)
            nights = self.rng.choice(datagen.STAY_LENGTHS)
            if arrival < spec.first_night or arrival >= spec.end:
                continue
            if self.rng.random() > self.demand_weight(hotel, arrival):
                continue
            self.counts["booking requests"] += 1
            types = hotel.room_types
            t = self.rng.choices(range(len(types)), [rt[3] for rt in types])[0]
            plan_no = self.rng.choices(range(3), RATE_PLAN_WEIGHTS)[0]
            customer = self.customer_for(hotel, origin, index)
            if customer is None:
                continue
            member = customer if origin == "member" else None
            departure = arrival + timedelta(days=nights)
            if origin == "direct" and self.saga is not None and self.rng.random() < spec.http_share:
                self.http_checkout(hotel, types[t], plan_no, arrival, departure)
                continue
            hold = None
            for choice in (t, (t + 1) % len(types)):  # sold out: the next room type, once
                rt_id, _code, occupancy, _rooms = types[choice]
                adults = self.rng.randint(1, min(2, occupancy))
                hold = self.call(
                    "create_hold",
                    p_hotel_id=hotel.id,
                    p_room_type_id=rt_id,
                    p_rate_plan_id=hotel.rate_plans[rt_id][plan_no],
                    p_check_in=arrival,
                    p_check_out=departure,
                    p_adults=adults,
                    p_customer_id=member,
                )
                if hold:
                    break
            if not hold:
                self.counts["requests turned away (sold out)"] += 1
                if member is not None and self.rng.random() < 0.5:
                    rt_id = types[t][0]
                    if (
                        self.call(
                            "join_waitlist",
                            p_hotel_id=hotel.id,
                            p_room_type_id=rt_id,
                            p_rate_plan_id=hotel.rate_plans[rt_id][plan_no],
                            p_customer_id=member,
                            p_check_in=arrival,
                            p_check_out=departure,
                            p_adults=1,
                        )
                        is not None
                    ):
                        self.counts["waitlist entries"] += 1
                continue
            hold_id = hold[0]["hold_id"]
            fate = self.rng.random()
            if fate < 0.04:
                self.call("release_hold", p_hold_id=hold_id)
                self.counts["holds released"] += 1
                continue
            if fate < 0.10:
                abandoned += 1  # the guest walks away; the hold runs out
                continue
            guaranteed = origin != "pms" or self.rng.random() < 0.5
            booked = self.call(
                "confirm_booking",
                p_hold_id=hold_id,
                p_customer_id=customer,
                p_payment_authorisation=self.reference("auth") if guaranteed else None,
                p_origin=origin,
            )
            if booked:
                self.counts["bookings"] += 1
                self.plan_future(booked[0]["reservation_id"], day, arrival, plan_no)
        if abandoned:
            self.counts["holds abandoned"] += abandoned
            self.at(hotel, day, 13, 10)  # past the 180 s hold TTL
            self.counts["holds expired"] += self.value("expire_holds", p_hotel_id=hotel.id) or 0

    def plan_future(self, rid: int, day: date, arrival: date, plan_no: int) -> None:
        """What this booking will do: be cancelled, be modified, not show up, or simply come."""
        lead = (arrival - day).days
        x = self.rng.random()
        cancel_p = 0.05 if plan_no == 1 else 0.16  # non-refundable bookings are rarely cancelled
        if x < cancel_p and lead >= 1:
            when = day + timedelta(days=self.rng.randint(1, lead))
            self.cancel_on.setdefault(when, []).append(rid)
        elif x < cancel_p + 0.06 and lead >= 2:
            when = day + timedelta(days=self.rng.randint(1, lead - 1))
            self.modify_on.setdefault(when, []).append(rid)
        elif x < cancel_p + 0.09:
            self.no_shows.add(rid)

    def http_checkout(
        self, hotel: Hotel, room_type: tuple, plan_no: int, arrival: date, departure: date
    ) -> None:
        rt_id = room_type[0]
        rp_id = hotel.rate_plans[rt_id][plan_no]
        quote = self.call(
            "quote",
            p_hotel_id=hotel.id,
            p_room_type_id=rt_id,
            p_rate_plan_id=rp_id,
            p_check_in=arrival,
            p_check_out=departure,
            p_adults=1,
        )
        if not quote:
            return
        q = next(iter(quote[0].values()))
        if isinstance(q, str):
            q = json.loads(q)
        if not q.get("bookable"):
            self.counts["requests turned away (sold out)"] += 1
            return
        given, family = self.rng.choice(self.guest_names[self.locales[self.hotels.index(hotel)]])
        n = self.rng.randrange(4000)
        token = "tok_decline" if self.rng.random() < 0.08 else "tok_demo"
        order = self.order_type(
            hotel_id=hotel.id,
            room_type_id=rt_id,
            check_in=arrival,
            check_out=departure,
            adults=1,
            children=0,
            rooms=1,
            rate_plan_id=rp_id,
            guest={
                "given_name": given,
                "family_name": family,
                "email": f"web{n:05d}.{self.spec.seed}@example.net",
                "phone": None,
            },
            card_token=token,
            amount=Decimal(str(q["total"])),
            currency=hotel.currency,
        )
        self.refs += 1
        outcome = self.saga.run(None, order, request_id=f"demo-{self.spec.seed}-{self.refs}")
        body = json.loads(outcome.body)
        if outcome.status == 201:
            self.counts["HTTP checkouts"] += 1
            self.counts["bookings"] += 1
            rid = self.rows(
                "select id from core.reservations where confirmation_code = %s",
                [body["data"].get("confirmationNumber")],
            )
            if rid:
                self.plan_future(rid[0][0], arrival - timedelta(days=1), arrival, plan_no)
        else:
            self.counts[f"HTTP checkouts refused ({body.get('error', {}).get('code', outcome.status)})"] += 1

    def changes(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 14)
        for rid in self.due(self.cancel_on, hotel, day):
            reason = self.rng.choice(("change of plans", "found a cheaper rate", "illness", "trip cancelled"))
            done = self.call("cancel_reservation", p_reservation_id=rid, p_reason=reason)
            if done:
                self.counts["cancellations"] += 1
                self.counts["waitlist offers"] += done[0]["waitlist_offers"]
                if done[0]["fee_amount"] > 0:
                    self.counts["cancellations with a fee"] += 1
                balance = self.rows(
                    "select balance from api.folio_balances where reservation_id = %s", [rid]
                )[0][0]
                self.settle(rid, balance, "cancellation fees collected")
        for rid in self.due(self.modify_on, hotel, day):
            row = self.rows(
                "select version, lower(stay), upper(stay) from core.reservations where id = %s", [rid]
            )[0]
            version, arrival, departure = row
            kind = self.rng.choice(("later", "longer", "shorter", "upgrade"))
            params: dict[str, Any] = {}
            if kind == "later":
                params = {
                    "p_check_in": arrival + timedelta(days=1),
                    "p_check_out": departure + timedelta(days=1),
                }
            elif kind == "longer":
                params = {"p_check_out": departure + timedelta(days=1)}
            elif kind == "shorter" and departure - arrival > timedelta(days=1):
                params = {"p_check_out": departure - timedelta(days=1)}
            else:
                current = self.rows(
                    "select room_type_id from core.reservation_rooms where reservation_id = %s"
                    " order by id limit 1",
                    [rid],
                )[0][0]
                ids = [t[0] for t in hotel.room_types]
                params = {"p_room_type_id": ids[(ids.index(current) + 1) % len(ids)]}
            if params.get("p_check_in", arrival) >= self.spec.end:
                continue
            if self.call("modify_reservation", p_reservation_id=rid, p_version=version, **params) is not None:
                self.counts["modifications"] += 1
        # offers the waitlist received (cancellations and modifications freed nights): most are taken
        for hold_id, customer in self.rows(
            """select w.offer_hold_id, w.customer_id from core.waitlist_entries w
                   join core.holds h on h.id = w.offer_hold_id
                   where w.hotel_id = %s and w.status = 'offered' and h.status = 'active' and h.expires_at > internal.now()
                   order by w.id""",
            [hotel.id],
        ):
            if self.rng.random() < 0.75:
                if (
                    self.call(
                        "confirm_booking",
                        p_hold_id=hold_id,
                        p_customer_id=customer,
                        p_origin="member",
                        p_payment_authorisation=self.reference("auth"),
                    )
                    is not None
                ):
                    self.counts["bookings"] += 1
                    self.counts["waitlist offers booked"] += 1

    def due(self, schedule: dict[date, list[int]], hotel: Hotel, day: date) -> list[int]:
        ids = schedule.get(day, [])
        if not ids:
            return []
        return [
            r
            for (r,) in self.rows(
                "select id from core.reservations where id = any(%s) and hotel_id = %s and status = 'confirmed' order by id",
                [ids, hotel.id],
            )
        ]

    def arrivals(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 16)
        for rid, customer in self.rows(
            """select id, customer_id from core.reservations
                   where hotel_id = %s and status = 'confirmed' and lower(stay) = %s order by id""",
            [hotel.id, day],
        ):
            if rid in self.no_shows:
                continue
            if self.call("check_in", p_reservation_id=rid, p_app_user="front desk") is None:
                continue
            self.counts["check-ins"] += 1
            # some members pay part of the stay with points
            if self.rng.random() < 0.08:
                balance = self.call("get_points_balance", p_customer_id=customer)
                points = (balance[0]["balance"] if balance else 0) or 0
                if points >= 200:
                    spend = min(points, self.rng.choice((200, 500, 1000)))
                    if (
                        self.call(
                            "redeem_points",
                            p_customer_id=customer,
                            p_points=spend,
                            p_reservation_id=rid,
                            p_reason="room upgrade",
                        )
                        is not None
                    ):
                        self.counts["points redemptions"] += 1

    @staticmethod
    def scale(hotel: Hotel) -> int:
        """A typical small charge in the hotel's currency."""
        return {"JPY": 1500, "KRW": 15000}.get(hotel.currency, 12)

    def guest_services(self, hotel: Hotel, day: date) -> None:
        """18:00: in-house guests order room service and spa treatments (hotel-saas orders)."""
        self.at(hotel, day, 18)
        in_house = self.rows(
            "select id from core.reservations where hotel_id = %s and status = 'checked_in' order by id",
            [hotel.id],
        )
        items = self.catalog[hotel.id]
        placed = []
        for (rid,) in in_house:
            lines = []
            if self.rng.random() < 0.22:
                dish = items[self.rng.choice(("club", "noodles"))]
                lines.append({"service_item_id": dish, "quantity": self.rng.choice((1, 1, 2, 3))})
            if self.rng.random() < 0.08:
                lines.append(
                    {"service_item_id": items[self.rng.choice(("massage", "facial"))], "quantity": 1}
                )
            if not lines:
                continue
            doc = self.value(
                "create_order",
                p_reservation_id=rid,
                p_client_key=f"demo-{day.isoformat()}-{rid}",
                p_items=Jsonb(lines),
                p_app_user="guest app",
            )
            if doc is not None:
                placed.append((rid, doc["id"]))
                self.counts["service orders"] += 1
        # the kitchen and the spa accept within minutes (a few orders are cancelled instead) and
        # deliver 15 to 60 minutes after the order; the clock only moves forward
        start = datetime.combine(day, time(18), ZoneInfo(hotel.time_zone))
        steps = []
        for n, (rid, order_id) in enumerate(placed):
            accept = start + timedelta(minutes=1 + min(n, 30))
            steps.append((accept, 0, rid, order_id))
            steps.append((accept + timedelta(minutes=self.rng.randint(15, 60)), 1, rid, order_id))
        cancelled: set[int] = set()
        for when, step, rid, order_id in sorted(steps):
            if order_id in cancelled:
                continue
            self.conn.execute("select internal.shift_clock(%s::timestamptz - now())", [when])
            if step == 0:
                if self.rng.random() < 0.04:
                    cancelled.add(order_id)
                    if self.call(
                        "set_order_status",
                        p_order_id=order_id,
                        p_status="cancelled",
                        p_reason="guest cancelled",
                    ):
                        self.counts["service orders cancelled"] += 1
                else:
                    self.call(
                        "set_order_status", p_order_id=order_id, p_status="accepted", p_app_user="kitchen"
                    )
                continue
            if not self.call(
                "set_order_status", p_order_id=order_id, p_status="delivered", p_app_user="kitchen"
            ):
                continue
            self.counts["service orders delivered"] += 1
            if self.rng.random() < 0.02:
                if self.call(
                    "set_order_status",
                    p_order_id=order_id,
                    p_status="cancelled",
                    p_reason="complaint",
                    p_app_user="duty manager",
                ):
                    self.counts["service orders reversed"] += 1
            elif self.rng.random() < 0.3:
                scores = {
                    "food": self.rating(hotel),
                    "timeliness": self.rating(hotel, -0.4),
                    "overall": self.rating(hotel),
                }
                if self.call(
                    "submit_feedback", p_reservation_id=rid, p_order_id=order_id, p_scores=Jsonb(scores)
                ):
                    self.counts["service feedback"] += 1

    def rating(self, hotel: Hotel, bias: float = 0.0) -> int:
        return max(1, min(5, round(self.rng.gauss(hotel.quality + bias, 0.8))))

    def evening(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 20)
        in_house = self.rows(
            "select id from core.reservations where hotel_id = %s and status = 'checked_in' order by id",
            [hotel.id],
        )
        unit = Decimal(10) ** -hotel.minor_units
        scale = self.scale(hotel)
        charges = [
            {
                "p_reservation_id": rid,
                "p_kind": "service",
                "p_amount": (Decimal(scale) * Decimal(self.rng.choice((1, 2, 2, 3, 4, 6)))).quantize(unit),
                "p_description": self.rng.choice(SERVICE_ITEMS),
                "p_app_user": "outlet",
            }
            for (rid,) in in_house
            if self.rng.random() < 0.18
        ]
        self.batch("post_charge", charges)
        self.counts["service charges"] += len(charges)


# ============================================================================ checks and reports


def check_invariants(conn: psycopg.Connection) -> dict[str, int]:
    """The promises of the ledger and the front desk, recounted from the rows (0 = kept).

    ``oversold_nights`` / ``drifted_nights`` / ``blocked_drifted`` come from the helpers'
    recount views (:func:`pyapi.datagen.check_invariants`); the others are recounted here.
    """
    inv = datagen.check_invariants(conn)
    out = {k: v for k, v in inv.items()}
    out["overlapping_stays"] = conn.execute(
        """select count(*) from core.room_assignments a join core.room_assignments b
             on a.room_id = b.room_id and a.id < b.id and a.nights && b.nights
           where a.active and b.active"""
    ).fetchone()[0]
    out["rooms_sold_over_capacity"] = conn.execute(
        """select count(*) from (
               select a.hotel_id, n.night, count(distinct a.room_id) as used
               from core.room_assignments a
               cross join generate_series(lower(a.nights), upper(a.nights) - 1, interval '1 day') n(night)
               where a.active group by 1, 2) u
           where u.used > (select count(*) from core.rooms r where r.hotel_id = u.hotel_id)"""
    ).fetchone()[0]
    out["unbalanced_closed_folios"] = conn.execute(
        """select count(*) from api.folio_balances b join core.reservations r on r.id = b.reservation_id
           where r.status in ('checked_out', 'cancelled', 'no_show') and b.balance <> 0"""
    ).fetchone()[0]
    out["folios_checked"] = conn.execute("select count(*) from core.folios").fetchone()[0]
    return out


def _has_relation(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", [name]).fetchone()[0]


def read_reports(conn: psycopg.Connection, spec: DemoSpec, ranks_before: dict[str, int]) -> dict[str, Any]:
    """The figures a manager looks at, for the nights of the season, as plain lists."""
    first, end = spec.first_night, spec.end
    rep: dict[str, Any] = {"first_night": first, "end": end, "ranks_before": ranks_before}
    rep["hotels"] = [
        dict(zip(("id", "code", "name", "city", "time_zone", "currency", "minor_units"), r, strict=True))
        for r in conn.execute(
            """select h.id, h.code, h.name, h.city, h.time_zone, h.currency, c.minor_units
               from core.hotels h join core.currencies c on c.code = h.currency order by h.id"""
        )
    ]
    # occupancy per hotel and night: rooms sold / rooms available (out-of-order rooms taken out)
    rep["daily"] = [
        dict(zip(("hotel_id", "night", "sold", "available"), r, strict=True))
        for r in conn.execute(
            """select hotel_id, night, sum(rooms_sold)::int, sum(rooms_available)::int from report.occupancy_daily
               where night >= %s and night < %s group by 1, 2 order by 1, 2""",
            [first, end],
        )
    ]
    # revenue per hotel and month of the season's nights (room, service, tax, fees), in its currency
    rep["revenue"] = [
        dict(zip(("hotel_id", "month", "room", "service", "tax", "fees", "total"), r, strict=True))
        for r in conn.execute(
            """select hotel_id, date_trunc('month', day)::date, sum(room_revenue), sum(service_revenue), sum(taxes),
                      sum(fee_revenue + adjustments), sum(total_revenue)
               from report.revenue_daily where day >= %s and day < %s group by 1, 2 order by 1, 2""",
            [first, end],
        )
    ]
    rep["kpi"] = [
        dict(
            zip(
                (
                    "hotel_id",
                    "sold",
                    "available",
                    "occupancy",
                    "adr",
                    "revpar",
                    "room_revenue",
                    "total_revenue",
                ),
                r,
                strict=True,
            )
        )
        for r in conn.execute(
            """select d.hotel_id, sum(d.rooms_sold)::int, sum(d.rooms_available)::int,
                      coalesce(sum(d.rooms_sold)::numeric / nullif(sum(d.rooms_available), 0), 0),
                      coalesce(round(sum(d.room_revenue) / nullif(sum(d.rooms_sold), 0), c.minor_units), 0),
                      coalesce(round(sum(d.room_revenue) / nullif(sum(d.rooms_available), 0), c.minor_units), 0),
                      sum(d.room_revenue), sum(d.total_revenue)
               from report.revenue_daily d join core.currencies c on c.code = d.currency
               where d.day >= %s and d.day < %s group by d.hotel_id, c.minor_units order by d.hotel_id""",
            [first, end],
        )
    ]
    rep["cancellations"] = [
        dict(zip(("hotel_id", "bookings", "cancelled", "no_shows", "fees"), r, strict=True))
        for r in conn.execute(
            """select hotel_id, sum(reservations)::int, sum(cancellations)::int, sum(no_shows)::int,
                      sum(cancellation_fees + no_show_fees)
               from report.cancellations_monthly group by hotel_id order by hotel_id"""
        )
    ]
    rep["ranks"] = [
        dict(zip(("rank", "level", "members"), r, strict=True))
        for r in conn.execute("select rank_code, level, members from report.members_per_rank order by level")
    ]
    rep["rank_changes"] = conn.execute(
        "select coalesce(sum(changes), 0)::int from report.rank_changes_monthly"
    ).fetchone()[0]
    rep["points"] = (
        conn.execute(
            "select coalesce(sum(points), 0)::int from core.points_ledger where points > 0"
        ).fetchone()[0],
        conn.execute("select coalesce(sum(points), 0)::bigint from report.points_outstanding").fetchone()[0],
    )
    # guest services (hotel-saas): revenue per hotel and category, lead times
    rep["service_revenue"] = [
        dict(zip(("hotel_id", "category", "orders", "net", "tax", "gross", "reversed"), r, strict=True))
        for r in conn.execute(
            """select hotel_id, category, sum(orders_delivered)::int, sum(net_revenue), sum(tax), sum(gross_revenue),
                      sum(reversed_amount)
               from report.service_revenue_daily where day >= %s and day < %s group by 1, 2 order by 1, 2""",
            [first, end],
        )
    ]
    rep["service_lead_times"] = {
        r[0]: (r[1], r[2], r[3])
        for r in conn.execute(
            """select hotel_id, sum(orders_delivered)::int, round(avg(p50_minutes), 1), round(max(p95_minutes), 1)
               from report.service_order_lead_times group by 1 order by 1"""
        )
    }
    rep["reviews"] = []
    if _has_relation(conn, "report.review_averages_by_hotel"):
        cols = [
            c.name for c in conn.execute("select * from report.review_averages_by_hotel limit 0").description
        ]
        rep["reviews"] = [
            dict(zip(cols, r, strict=True))
            for r in conn.execute("select * from report.review_averages_by_hotel order by 1")
        ]
    # the tape chart: the first hotel's rooms and who slept in them
    hid = rep["hotels"][0]["id"]
    rep["tape_rooms"] = [
        dict(zip(("room_id", "number", "room_type"), r, strict=True))
        for r in conn.execute(
            """select r.id, r.number, rt.code from core.rooms r join core.room_types rt on rt.id = r.room_type_id
               where r.hotel_id = %s order by rt.id, r.number""",
            [hid],
        )
    ]
    rep["tape_stays"] = [
        dict(zip(("room_id", "first", "end", "kind", "label"), r, strict=True))
        for r in conn.execute(
            """select a.room_id, lower(a.nights), upper(a.nights),
                      coalesce(res.origin::text, 'block'), coalesce(res.confirmation_code, b.kind::text)
               from core.room_assignments a
               left join core.reservation_rooms l on l.id = a.reservation_room_id
               left join core.reservations res on res.id = l.reservation_id
               left join core.room_blocks b on b.id = a.room_block_id
               where a.hotel_id = %s and a.active and a.nights && daterange(%s, %s)
               order by a.room_id, lower(a.nights)""",
            [hid, first, end],
        )
    ]
    rep["tape_blocks"] = [
        dict(zip(("room_id", "first", "end"), r, strict=True))
        for r in conn.execute(
            """select b.room_id, lower(b.nights), coalesce(b.released_from, upper(b.nights)) from core.room_blocks b
               where b.hotel_id = %s and b.nights && daterange(%s, %s) order by b.room_id, lower(b.nights)""",
            [hid, first, end],
        )
    ]
    return rep


# ============================================================================ running it


def run(url: str, spec: DemoSpec, progress: Any = None) -> DemoResult:
    """Build the chain in the migrated, empty database at ``url``, live the season, read the reports.

    ``progress`` is a rich ``Progress`` (None: no bars). The HTML report is not written here.
    """
    progress = progress or _Progress()
    timings: dict[str, float] = {}
    t0 = wallclock.perf_counter()
    season = Season(url, spec, progress)
    try:
        season.build()
        timings["chain"] = round(wallclock.perf_counter() - t0, 1)
        season.start_saga()
        t1 = wallclock.perf_counter()
        season.run()
        timings["season"] = round(wallclock.perf_counter() - t1, 1)
        external = None
        if spec.external_hotel:
            from .pms import demo as pms_demo

            t_ext = wallclock.perf_counter()
            external = pms_demo.run(url, spec.seed)
            season.counts.update(external.counts)
            season.http_note = "; ".join(x for x in (season.http_note, external.note) if x)
            timings["external hotel"] = round(wallclock.perf_counter() - t_ext, 1)
        t2 = wallclock.perf_counter()
        conn = season.conn
        conn.execute("select * from api.refresh_reports()")  # the materialized report views
        reports = read_reports(conn, spec, season.ranks_before)
        timings["reports"] = round(wallclock.perf_counter() - t2, 1)
        t3 = wallclock.perf_counter()
        invariants = check_invariants(conn)
        if external is not None:
            # the external hotel: its mirror agrees with the vendor, hotelcore's ledger holds nothing of it
            invariants["external_hotel_problems"] = len(external.problems)
        timings["invariants"] = round(wallclock.perf_counter() - t3, 1)
    finally:
        season.close()
    return DemoResult(
        spec=spec,
        seconds=round(wallclock.perf_counter() - t0, 1),
        timings=timings,
        counts=dict(sorted(season.counts.items())),
        refusals=dict(sorted(season.refusals.items())),
        invariants=invariants,
        reports=reports,
        html_path=None,
        http_note=season.http_note,
    )


# ============================================================================ what the manager reads


def money(value: Any, minor_units: int) -> str:
    q = Decimal(value).quantize(Decimal(10) ** -minor_units)
    return f"{q:,}"


def percent(value: float) -> str:
    return f"{100 * float(value):.1f} %"


def _fx_usd(amount: Decimal, currency: str) -> float:
    """Presentation only: a chain total in USD at datagen's fixed demo rates."""
    rate = datagen.FX.get(currency, (Decimal(1), Decimal(1)))[0]
    return float(Decimal(amount) / rate)


def tables(result: DemoResult) -> list[Any]:
    """The reports as rich tables."""
    from rich.table import Table

    rep = result.reports
    hotels = {h["id"]: h for h in rep["hotels"]}
    out = []
    t = Table(
        title=f"Occupancy, ADR and RevPAR, nights {rep['first_night']} to {rep['end'] - timedelta(days=1)}"
    )
    for col in (
        "hotel",
        "city",
        "cur",
        "rooms sold",
        "available",
        "occupancy",
        "ADR",
        "RevPAR",
        "room revenue",
        "total revenue",
    ):
        t.add_column(col, justify="left" if col in ("hotel", "city", "cur") else "right")
    for k in rep["kpi"]:
        h = hotels[k["hotel_id"]]
        mu = h["minor_units"]
        t.add_row(
            h["code"],
            h["city"],
            h["currency"],
            f"{k['sold']:,}",
            f"{k['available']:,}",
            percent(k["occupancy"]),
            money(k["adr"], mu),
            money(k["revpar"], mu),
            money(k["room_revenue"], mu),
            money(k["total_revenue"], mu),
        )
    out.append(t)

    t = Table(title="Revenue by month (room + service + tax + fees, each hotel in its currency)")
    t.add_column("month")
    for h in rep["hotels"]:
        t.add_column(f"{h['code']} ({h['currency']})", justify="right")
    months = sorted({r["month"] for r in rep["revenue"]})
    for m in months:
        row = [m.strftime("%Y-%m")]
        for h in rep["hotels"]:
            v = next((r["total"] for r in rep["revenue"] if r["hotel_id"] == h["id"] and r["month"] == m), 0)
            row.append(money(v, h["minor_units"]))
        t.add_row(*row)
    out.append(t)

    t = Table(title="Cancellations and no-shows (every booking made)")
    for col in ("hotel", "bookings", "cancelled", "cancellation rate", "no-shows", "no-show rate", "fees"):
        t.add_column(col, justify="left" if col == "hotel" else "right")
    for c in rep["cancellations"]:
        h = hotels[c["hotel_id"]]
        n = c["bookings"] or 1
        t.add_row(
            h["code"],
            f"{c['bookings']:,}",
            f"{c['cancelled']:,}",
            percent(c["cancelled"] / n),
            f"{c['no_shows']:,}",
            percent(c["no_shows"] / n),
            f"{money(c['fees'], h['minor_units'])} {h['currency']}",
        )
    out.append(t)

    t = Table(
        title=f"Membership ranks ({rep['rank_changes']} rank changes; points earned {rep['points'][0]:,}, "
        f"outstanding {rep['points'][1]:,})"
    )
    for col in ("rank", "members before", "members after"):
        t.add_column(col, justify="left" if col == "rank" else "right")
    for r in rep["ranks"]:
        t.add_row(r["rank"], f"{rep['ranks_before'].get(r['rank'], 0):,}", f"{r['members']:,}")
    out.append(t)

    t = Table(title="Guest services (report.service_revenue_daily, report.service_order_lead_times)")
    for col in ("hotel", "category", "orders", "net", "tax", "gross", "reversed", "p50 min", "p95 min"):
        t.add_column(col, justify="left" if col in ("hotel", "category") else "right")
    for r in rep["service_revenue"]:
        h = hotels[r["hotel_id"]]
        lead = rep["service_lead_times"].get(r["hotel_id"], (0, None, None))
        t.add_row(
            h["code"],
            r["category"],
            f"{r['orders']:,}",
            money(r["net"], h["minor_units"]),
            money(r["tax"], h["minor_units"]),
            f"{money(r['gross'], h['minor_units'])} {h['currency']}",
            money(r["reversed"], h["minor_units"]),
            str(lead[1]),
            str(lead[2]),
        )
    out.append(t)

    if rep["reviews"]:
        t = Table(title="Reviews (report.review_averages_by_hotel)")
        cols = [c for c in rep["reviews"][0] if c not in ("hotel_id", "hotel_name")][:8]
        for col in cols:
            t.add_column(col.removeprefix("avg_"), justify="left" if col == "hotel_code" else "right")
        for r in rep["reviews"]:
            t.add_row(*[f"{r[c]:.2f}" if isinstance(r[c], Decimal | float) else str(r[c]) for c in cols])
        out.append(t)

    t = Table(title=f"The season in numbers ({result.seconds} s)")
    t.add_column("what")
    t.add_column("how many", justify="right")
    for k, v in result.counts.items():
        t.add_row(k, f"{v:,}")
    for k, v in result.refusals.items():
        t.add_row(f"[dim]refused: {k}[/dim]", f"{v:,}")
    out.append(t)
    out.append(invariants_table(result.invariants))
    return out


def invariants_table(inv: dict[str, int]) -> Any:
    from rich.table import Table

    t = Table(title="Invariants (recounted from the rows)")
    t.add_column("invariant")
    t.add_column("breaches", justify="right")
    t.add_column("")
    for k, v in inv.items():
        if k.endswith("_checked"):
            t.add_row(f"[dim]{k.replace('_', ' ')}[/dim]", f"{v:,}", "")
        else:
            t.add_row(
                k.replace("_", " "), str(v), "[green]ok[/green]" if v == 0 else "[bold red]BROKEN[/bold red]"
            )
    return t


# ---------------------------------------------------------------------------- charts (inline SVG)


def _esc(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _blend(a: str, b: str, t: float) -> str:
    t = max(0.0, min(1.0, t))
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def _heat(t: float) -> str:
    """Pale yellow (empty) to deep blue (full)."""
    if t < 0.5:
        return _blend("#fff7bc", "#41b6c4", t * 2)
    return _blend("#41b6c4", "#253494", (t - 0.5) * 2)


def heatmap_svg(rep: dict[str, Any]) -> str:
    nights = [rep["first_night"] + timedelta(days=i) for i in range((rep["end"] - rep["first_night"]).days)]
    cw, ch, left, top = max(6, min(14, 900 // max(1, len(nights)))), 26, 150, 28
    width, height = max(left + cw * len(nights) + 20, left + 460), top + ch * len(rep["hotels"]) + 50
    occ = {
        (d["hotel_id"], d["night"]): (d["sold"] / d["available"] if d["available"] else 0)
        for d in rep["daily"]
    }
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" class="chart" id="heatmap">'
    ]
    for i, n in enumerate(nights):
        if n.day == 1 or i == 0:
            parts.append(
                f'<text x="{left + i * cw}" y="{top - 10}" class="tick">{n.strftime("%b %d")}</text>'
            )
    for r, h in enumerate(rep["hotels"]):
        y = top + r * ch
        parts.append(
            f'<text x="{left - 8}" y="{y + ch * 0.65}" text-anchor="end" class="label">'
            f"{_esc(h['city'])} ({h['currency']})</text>"
        )
        for i, n in enumerate(nights):
            v = occ.get((h["id"], n), 0.0)
            parts.append(
                f'<rect x="{left + i * cw}" y="{y}" width="{cw - 1}" height="{ch - 2}" fill="{_heat(v)}">'
                f"<title>{_esc(h['code'])} {n}: {100 * v:.0f} %</title></rect>"
            )
    ly = top + ch * len(rep["hotels"]) + 14
    for i in range(11):
        parts.append(f'<rect x="{left + i * 24}" y="{ly}" width="24" height="12" fill="{_heat(i / 10)}"/>')
    parts.append(f'<text x="{left - 8}" y="{ly + 10}" text-anchor="end" class="tick">0 %</text>')
    parts.append(f'<text x="{left + 11 * 24 + 6}" y="{ly + 10}" class="tick">100 % of the rooms sold</text>')
    parts.append("</svg>")
    return "".join(parts)


ORIGIN_COLOURS = {
    "member": "#2563eb",
    "ota": "#f59e0b",
    "direct": "#10b981",
    "pms": "#8b5cf6",
    "block": "#dc2626",
}


def tape_svg(rep: dict[str, Any]) -> str:
    first, end = rep["first_night"], rep["end"]
    days = (end - first).days
    rooms = rep["tape_rooms"]
    cw, rh, left, top = max(6, min(14, 900 // max(1, days))), 12, 90, 30
    width, height = max(left + cw * days + 20, left + 580), top + rh * len(rooms) + 40
    row = {r["room_id"]: i for i, r in enumerate(rooms)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" class="chart" id="tape">'
    ]
    for i in range(days):
        n = first + timedelta(days=i)
        if n.isoweekday() in (6, 7):
            parts.append(
                f'<rect x="{left + i * cw}" y="{top}" width="{cw}" height="{rh * len(rooms)}" fill="#f3f4f6"/>'
            )
        if i == 0 or n.isoweekday() == 1:
            parts.append(f'<text x="{left + i * cw}" y="{top - 8}" class="tick">{n.strftime("%d/%m")}</text>')
    for r in rooms:
        y = top + row[r["room_id"]] * rh
        parts.append(
            f'<text x="{left - 6}" y="{y + rh - 3}" text-anchor="end" class="small">'
            f"{_esc(r['number'])} {_esc(r['room_type'])}</text>"
        )
    for s in rep["tape_stays"]:
        a = max((s["first"] - first).days, 0)
        b = min((s["end"] - first).days, days)
        if b <= a or s["room_id"] not in row:
            continue
        y = top + row[s["room_id"]] * rh
        parts.append(
            f'<rect x="{left + a * cw + 1}" y="{y + 1}" width="{(b - a) * cw - 2}" height="{rh - 2}" rx="2" '
            f'fill="{ORIGIN_COLOURS.get(s["kind"], "#6b7280")}"><title>{_esc(s["label"])} '
            f"{s['first']} → {s['end']} ({_esc(s['kind'])})</title></rect>"
        )
    ly = top + rh * len(rooms) + 16
    for i, (k, c) in enumerate(ORIGIN_COLOURS.items()):
        parts.append(
            f'<rect x="{left + i * 110}" y="{ly}" width="14" height="10" fill="{c}"/>'
            f'<text x="{left + i * 110 + 18}" y="{ly + 9}" class="tick">'
            f"{'room block' if k == 'block' else k}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


HOTEL_COLOURS = ("#1d4ed8", "#0891b2", "#ea580c", "#7c3aed", "#16a34a", "#db2777", "#ca8a04", "#475569")


def revenue_svg(rep: dict[str, Any]) -> str:
    months = sorted({r["month"] for r in rep["revenue"]})
    hotels = rep["hotels"]
    totals = {
        (r["hotel_id"], r["month"]): _fx_usd(
            r["total"], next(h["currency"] for h in hotels if h["id"] == r["hotel_id"])
        )
        for r in rep["revenue"]
    }
    peak = max([sum(totals.get((h["id"], m), 0) for h in hotels) for m in months] + [1])
    bw, gap, left, top, ph = 90, 50, 80, 20, 260
    width = left + len(months) * (bw + gap) + 220
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + ph + 50}" class="chart" '
        f'id="revenue">'
    ]
    for i in range(5):
        v = peak * i / 4
        y = top + ph - ph * i / 4
        parts.append(
            f'<line x1="{left}" x2="{left + len(months) * (bw + gap)}" y1="{y}" y2="{y}" stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" class="tick">{v / 1000:,.0f}k</text>'
        )
    for j, m in enumerate(months):
        x = left + gap / 2 + j * (bw + gap)
        y = top + ph
        for i, h in enumerate(hotels):
            v = totals.get((h["id"], m), 0)
            hgt = ph * v / peak
            y -= hgt
            parts.append(
                f'<rect x="{x}" y="{y}" width="{bw}" height="{hgt}" fill="{HOTEL_COLOURS[i % 8]}">'
                f"<title>{_esc(h['code'])} {m:%Y-%m}: ≈ {v:,.0f} USD</title></rect>"
            )
        parts.append(
            f'<text x="{x + bw / 2}" y="{top + ph + 18}" text-anchor="middle" class="label">{m:%b %Y}</text>'
        )
    lx = left + len(months) * (bw + gap) + 20
    for i, h in enumerate(hotels):
        parts.append(
            f'<rect x="{lx}" y="{top + i * 20}" width="14" height="12" fill="{HOTEL_COLOURS[i % 8]}"/>'
            f'<text x="{lx + 20}" y="{top + i * 20 + 11}" class="tick">{_esc(h["city"])} '
            f"({h['currency']})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


RANK_COLOURS = {"bronze": "#b45309", "silver": "#94a3b8", "gold": "#eab308", "platinum": "#0f766e"}


def ranks_svg(rep: dict[str, Any]) -> str:
    ranks = rep["ranks"]
    before = rep["ranks_before"]
    peak = max([r["members"] for r in ranks] + list(before.values()) + [1])
    bw, left, top, ph = 44, 60, 20, 220
    width = left + len(ranks) * (2 * bw + 50) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + ph + 50}" class="chart" '
        f'id="ranks">'
    ]
    for j, r in enumerate(ranks):
        x = left + j * (2 * bw + 50)
        colour = RANK_COLOURS.get(r["rank"], "#6b7280")
        for k, (v, opacity, label) in enumerate(
            ((before.get(r["rank"], 0), 0.45, "before"), (r["members"], 1.0, "after"))
        ):
            hgt = ph * v / peak
            parts.append(
                f'<rect x="{x + k * bw}" y="{top + ph - hgt}" width="{bw - 4}" height="{hgt}" fill="{colour}" '
                f'fill-opacity="{opacity}"><title>{r["rank"]} {label}: {v}</title></rect>'
                f'<text x="{x + k * bw + (bw - 4) / 2}" y="{top + ph - hgt - 4}" text-anchor="middle" '
                f'class="tick">{v:,}</text>'
            )
        parts.append(
            f'<text x="{x + bw}" y="{top + ph + 18}" text-anchor="middle" class="label">{r["rank"]}</text>'
        )
    parts.append(
        f'<text x="{left}" y="{top + ph + 40}" class="tick">pale: at the start of the season; '
        f"solid: at its end</text></svg>"
    )
    return "".join(parts)


def write_html(result: DemoResult, path: Path) -> Path:
    """The report as one self-contained HTML file (inline CSS and SVG, no script, no network)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pyapi", "templates"), autoescape=jinja2.select_autoescape(["html", "j2"])
    )
    rep = result.reports
    hotels = {h["id"]: h for h in rep["hotels"]}
    kpi = [
        {
            **k,
            "hotel": hotels[k["hotel_id"]],
            "occupancy_pct": percent(k["occupancy"]),
            "adr_fmt": money(k["adr"], hotels[k["hotel_id"]]["minor_units"]),
            "revpar_fmt": money(k["revpar"], hotels[k["hotel_id"]]["minor_units"]),
            "revenue_fmt": money(k["total_revenue"], hotels[k["hotel_id"]]["minor_units"]),
        }
        for k in rep["kpi"]
    ]
    cancellations = [
        {
            **c,
            "hotel": hotels[c["hotel_id"]],
            "rate": percent(c["cancelled"] / (c["bookings"] or 1)),
            "no_show_rate": percent(c["no_shows"] / (c["bookings"] or 1)),
            "fees_fmt": money(c["fees"], hotels[c["hotel_id"]]["minor_units"]),
        }
        for c in rep["cancellations"]
    ]
    services = [
        {
            **r,
            "hotel": hotels[r["hotel_id"]],
            "net_fmt": money(r["net"], hotels[r["hotel_id"]]["minor_units"]),
            "tax_fmt": money(r["tax"], hotels[r["hotel_id"]]["minor_units"]),
            "gross_fmt": money(r["gross"], hotels[r["hotel_id"]]["minor_units"]),
            "reversed_fmt": money(r["reversed"], hotels[r["hotel_id"]]["minor_units"]),
            "lead": rep["service_lead_times"].get(r["hotel_id"], (0, None, None)),
        }
        for r in rep["service_revenue"]
    ]
    html = env.get_template("demo_report.html.j2").render(
        services=services,
        spec=result.spec,
        result=result,
        rep=rep,
        kpi=kpi,
        cancellations=cancellations,
        tape_hotel=rep["hotels"][0],
        heatmap=jinja2.utils.markupsafe.Markup(heatmap_svg(rep)),
        tape=jinja2.utils.markupsafe.Markup(tape_svg(rep)),
        revenue=jinja2.utils.markupsafe.Markup(revenue_svg(rep)),
        ranks=jinja2.utils.markupsafe.Markup(ranks_svg(rep)),
        ok=result.ok,
    )
    path = Path(path)
    path.write_text(html, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- the command


def main(server_url: str, spec: DemoSpec, output: Path, console: Any) -> DemoResult:
    """``hotelcore demo``: recreate and migrate the demo database, run the season, print, write, check."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from . import migrate as mig
    from . import server as srv

    t0 = wallclock.perf_counter()
    console.print(
        f"[bold]hotelcore demo[/bold]: {spec.hotels} hotel(s), {spec.days} nights from {spec.first_night}, "
        f"seed {spec.seed}, database {DEMO_DATABASE}",
        highlight=False,
    )
    url = srv.recreate_database(server_url, DEMO_DATABASE)
    with console.status("migrating the demo database"):
        mig.upgrade(url)
    migrate_seconds = round(wallclock.perf_counter() - t0, 1)
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    from .demo_events import EventFlow

    with EventFlow(url) as events, Progress(*columns, console=console) as progress:
        result = run(url, spec, progress)
        with console.status("delivering the last events"):
            events.finish()
    result.invariants |= events.invariants
    result.timings = {"migrate": migrate_seconds, **result.timings}
    if result.http_note:
        console.print(result.http_note, style="dim", highlight=False)
    for table in tables(result) + events.tables():
        console.print(table)
    result.html_path = write_html(result, output)
    result.seconds = round(wallclock.perf_counter() - t0, 1)
    console.print(
        f"report written to [bold]{result.html_path}[/bold] (opens offline); "
        f"took {result.seconds} s ({', '.join(f'{k} {v} s' for k, v in result.timings.items())})",
        highlight=False,
    )
    if result.ok:
        console.print("[bold green]every invariant holds[/bold green]")
    else:
        broken = ", ".join(
            f"{k} = {v}" for k, v in result.invariants.items() if v and not k.endswith("_checked")
        )
        console.print(f"[bold white on red] INVARIANT BROKEN [/bold white on red] {broken}", highlight=False)
    return result
