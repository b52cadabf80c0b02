"""Factories for the HTTP API tests: two hotels built through the api, an API key per system and
hotel, and the app on a fresh database behind FastAPI's TestClient (lifespan included)."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")
from fastapi.testclient import TestClient  # noqa: E402

from pyapi.checkout.gateway import Resilience, SimulatedGateway  # noqa: E402
from pyapi.http import Settings, create_app  # noqa: E402


@dataclass
class Hotel:
    id: int
    today: dt.date
    room_type: int
    rate_plan: int
    rooms: list[int] = field(default_factory=list)

    def stay(self, offset: int = 3, nights: int = 2) -> tuple[dt.date, dt.date]:
        start = self.today + dt.timedelta(days=offset)
        return start, start + dt.timedelta(days=nights)


@dataclass
class World:
    url: str
    a: Hotel
    b: Hotel
    keys: dict[str, str]  # "pms_a", "member_a", "saas_a", "pms_b", "member_b"

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], **extra}


def build_hotel(db: psycopg.Connection, code: str, rooms: int = 3) -> Hotel:
    hotel_id = db.execute(
        "select api.create_hotel(%s, %s, 'Asia/Seoul', 'KRW', p_city => 'Seoul')", [code, f"Hotel {code}"]
    ).fetchone()[0]
    room_type = db.execute(
        "select api.create_room_type(%s, 'STD', 'Standard', 2, 100000)", [hotel_id]
    ).fetchone()[0]
    room_ids = [
        db.execute(
            "select api.create_room(%s, %s, %s)", [hotel_id, room_type, f"{code}-{i + 1:02d}"]
        ).fetchone()[0]
        for i in range(rooms)
    ]
    rate_plan = db.execute(
        "select api.create_rate_plan(%s, %s, 'flex', 'Flexible')", [hotel_id, room_type]
    ).fetchone()[0]
    today = db.execute("select internal.hotel_today(%s)", [hotel_id]).fetchone()[0]
    db.execute("select api.open_inventory(%s, %s, %s)", [hotel_id, today, today + dt.timedelta(days=60)])
    return Hotel(hotel_id, today, room_type, rate_plan, room_ids)


def issue_key(db: psycopg.Connection, system: str, hotels: list[int]) -> str:
    return db.execute("select token from api.issue_api_key(%s, %s, 'test')", [system, hotels]).fetchone()[0]


@pytest.fixture
def world(db: psycopg.Connection, fresh_db: str) -> World:
    a = build_hotel(db, "HA")
    b = build_hotel(db, "HB")
    keys = {
        "pms_a": issue_key(db, "pms", [a.id]),
        "member_a": issue_key(db, "member", [a.id]),
        "saas_a": issue_key(db, "saas", [a.id]),
        "pms_b": issue_key(db, "pms", [b.id]),
        "member_b": issue_key(db, "member", [b.id]),
    }
    return World(fresh_db, a, b, keys)


FAST = Resilience(tries=3, backoff_base=0.0, backoff_max=0.0, fail_max=5, reset_timeout=60)


@pytest.fixture
def make_client(world: World) -> Iterator[Callable[..., TestClient]]:
    """``make_client(gateway=..., **settings)``: the app on the world's database, started."""
    opened: list[TestClient] = []

    def make(gateway: SimulatedGateway | None = None, **settings) -> TestClient:
        settings.setdefault("recovery_interval", 0)
        settings.setdefault("resilience", FAST)
        settings.setdefault("pool_max", 8)
        app = create_app(Settings(database_url=world.url, **settings), gateway=gateway or SimulatedGateway())
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def gateway() -> SimulatedGateway:
    return SimulatedGateway()


@pytest.fixture
def client(make_client, gateway) -> TestClient:
    return make_client(gateway)


def checkout_body(
    hotel: Hotel,
    *,
    token: str = "tok_visa",
    amount: int = 200000,
    offset: int = 3,
    nights: int = 2,
    email: str = "hong@example.com",
    **extra,
) -> dict:
    check_in, check_out = hotel.stay(offset, nights)
    body = {
        "vendor": "hotelcore",
        "hotelId": hotel.id,
        "roomTypeId": hotel.room_type,
        "checkIn": check_in.isoformat(),
        "checkOut": check_out.isoformat(),
        "guestInfo": {
            "firstName": "Gildong",
            "lastName": "Hong",
            "email": email,
            "phone": "+82-10-1234-5678",
        },
        "adults": 2,
        "children": 0,
        "payment": {"cardToken": token, "amount": amount, "currency": "KRW"},
    }
    body.update(extra)
    return body


def invariants(db: psycopg.Connection) -> dict[str, list]:
    """What must never be seen after any checkout, whatever failed: each list must be empty."""
    q = {
        # a hold of a finished saga still taking rooms
        "leaked_holds": """
            select s.id from core.checkout_sagas s join core.holds h on h.id = s.hold_id
            where s.status <> 'running' and h.status = 'active'""",
        # a capture (saga or folio) without a live booking
        "capture_without_booking": """
            select s.id from core.checkout_sagas s left join core.reservations r on r.id = s.reservation_id
            where s.capture_ref is not null and (r.id is null or r.status = 'cancelled')
            union all
            select p.id from core.payments p join core.folios f on f.id = p.folio_id
            join core.reservations r on r.id = f.reservation_id
            where p.status = 'captured' and r.status = 'cancelled'""",
        # a booking made by a checkout without a recorded authorisation
        "booking_without_authorisation": """
            select r.id from core.reservations r join core.checkout_sagas s on s.reservation_id = r.id
            where r.payment_authorisation is null
               or not exists (select 1 from core.payments p where p.id = s.payment_id
                              and p.processor_reference = r.payment_authorisation)""",
        # a failed saga whose authorisation is still open on the folio
        "open_authorisation_after_failure": """
            select s.id from core.checkout_sagas s join core.payments p on p.id = s.payment_id
            where s.status = 'failed' and p.status = 'preauthorised'""",
        # the ledger's own recount disagrees
        "inventory_drift": "select night from report.inventory_recount where oversold or drifted",
    }
    return {name: db.execute(sql).fetchall() for name, sql in q.items()}


def assert_clean(db: psycopg.Connection) -> None:
    bad = {k: v for k, v in invariants(db).items() if v}
    assert bad == {}
