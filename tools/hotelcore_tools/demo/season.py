"""The season: builds the chain, then plays the guests and the staff day by day through the api."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from pyapi.client import Client, HotelcoreError

from .. import datagen
from .days import SeasonDays
from .spec import CATALOG, DemoSpec, Hotel


class Season(SeasonDays):
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
                   join core.rooms r on r.room_type_id = rt.id where rt.hotel_id = %s group by rt.id, rt.hotel_id order by rt.id""",
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
            from pyapi.checkout.gateway import ResilientGateway, SimulatedGateway
            from pyapi.checkout.saga import CheckoutSaga, Order
            from pyapi.errors import ErrorMap
            from pyapi.pool import Database
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
