"""A realistic, deterministic dataset for the benchmarks and the demo.

A chain of N hotels (default 100) in several countries, time zones and currencies, each with
about 20 room types and 200 rooms, three rate plans per room type, weekday / weekend / season /
holiday pricing (holidays from the ``holidays`` library for the hotel's country), a one-year
calendar, members across the ranks (names from Faker in the locale of their home hotel), and a
configurable share of the nights already booked.

Two steps, so that the plan is testable without a database:

* :func:`make_plan` turns a :class:`DatasetSpec` into plain Python data. Same spec and seed,
  same plan: every random choice comes from one ``random.Random(seed)`` stream per part.
* :func:`load` writes the plan. Where a rule matters (hotels, room types, rooms, rate plans,
  pricing, holidays, the calendar) it calls the ledger's ``api`` functions; where only volume
  matters (members, the bookings already on the books) it writes set-based SQL and sets the
  inventory counters from the very rows it inserted, so "counters = recount" holds.

Dates in the plan are offsets from each hotel's local "today" (``internal.now()`` in the
hotel's time zone), read at load time, so a booking on night 0 is tonight wherever the hotel is.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from psycopg import sql

# ============================================================================ the world

# (city, country, time zone, currency, Faker locale, E.164 prefix, price level in USD, hemisphere)
CITIES: list[tuple[str, str, str, str, str, str, int, str]] = [
    ("Tokyo", "JP", "Asia/Tokyo", "JPY", "ja_JP", "+81", 150, "N"),
    ("Osaka", "JP", "Asia/Tokyo", "JPY", "ja_JP", "+81", 120, "N"),
    ("Kyoto", "JP", "Asia/Tokyo", "JPY", "ja_JP", "+81", 140, "N"),
    ("Sapporo", "JP", "Asia/Tokyo", "JPY", "ja_JP", "+81", 100, "N"),
    ("Seoul", "KR", "Asia/Seoul", "KRW", "ko_KR", "+82", 130, "N"),
    ("Busan", "KR", "Asia/Seoul", "KRW", "ko_KR", "+82", 100, "N"),
    ("New York", "US", "America/New_York", "USD", "en_US", "+1", 250, "N"),
    ("San Francisco", "US", "America/Los_Angeles", "USD", "en_US", "+1", 220, "N"),
    ("Honolulu", "US", "Pacific/Honolulu", "USD", "en_US", "+1", 260, "N"),
    ("Paris", "FR", "Europe/Paris", "EUR", "fr_FR", "+33", 210, "N"),
    ("Berlin", "DE", "Europe/Berlin", "EUR", "de_DE", "+49", 150, "N"),
    ("Madrid", "ES", "Europe/Madrid", "EUR", "es_ES", "+34", 140, "N"),
    ("Rome", "IT", "Europe/Rome", "EUR", "it_IT", "+39", 170, "N"),
    ("London", "GB", "Europe/London", "GBP", "en_GB", "+44", 230, "N"),
    ("Sydney", "AU", "Australia/Sydney", "AUD", "en_AU", "+61", 190, "S"),
    ("Bangkok", "TH", "Asia/Bangkok", "THB", "th_TH", "+66", 90, "N"),
    ("Taipei", "TW", "Asia/Taipei", "TWD", "zh_TW", "+886", 110, "N"),
]

# USD → local currency, and the rounding step a hotel of that currency uses for its prices.
FX: dict[str, tuple[Decimal, Decimal]] = {
    "USD": (Decimal("1"), Decimal("1")),
    "EUR": (Decimal("0.92"), Decimal("1")),
    "GBP": (Decimal("0.79"), Decimal("1")),
    "AUD": (Decimal("1.52"), Decimal("1")),
    "JPY": (Decimal("150"), Decimal("100")),
    "KRW": (Decimal("1350"), Decimal("1000")),
    "THB": (Decimal("36"), Decimal("10")),
    "TWD": (Decimal("32"), Decimal("10")),
}

# (code, name, max occupancy, size m², price factor, share of the rooms)
ROOM_TYPES: list[tuple[str, str, int, int, float, float]] = [
    ("STD-SGL", "Standard Single", 1, 15, 0.80, 14),
    ("STD-DBL", "Standard Double", 2, 18, 1.00, 16),
    ("STD-TWN", "Standard Twin", 2, 20, 1.05, 14),
    ("SUP-SGL", "Superior Single", 1, 18, 0.95, 6),
    ("SUP-DBL", "Superior Double", 2, 22, 1.25, 9),
    ("SUP-TWN", "Superior Twin", 2, 24, 1.30, 8),
    ("DLX-DBL", "Deluxe Double", 2, 28, 1.60, 6),
    ("DLX-TWN", "Deluxe Twin", 2, 30, 1.65, 5),
    ("DLX-TRP", "Deluxe Triple", 3, 34, 1.90, 3),
    ("FAM-QUA", "Family Room", 4, 40, 2.20, 3),
    ("JPN-WAS", "Japanese-style Room", 4, 36, 2.10, 2),
    ("EXE-DBL", "Executive Double", 2, 32, 2.00, 3),
    ("EXE-TWN", "Executive Twin", 2, 34, 2.05, 3),
    ("ACC-DBL", "Accessible Double", 2, 30, 1.10, 2),
    ("CNR-DBL", "Corner Double", 2, 30, 1.75, 2),
    ("VIW-DBL", "View Double", 2, 28, 1.85, 2),
    ("JRS", "Junior Suite", 3, 45, 2.80, 1),
    ("STE", "Suite", 4, 60, 3.80, 1),
    ("EXS", "Executive Suite", 4, 75, 5.00, 0.5),
    ("PRS", "Presidential Suite", 6, 120, 9.00, 0.5),
]

AMENITIES = ["wifi", "tv", "minibar", "bathtub", "balcony", "view", "kettle", "safe", "desk", "lounge_access"]

# (code, name, price adjustment, free cancellation days before arrival or None if non-refundable)
RATE_PLANS: list[tuple[str, str, Decimal, int | None]] = [
    ("FLEX", "Flexible", Decimal("1.00"), 1),
    ("NRF", "Non-refundable", Decimal("0.90"), None),
    ("BB", "Flexible with breakfast", Decimal("1.15"), 2),
]

# Ranks of the seed: (code, share of the members, qualifying stays range)
RANK_MIX: list[tuple[str, float, tuple[int, int]]] = [
    ("bronze", 0.60, (0, 4)),
    ("silver", 0.25, (5, 14)),
    ("gold", 0.10, (15, 29)),
    ("platinum", 0.05, (30, 80)),
]

STAY_LENGTHS = [1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 7]  # nights, drawn uniformly: mostly short stays


# ============================================================================ the spec and the plan


@dataclass(frozen=True)
class DatasetSpec:
    hotels: int = 100
    room_types: int = 20  # per hotel, at most len(ROOM_TYPES)
    rooms: int = 200  # per hotel
    days: int = 365  # calendar length from each hotel's today
    members: int | None = None  # default: 50 per hotel
    booked_share: float = 0.35  # share of room-nights already booked
    audit_rooms: int = 300  # the extra front-desk hotel (check-in, night audit); 0 for none
    arrivals_share: float = 0.8  # share of the audit hotel's rooms arriving tonight
    seed: int = 42
    # cities of the hotels, by name, in order (cycled); empty: CITIES in order. Left out of repr,
    # so the digest of a spec without it is unchanged.
    cities: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.hotels < 1 or self.rooms < 1 or self.days < 2:
            raise ValueError("hotels, rooms and days must be positive (days at least 2)")
        if not 1 <= self.room_types <= len(ROOM_TYPES):
            raise ValueError(f"room_types must be within 1..{len(ROOM_TYPES)}")
        if self.rooms < self.room_types:
            raise ValueError("rooms must be at least room_types (one room per type)")
        if not 0 <= self.booked_share < 1:
            raise ValueError("booked_share must be within [0, 1)")
        unknown = sorted(set(self.cities) - {c[0] for c in CITIES})
        if unknown:
            raise ValueError(f"unknown cities {unknown}; known: {[c[0] for c in CITIES]}")

    @property
    def member_count(self) -> int:
        return self.members if self.members is not None else 50 * self.hotels

    def digest(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()[:12]


@dataclass
class RoomTypePlan:
    code: str
    name: str
    max_occupancy: int
    size_sqm: int
    base_price: Decimal
    amenities: dict[str, bool]
    rooms: list[tuple[str, int]]  # (number, floor)


@dataclass
class HotelPlan:
    code: str
    name: str
    city: str
    country: str
    time_zone: str
    currency: str
    locale: str
    tax_rate: Decimal
    prices_include_tax: bool
    room_types: list[RoomTypePlan]
    weekend_multiplier: Decimal
    holiday_multiplier: Decimal
    seasons: list[
        tuple[str, int, int, Decimal]
    ]  # (name, first day offset, last day offset excl., multiplier)
    los_discounts: list[tuple[int, Decimal]]  # (min nights, discount fraction)
    holiday_years: list[int] = field(default_factory=list)
    front_desk: bool = False  # the audit hotel


@dataclass
class MemberPlan:
    given_name: str
    family_name: str
    given_name_reading: str | None
    family_name_reading: str | None
    email: str
    phone_e164: str
    country_code: str
    language: str
    rank_code: str
    qualifying_stays: int


@dataclass
class StayPlan:
    """One booked room line: hotel and room type by index, nights as offsets from local today."""

    hotel: int
    room_type: int
    rate_plan: int
    member: int
    first_night: int
    nights: int
    adults: int


@dataclass
class Plan:
    spec: DatasetSpec
    hotels: list[HotelPlan]
    members: list[MemberPlan]
    stays: list[StayPlan]

    def figures(self) -> dict[str, Any]:
        return {
            "hotels": len(self.hotels),
            "room_types": sum(len(h.room_types) for h in self.hotels),
            "rooms": sum(len(rt.rooms) for h in self.hotels for rt in h.room_types),
            "members": len(self.members),
            "stays": len(self.stays),
            "room_nights_booked": sum(s.nights for s in self.stays),
        }


def _round_price(usd: float, currency: str) -> Decimal:
    rate, step = FX[currency]
    value = Decimal(str(usd)) * rate
    return (value / step).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * step


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights``, each at least 1 (largest remainder)."""
    n = len(weights)
    rest = total - n
    scale = sum(weights)
    raw = [rest * w / scale for w in weights]
    out = [1 + math.floor(x) for x in raw]
    order = sorted(range(n), key=lambda i: (-(raw[i] - math.floor(raw[i])), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _hotel(spec: DatasetSpec, index: int, rng: random.Random, rooms: int, front_desk: bool) -> HotelPlan:
    if spec.cities:
        by_name = {c[0]: c for c in CITIES}
        city, country, tz, currency, locale, _prefix, level, hemisphere = by_name[
            spec.cities[index % len(spec.cities)]
        ]
        nth = index // len(spec.cities) + 1
    else:
        city, country, tz, currency, locale, _prefix, level, hemisphere = CITIES[index % len(CITIES)]
        nth = index // len(CITIES) + 1
    types = ROOM_TYPES[: spec.room_types] if not front_desk else ROOM_TYPES[: min(15, spec.room_types)]
    counts = _allocate(rooms, [t[5] for t in types])
    room_types = []
    number = 0
    for (code, name, occ, size, factor, _share), count in zip(types, counts, strict=True):
        price = _round_price(level * factor * rng.uniform(0.9, 1.1), currency)
        amenities = {a: rng.random() < 0.6 for a in AMENITIES}
        amenities["wifi"] = True
        numbers = []
        for _ in range(count):
            floor = 2 + number // 20
            numbers.append((f"{floor}{number % 20 + 1:02d}", floor))
            number += 1
        room_types.append(RoomTypePlan(code, name, occ, size, price, amenities, numbers))
    # seasons as offsets from today, so they always fall inside the calendar
    peak = 180 if hemisphere == "N" else 0
    seasons = [
        (
            "high season",
            (peak + 150) % spec.days,
            (peak + 150) % spec.days + min(45, spec.days // 8 + 1),
            Decimal("1.30"),
        ),
        (
            "low season",
            (peak + 20) % spec.days,
            (peak + 20) % spec.days + min(40, spec.days // 9 + 1),
            Decimal("0.85"),
        ),
    ]
    (_, a0, a1, _), (_, b0, b1, _) = seasons
    if a0 < b1 and b0 < a1:  # short calendars: keep one season rather than two that overlap
        seasons = seasons[:1]
    label = "Front Desk" if front_desk else f"{city} {nth}"
    return HotelPlan(
        code=f"HC-{country}-{index + 1:03d}" if not front_desk else "HC-FD-300",
        name=f"Hotelcore {label}",
        city=city,
        country=country,
        time_zone=tz,
        currency=currency,
        locale=locale,
        tax_rate=Decimal(rng.choice(["0.10", "0.10", "0.08", "0.07", "0.20", "0.05"])),
        prices_include_tax=currency in ("JPY", "KRW", "EUR", "GBP", "AUD"),
        room_types=room_types,
        weekend_multiplier=Decimal(rng.choice(["1.10", "1.20", "1.25"])),
        holiday_multiplier=Decimal(rng.choice(["1.20", "1.30"])),
        seasons=seasons,
        los_discounts=[(3, Decimal("0.05")), (7, Decimal("0.10"))],
        front_desk=front_desk,
    )


def _members(spec: DatasetSpec, hotels: list[HotelPlan]) -> list[MemberPlan]:
    from faker import Faker

    rng = random.Random(f"{spec.seed}/members")
    fakers: dict[str, Faker] = {}
    out = []
    cum = []
    acc = 0.0
    for code, share, span in RANK_MIX:
        acc += share
        cum.append((acc, code, span))
    for i in range(spec.member_count):
        home = hotels[rng.randrange(len(hotels))]
        city = next(c for c in CITIES if c[1] == home.country)
        fk = fakers.get(home.locale)
        if fk is None:
            fk = fakers[home.locale] = Faker(home.locale)
            fk.seed_instance(spec.seed)
        given, family = fk.first_name(), fk.last_name()
        reading_given = reading_family = None
        if home.locale == "ja_JP":
            reading_given, reading_family = fk.first_kana_name(), fk.last_kana_name()
        x = rng.random()
        _, rank, (lo, hi) = next(c for c in cum if x <= c[0] + 1e-12)
        digits = "".join(str(rng.randrange(10)) for _ in range(9))
        out.append(
            MemberPlan(
                given_name=given,
                family_name=family,
                given_name_reading=reading_given,
                family_name_reading=reading_family,
                email=f"member{i + 1:07d}.{spec.seed}@example.com",
                phone_e164=f"{city[5]}{rng.randrange(1, 10)}{digits}",
                country_code=home.country,
                language=home.locale.split("_")[0],
                rank_code=rank,
                qualifying_stays=rng.randint(lo, hi),
            )
        )
    return out


def _stays(spec: DatasetSpec, hotels: list[HotelPlan], members: int) -> list[StayPlan]:
    """Bookings laid room by room along the calendar, so no night is ever over capacity.

    Each room is a lane: a gap, a stay, a gap, ... with gaps sized so that about
    ``booked_share`` of the nights are taken. The audit hotel gets ``arrivals_share`` of its
    rooms arriving tonight (night 0) and nothing else.
    """
    rng = random.Random(f"{spec.seed}/stays")
    share = spec.booked_share
    mean_len = sum(STAY_LENGTHS) / len(STAY_LENGTHS)
    mean_gap = mean_len * (1 - share) / share if share > 0 else math.inf
    out = []
    for h, hotel in enumerate(hotels):
        for t, rt in enumerate(hotel.room_types):
            for _lane in rt.rooms:
                if hotel.front_desk:
                    if rng.random() < spec.arrivals_share:
                        out.append(
                            StayPlan(
                                h,
                                t,
                                0,
                                rng.randrange(max(members, 1)),
                                0,
                                rng.choice([1, 2, 3]),
                                max(1, min(2, rt.max_occupancy)),
                            )
                        )
                    continue
                if share <= 0:
                    continue
                night = int(rng.expovariate(1 / mean_gap)) if mean_gap > 0 else 0
                while night < spec.days:
                    nights = min(rng.choice(STAY_LENGTHS), spec.days - night)
                    out.append(
                        StayPlan(
                            h,
                            t,
                            rng.randrange(len(RATE_PLANS)),
                            rng.randrange(max(members, 1)),
                            night,
                            nights,
                            rng.randint(1, rt.max_occupancy),
                        )
                    )
                    night += nights + int(rng.expovariate(1 / mean_gap))
    return out


def make_plan(spec: DatasetSpec) -> Plan:
    """The whole dataset as plain data; same spec (seed included), same plan."""
    rng = random.Random(f"{spec.seed}/hotels")
    hotels = [_hotel(spec, i, rng, spec.rooms, False) for i in range(spec.hotels)]
    if spec.audit_rooms:
        hotels.append(_hotel(spec, 0, rng, spec.audit_rooms, True))
    members = _members(spec, hotels)
    stays = _stays(spec, hotels, len(members))
    return Plan(spec, hotels, members, stays)


# ============================================================================ loading


@dataclass
class Loaded:
    """Ids of what was loaded, by plan index, and how long each step took."""

    hotel_ids: list[int] = field(default_factory=list)
    room_type_ids: list[list[int]] = field(default_factory=list)  # [hotel][room type]
    rate_plan_ids: list[list[list[int]]] = field(default_factory=list)  # [hotel][room type][plan]
    member_ids: list[int] = field(default_factory=list)
    audit_hotel_id: int | None = None
    today: dict[int, date] = field(default_factory=dict)  # hotel id -> the local today its calendar opened on
    timings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


class _NoProgress:
    """Stands in for a rich Progress when the caller wants none (tests)."""

    def add_task(self, *_a: Any, **_k: Any) -> int:
        return 0

    def advance(self, *_a: Any, **_k: Any) -> None:
        pass

    def update(self, *_a: Any, **_k: Any) -> None:
        pass


@contextmanager
def _step(loaded: Loaded, name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    loaded.timings[name] = round(time.perf_counter() - t0, 2)


def _copy_rows(conn: psycopg.Connection, statement: str, rows: Iterable[tuple]) -> None:
    with conn.cursor() as cur, cur.copy(statement) as cp:
        for row in rows:
            cp.write_row(row)


def load(url: str, plan: Plan, progress: Any = None) -> Loaded:
    """Write ``plan`` into the migrated database at ``url``; return the ids and the timings.

    ``progress`` is a rich ``Progress`` (or None for no bars).
    """
    progress = progress or _NoProgress()
    loaded = Loaded()
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn, _history_unpublished(conn):
        conn.execute("set synchronous_commit = off")
        with _step(loaded, "members"):
            _load_members(conn, plan, loaded, progress)
        with _step(loaded, "hotels"):
            _load_hotels(conn, plan, loaded, progress)
        with _step(loaded, "bookings"):
            _load_stays(conn, plan, loaded, progress)
        with _step(loaded, "layout"):
            # api.open_inventory writes each room type's nights in night order, and bookings then
            # change their counters in place (HOT updates, fillfactor 80): a search reads a room
            # type's stay from one or two pages. The one bulk update of every night's counters
            # above is not something the product does: it moves most rows off their page. Put
            # the calendar back in the order the product leaves it.
            conn.execute("cluster core.inventory using inventory_pkey")
        with _step(loaded, "analyze"):
            conn.execute("analyze")
    loaded.seconds = round(time.perf_counter() - t0, 2)
    return loaded


@contextmanager
def _history_unpublished(conn: psycopg.Connection):
    """The bulk load writes history, not news: the event triggers of the customers and
    reservations it copies in are switched off meanwhile (ALTER TABLE, as the owner: no client
    can do it), and on again afterwards."""
    triggers = conn.execute(
        """select c.relname, t.tgname from pg_trigger t
           join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'core' and c.relname in ('customers', 'reservations', 'points_ledger')
             and t.tgname like '\\_900\\_publish%%'"""
    ).fetchall()
    switch = sql.SQL("alter table core.{} {} trigger {}")
    for table, trigger in triggers:
        conn.execute(switch.format(sql.Identifier(table), sql.SQL("disable"), sql.Identifier(trigger)))
    try:
        yield
    finally:
        for table, trigger in triggers:
            conn.execute(switch.format(sql.Identifier(table), sql.SQL("enable"), sql.Identifier(trigger)))


def _load_members(conn: psycopg.Connection, plan: Plan, loaded: Loaded, progress: Any) -> None:
    """Members set-based (volume only): COPY into the customer master, ranks as of the plan."""
    task = progress.add_task("members", total=len(plan.members))
    today = date.today()
    rng = random.Random(f"{plan.spec.seed}/member-since")
    rows = []
    for m in plan.members:
        rows.append(
            (
                m.given_name,
                m.family_name,
                m.given_name_reading,
                m.family_name_reading,
                m.email,
                m.phone_e164,
                m.country_code,
                m.language,
                True,
                today - timedelta(days=rng.randrange(1, 3000)),
                m.rank_code,
                m.qualifying_stays,
            )
        )
    _copy_rows(
        conn,
        "copy core.customers (given_name, family_name, given_name_reading, family_name_reading, email, "
        "phone_e164, country_code, language, is_member, member_since, rank_code, qualifying_stays) from stdin",
        rows,
    )
    by_email = dict(
        conn.execute(
            "select email, id from core.customers where email like %s", (f"%.{plan.spec.seed}@example.com",)
        ).fetchall()
    )
    loaded.member_ids = [by_email[m.email] for m in plan.members]
    progress.advance(task, len(plan.members))


def hotel_today(conn: psycopg.Connection) -> dict[int, date]:
    """Each hotel's local 'today' as the ledger sees it (internal.now() in the hotel's time zone)."""
    return dict(
        conn.execute("select h.id, (internal.now() at time zone h.time_zone)::date from core.hotels h")
    )


def _load_stays(conn: psycopg.Connection, plan: Plan, loaded: Loaded, progress: Any) -> None:
    """The bookings already on the books, set-based (only volume matters here).

    Reservations and their room lines are inserted from one staging table priced from the
    calendar's rack rates and the rate plans; then each night's ``booked`` counter is raised by
    the lines that occupy it, from those very rows, so counters = recount by construction. A
    lane-by-lane plan (see :func:`_stays`) never puts more stays on a night than there are rooms.
    """
    task = progress.add_task("bookings", total=len(plan.stays) + 3)
    # the day each calendar opened on, not today's date again: a hotel may pass midnight meanwhile
    today = loaded.today or hotel_today(conn)
    conn.execute(
        """create temp table bench_stays (
               n bigint primary key, hotel_id bigint, room_type_id bigint, rate_plan_id bigint,
               customer_id bigint, check_in date, check_out date, adults int, origin text)"""
    )
    origins = ("member", "ota", "direct", "pms")

    def rows() -> Iterator[tuple]:
        for n, s in enumerate(plan.stays):
            hid = loaded.hotel_ids[s.hotel]
            first = today[hid] + timedelta(days=s.first_night)
            yield (
                n,
                hid,
                loaded.room_type_ids[s.hotel][s.room_type],
                loaded.rate_plan_ids[s.hotel][s.room_type][s.rate_plan],
                loaded.member_ids[s.member] if loaded.member_ids else None,
                first,
                first + timedelta(days=s.nights),
                s.adults,
                origins[n % 4],
            )
            if n % 10000 == 0:
                progress.advance(task, 10000 if n else 1)

    _copy_rows(conn, "copy bench_stays from stdin", rows())
    progress.update(task, completed=len(plan.stays))
    with conn.transaction():
        conn.execute(
            """create temp table bench_priced as
               select s.*, nextval(pg_get_serial_sequence('core.reservations', 'id')) as reservation_id,
                      p.nightly, p.subtotal, h.currency, h.tax_rate, h.prices_include_tax, c.minor_units
               from bench_stays s
               join core.hotels h on h.id = s.hotel_id
               join core.currencies c on c.code = h.currency
               cross join lateral (
                   select array_agg(round(i.rack_rate * rp.price_multiplier + rp.price_supplement, c.minor_units)
                                    order by i.night) as nightly,
                          sum(round(i.rack_rate * rp.price_multiplier + rp.price_supplement, c.minor_units)) as subtotal
                   from core.inventory i
                   join core.rate_plans rp on rp.id = s.rate_plan_id
                   where i.hotel_id = s.hotel_id and i.room_type_id = s.room_type_id
                     and i.night >= s.check_in and i.night < s.check_out
               ) p
               order by s.n"""
        )
        progress.advance(task)
        conn.execute(
            """insert into core.reservations
                   (id, hotel_id, customer_id, status, origin, stay, currency, subtotal_amount, tax_amount,
                    total_amount)
               overriding system value
               select b.reservation_id, b.hotel_id, b.customer_id, 'confirmed', b.origin::core.reservation_origin,
                      daterange(b.check_in, b.check_out), b.currency, b.subtotal, t.tax,
                      b.subtotal + case when b.prices_include_tax then 0 else t.tax end
               from bench_priced b
               cross join lateral (
                   select case when b.prices_include_tax
                               then round(b.subtotal - b.subtotal / (1 + b.tax_rate), b.minor_units)
                               else round(b.subtotal * b.tax_rate, b.minor_units) end as tax) t
               order by b.n"""
        )
        progress.advance(task)
        conn.execute(
            """insert into core.reservation_rooms
                   (reservation_id, hotel_id, room_type_id, rate_plan_id, stay, adults, status, amount, nightly)
               select b.reservation_id, b.hotel_id, b.room_type_id, b.rate_plan_id, r.stay, b.adults, r.status,
                      r.total_amount, b.nightly
               from bench_priced b join core.reservations r on r.id = b.reservation_id
               order by b.n"""
        )
        conn.execute(
            """update core.inventory i set booked = i.booked + x.n
               from (select b.hotel_id, b.room_type_id, d::date as night, count(*) as n
                     from bench_priced b, generate_series(b.check_in, b.check_out - 1, interval '1 day') d
                     group by 1, 2, 3) x
               where i.hotel_id = x.hotel_id and i.room_type_id = x.room_type_id and i.night = x.night"""
        )
        progress.advance(task)
    conn.execute("drop table bench_priced; drop table bench_stays")


# ---------------------------------------------------------------------------- invariants


def check_invariants(conn: psycopg.Connection) -> dict[str, int]:
    """The ledger's promises, recounted from the rows: no oversold night, counters = recount.

    Reads the ledger's audit views (``report.inventory_recount``, ``report.inventory_exception_recount``
    and ``report.room_block_recount`` when they exist): ``oversold_nights`` and ``drifted_nights`` must be zero.
    """
    row = conn.execute(
        """select count(*) filter (where oversold), count(*) filter (where drifted), count(*)
           from report.inventory_recount"""
    ).fetchone()
    out = {"oversold_nights": row[0], "drifted_nights": row[1], "nights_checked": row[2]}
    if conn.execute("select to_regclass('report.inventory_exception_recount') is not null").fetchone()[0]:
        # the chain search's exception nights against the flags the calendar gives now
        out["exceptions_drifted"] = conn.execute(
            "select count(*) from report.inventory_exception_recount where drifted"
        ).fetchone()[0]
    if conn.execute("select to_regclass('report.room_block_recount') is not null").fetchone()[0]:
        out["blocked_drifted"] = conn.execute(
            "select count(*) from report.room_block_recount where drifted"
        ).fetchone()[0]
    return out


def invariants_hold(inv: dict[str, int]) -> bool:
    return all(v == 0 for k, v in inv.items() if k != "nights_checked")


def figures(conn: psycopg.Connection) -> dict[str, Any]:
    """What was loaded, as numbers that do not depend on ids or on the day: equal for equal seeds."""
    row = conn.execute(
        """select (select count(*) from core.hotels),
                  (select count(*) from core.room_types),
                  (select count(*) from core.rooms),
                  (select count(*) from core.rate_plans),
                  (select count(*) from core.holidays),
                  (select count(*) from core.customers),
                  (select count(*) from core.reservations),
                  (select count(*) from core.inventory),
                  (select coalesce(sum(booked), 0) from core.inventory),
                  (select coalesce(sum(capacity), 0) from core.inventory),
                  (select coalesce(sum(total_amount), 0) from core.reservations),
                  (select coalesce(sum(base_price), 0) from core.room_types),
                  (select string_agg(rank_code || '=' || n, ',' order by rank_code)
                     from (select rank_code, count(*) n from core.customers group by 1) r)"""
    ).fetchone()
    keys = [
        "hotels",
        "room_types",
        "rooms",
        "rate_plans",
        "holidays",
        "customers",
        "reservations",
        "inventory_nights",
        "room_nights_booked",
        "room_nights_capacity",
        "booked_amount",
        "base_prices",
        "ranks",
    ]
    out = dict(zip(keys, row, strict=True))
    for k in ("booked_amount", "base_prices"):
        out[k] = str(out[k])
    return out


def _holidays(country: str, first: date, until: date) -> list[tuple[date, str]]:
    """National holidays of ``country`` within [first, until), from the holidays library."""
    import holidays

    try:
        cal = holidays.country_holidays(country, years=range(first.year, until.year + 1))
    except NotImplementedError:
        return []
    return sorted((d, name) for d, name in cal.items() if first <= d < until)


def _load_hotels(conn: psycopg.Connection, plan: Plan, loaded: Loaded, progress: Any) -> None:
    """Hotels through the ledger's api, one transaction per hotel: the rules apply as for any user.

    Pricing rules, seasons and holidays go in before the calendar opens, so the re-pricing each
    of them triggers runs on an empty calendar; ``api.open_inventory`` then prices it once.
    """
    task = progress.add_task("hotels", total=len(plan.hotels))
    for h in plan.hotels:
        with conn.transaction(), conn.cursor() as cur:
            today = cur.execute("select (internal.now() at time zone %s)::date", (h.time_zone,)).fetchone()[0]
            until = today + timedelta(days=plan.spec.days)
            hid = cur.execute(
                """select api.create_hotel(p_code => %s, p_name => %s, p_time_zone => %s, p_currency => %s,
                       p_city => %s, p_country_code => %s, p_tax_rate => %s, p_prices_include_tax => %s,
                       p_holiday_country => %s)""",
                (
                    h.code,
                    h.name,
                    h.time_zone,
                    h.currency,
                    h.city,
                    h.country,
                    h.tax_rate,
                    h.prices_include_tax,
                    h.country,
                ),
            ).fetchone()[0]
            loaded.hotel_ids.append(hid)
            loaded.today[hid] = today
            if h.front_desk:
                loaded.audit_hotel_id = hid
            policies = dict(
                cur.execute("select code, id from core.cancellation_policies where hotel_id = %s", (hid,))
            )
            for code, _name, _mult, free_days in RATE_PLANS:
                if free_days is not None and free_days != 1:
                    policies[code] = cur.execute(
                        """select api.create_cancellation_policy(p_hotel_id => %s, p_code => %s, p_name => %s,
                               p_free_until_days => %s)""",
                        (
                            hid,
                            f"free_{free_days}d",
                            f"Free cancellation until {free_days} days before arrival",
                            free_days,
                        ),
                    ).fetchone()[0]
            rt_ids = []
            for rt in h.room_types:
                rt_ids.append(
                    cur.execute(
                        """select api.create_room_type(p_hotel_id => %s, p_code => %s, p_name => %s,
                           p_max_occupancy => %s, p_base_price => %s, p_amenities => %s, p_size_sqm => %s)""",
                        (
                            hid,
                            rt.code,
                            rt.name,
                            rt.max_occupancy,
                            rt.base_price,
                            psycopg.types.json.Jsonb(rt.amenities),
                            rt.size_sqm,
                        ),
                    ).fetchone()[0]
                )
            cur.executemany(
                "select api.create_room(p_hotel_id => %s, p_room_type_id => %s, p_number => %s, p_floor => %s)",
                [
                    (hid, rt_id, number, floor)
                    for rt, rt_id in zip(h.room_types, rt_ids, strict=True)
                    for number, floor in rt.rooms
                ],
            )
            plan_rows = []
            for rt_id in rt_ids:
                for code, name, mult, free_days in RATE_PLANS:
                    policy = (
                        policies["non_refundable"]
                        if free_days is None
                        else (policies["flexible"] if free_days == 1 else policies[code])
                    )
                    plan_rows.append((hid, rt_id, code, name, mult, code == "BB", policy))
            cur.executemany(
                """select api.create_rate_plan(p_hotel_id => %s, p_room_type_id => %s, p_code => %s, p_name => %s,
                       p_price_multiplier => %s, p_includes_breakfast => %s, p_cancellation_policy_id => %s)""",
                plan_rows,
            )
            by_type: dict[int, dict[str, int]] = {}
            for rt_id, code, rp_id in cur.execute(
                "select room_type_id, code, id from core.rate_plans where hotel_id = %s", (hid,)
            ):
                by_type.setdefault(rt_id, {})[code] = rp_id
            loaded.room_type_ids.append(rt_ids)
            loaded.rate_plan_ids.append(
                [[by_type[rt_id][code] for code, *_ in RATE_PLANS] for rt_id in rt_ids]
            )
            # pricing: weekend and holiday multipliers, seasons, length-of-stay discounts (seed 003)
            cur.execute(
                "select api.set_pricing_rule(p_hotel_id => %s, p_kind => 'weekend', p_multiplier => %s)",
                (hid, h.weekend_multiplier),
            )
            cur.execute(
                "select api.set_pricing_rule(p_hotel_id => %s, p_kind => 'holiday', p_multiplier => %s)",
                (hid, h.holiday_multiplier),
            )
            for n, (name, first, last, mult) in enumerate(h.seasons):
                season_id = cur.execute(
                    "select api.create_season(%s, %s, %s, %s, %s)",
                    (hid, f"S{n + 1}", name, today + timedelta(days=first), today + timedelta(days=last)),
                ).fetchone()[0]
                cur.execute(
                    """select api.set_pricing_rule(p_hotel_id => %s, p_kind => 'season', p_multiplier => %s,
                           p_season_id => %s)""",
                    (hid, mult, season_id),
                )
            for min_nights, rate in h.los_discounts:
                cur.execute("select api.set_length_of_stay_discount(%s, %s, %s)", (hid, min_nights, rate))
            days = _holidays(h.country, today, until)
            if days:
                cur.execute(
                    "select api.add_holidays(%s, %s::date[], %s::text[])",
                    (hid, [d for d, _ in days], [n for _, n in days]),
                )
            cur.execute("select api.open_inventory(%s, %s, %s)", (hid, today, until))
        progress.advance(task)
