"""Helpers of the HTTP API tests: the two-hotel world with an API key per system, a checkout
request body, and what must never be seen after a checkout."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from . import factories
from .factories import Hotel, RoomType


@dataclass
class World:
    url: str
    a: Hotel
    b: Hotel
    keys: dict[str, str]  # "pms_a", "member_a", "saas_a", "pms_b", "member_b"

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], **extra}


def build_hotel(db: psycopg.Connection, code: str, rooms: int = 3) -> Hotel:
    """A Seoul hotel (KRW) of one room type with ``rooms`` rooms, one rate plan, 60 nights open."""
    return factories.make_hotel(
        db,
        code=code,
        time_zone="Asia/Seoul",
        currency="KRW",
        city="Seoul",
        room_types=(RoomType("STD", 2, 100000, rooms=rooms, name="Standard"),),
        room_number="{hotel}-{i:02d}",
        days=60,
    )


def issue_key(db: psycopg.Connection, system: str, hotels: list[int]) -> str:
    """The token of a new API key of ``system`` for ``hotels``."""
    return factories.issue_api_key(db, system, hotels)[1]


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
