"""The world and the plan: cities, room types, rate plans and seasons, and a deterministic plan of
hotels, members and stays drawn from one seed.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

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
