"""What a demo season is: its size and seed, the chain's hotels as the season sees them, and its result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from .. import datagen

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
