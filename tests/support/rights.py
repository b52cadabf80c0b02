"""Helpers of the data-rights tests: calling the api by parameter name and the two-hotel world."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import psycopg
from psycopg.types.json import Jsonb

from . import factories
from .factories import Hotel, RoomType
from .factories import issue_api_key as issue_key  # noqa: F401 (the rights tests' name)
from .sql import call, scalar

PASSWORD = "rights-test"


@dataclass
class World:
    a: Hotel
    b: Hotel
    customer: int  # a member with preferences and marketing consent
    arriving: dict[int, int]  # hotel id -> a reservation arriving today (confirmed)
    future: dict[int, int]  # hotel id -> a reservation in ten days (confirmed)
    in_house: dict[int, int]  # hotel id -> a reservation checked in today
    payment: dict[int, int]  # hotel id -> an authorised payment on the in-house folio
    block: dict[int, int]  # hotel id -> a room block
    waitlist: dict[int, int]  # hotel id -> a waitlist entry
    hold: dict[int, int]  # hotel id -> an active hold
    departed: dict[int, int]  # hotel id -> a reservation checked out today
    lines: dict[int, int] = None  # hotel id -> the room line of the arriving reservation
    season: dict[int, int] = None  # hotel id -> a season
    policy: dict[int, int] = None  # hotel id -> a cancellation policy
    other_customer: int = 0  # a guest profile (for merges)
    item: dict[int, int] = None  # hotel id -> a catalog item (room service)
    order: dict[int, int] = None  # hotel id -> an order of the in-house stay
    facility: dict[int, int] = None  # hotel id -> a bookable facility
    booking: dict[int, int] = None  # hotel id -> a facility booking of the in-house stay
    request: dict[int, int] = None  # hotel id -> a concierge request of the in-house stay
    conflict: int = 0  # an open customer conflict (a phone clash)
    room_conflict: dict[int, int] = None  # hotel id -> an open room conflict (a claim of a blocked room)


def _hotel(db: psycopg.Connection, code: str) -> Hotel:
    return factories.make_hotel(
        db,
        code=code,
        room_types=(RoomType("STD", 2, 10000, rooms=6, name="Standard"),),
        room_number="{hotel}-{i}",
        days=30,
    )


def _book(db: psycopg.Connection, hotel: Hotel, customer: int, start: int, nights: int) -> int:
    return scalar(
        db,
        "book_reservation",
        p_hotel_id=hotel.id,
        p_room_type_id=hotel.room_type,
        p_rate_plan_id=hotel.rate_plan,
        p_check_in=hotel.day(start),
        p_check_out=hotel.day(start + nights),
        p_customer_id=customer,
    )["id"]


def build_world(db: psycopg.Connection) -> World:
    """Two hotels (A, B) of one chain, each with reservations in every state the rights tests
    need, built through the api by the owner (the superuser the harness connects as)."""
    a, b = _hotel(db, "A"), _hotel(db, "B")
    customer = scalar(
        db,
        "create_customer",
        p_given_name="Hana",
        p_family_name="Sato",
        p_email="hana@example.com",
        p_city="Tokyo",
        p_marketing_consent=True,
        p_preferences=Jsonb({"pillow": "buckwheat"}),
    )["id"]
    w = World(a, b, customer, {}, {}, {}, {}, {}, {}, {}, {})
    for h in (a, b):
        w.arriving[h.id] = _book(db, h, customer, 0, 2)
        w.future[h.id] = _book(db, h, customer, 10, 2)
        w.in_house[h.id] = _book(db, h, customer, 0, 1)
        call(db, "check_in", p_reservation_id=w.in_house[h.id], p_room_id=h.room_ids[0])
        w.payment[h.id] = scalar(
            db,
            "authorise_payment",
            p_reservation_id=w.in_house[h.id],
            p_method="card",
            p_amount=1000,
            p_processor_reference=f"auth-{h.id}",
        )
        w.block[h.id] = scalar(
            db,
            "block_room",
            p_hotel_id=h.id,
            p_room_id=h.room_ids[5],
            p_from=h.day(20),
            p_until=h.day(22),
            p_kind="maintenance",
            p_reason="paint",
        )
        w.departed[h.id] = _book(db, h, customer, 0, 1)
        call(db, "check_in", p_reservation_id=w.departed[h.id], p_room_id=h.room_ids[1])
        # the night is posted at check-out: pay the booked total first
        balance = Decimal(
            str(scalar(db, "get_reservation", p_reservation_id=w.departed[h.id])["total_amount"])
        )
        call(
            db,
            "authorise_payment",
            p_reservation_id=w.departed[h.id],
            p_method="card",
            p_amount=balance,
            p_processor_reference=f"paid-{h.id}",
            p_capture=True,
        )
        call(db, "check_out", p_reservation_id=w.departed[h.id])
        w.hold[h.id] = call(
            db,
            "create_hold",
            p_hotel_id=h.id,
            p_room_type_id=h.room_type,
            p_rate_plan_id=h.rate_plan,
            p_check_in=h.day(3),
            p_check_out=h.day(4),
            p_ttl_seconds=3600,
        )[0]["hold_id"]
        w.waitlist[h.id] = scalar(
            db,
            "join_waitlist",
            p_hotel_id=h.id,
            p_room_type_id=h.room_type,
            p_rate_plan_id=h.rate_plan,
            p_customer_id=customer,
            p_check_in=h.day(5),
            p_check_out=h.day(6),
        )
    w.lines = {
        h.id: db.execute(
            "select id from core.reservation_rooms where reservation_id = %s", (w.arriving[h.id],)
        ).fetchone()[0]
        for h in (a, b)
    }
    w.policy = {
        h.id: db.execute(
            "select min(id) from core.cancellation_policies where hotel_id = %s", (h.id,)
        ).fetchone()[0]
        for h in (a, b)
    }
    w.season = {
        h.id: scalar(
            db,
            "create_season",
            p_hotel_id=h.id,
            p_code="peak",
            p_name="Peak",
            p_from=h.day(60),
            p_until=h.day(70),
        )
        for h in (a, b)
    }
    w.other_customer = scalar(db, "find_or_create_guest", p_given_name="Ken", p_family_name="Mori")
    # guest services of the in-house stays (hotel-saas)
    w.item, w.order, w.facility, w.booking, w.request = {}, {}, {}, {}, {}
    for h in (a, b):
        w.item[h.id] = scalar(
            db,
            "create_service_item",
            p_hotel_id=h.id,
            p_category="room_service",
            p_code="tea",
            p_name="Tea",
            p_price=500,
        )
        w.order[h.id] = scalar(
            db,
            "create_order",
            p_reservation_id=w.in_house[h.id],
            p_client_key="world",
            p_items=Jsonb([{"service_item_id": w.item[h.id], "quantity": 1}]),
        )["id"]
        w.facility[h.id] = scalar(
            db,
            "create_facility",
            p_hotel_id=h.id,
            p_code="spa",
            p_name="Spa room",
            p_kind="spa_room",
            p_capacity=2,
        )
        tomorrow_ten = dt.datetime.combine(
            h.day(1), dt.time(10, 0), tzinfo=dt.timezone(dt.timedelta(hours=9))
        )
        w.booking[h.id] = scalar(
            db,
            "book_facility",
            p_facility_id=w.facility[h.id],
            p_reservation_id=w.in_house[h.id],
            p_starts_at=tomorrow_ten,
            p_ends_at=tomorrow_ten + dt.timedelta(hours=1),
        )
        w.request[h.id] = scalar(
            db, "create_concierge_request", p_reservation_id=w.in_house[h.id], p_request_type="taxi"
        )["id"]
    # conflicts: the PMS's phone clashing with the member's, and a claim of a room out on a block
    stamp = db.execute("select internal.now() - interval '10 minutes'").fetchone()[0]
    clash = scalar(
        db,
        "detect_conflicts",
        p_entity_type="customer",
        p_entity_id=w.other_customer,
        p_updates=Jsonb(
            [
                {
                    "system": "hotel-member",
                    "timestamp": stamp.isoformat(),
                    "fields": {"phone": "+81 90 1234 5678"},
                },
                {
                    "system": "hotel-pms",
                    "timestamp": stamp.isoformat(),
                    "fields": {"phone": "+81 80 9876 5432"},
                },
            ]
        ),
    )
    w.conflict = clash["results"][1]["conflict_id"]
    w.room_conflict = {}
    for h in (a, b):
        blocked_stay = _book(db, h, customer, 20, 1)
        claim = scalar(
            db,
            "detect_conflicts",
            p_entity_type="reservation",
            p_entity_id=blocked_stay,
            p_updates=Jsonb(
                [
                    {
                        "system": "hotel-pms",
                        "timestamp": stamp.isoformat(),
                        "fields": {"room_id": h.room_ids[5]},
                    }
                ]
            ),
        )
        w.room_conflict[h.id] = claim["results"][0]["conflict_id"]
    return w


# --------------------------------------------------------------------------- calling any function


@dataclass
class Function:
    """One function of the catalog: its regprocedure, parameter names and type names."""

    signature: str
    schema: str
    name: str
    params: list[tuple[str, str]]

    @property
    def text_params(self) -> list[str]:
        return [n for n, t in self.params if t in ("text", "character", "character varying")]


def functions(conn: psycopg.Connection, where: str) -> list[Function]:
    rows = conn.execute(
        f"""
        select p.oid::regprocedure::text, n.nspname, p.proname,
               coalesce(p.proargnames[1:p.pronargs], '{{}}'),
               array(select format_type(t, null) from unnest(p.proargtypes::oid[]) with ordinality u(t, i) order by i)
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where {where}
        order by 1"""
    ).fetchall()
    return [
        Function(sig, schema, name, list(zip(names, types, strict=True)))
        for sig, schema, name, names, types in rows
    ]


# hotel-scoped ids: parameter name -> how to find the value in a World for one hotel
SCOPED_IDS = {
    "p_hotel_id": lambda w, h: h.id,
    "p_hotel_ids": lambda w, h: [h.id],
    "p_room_type_id": lambda w, h: h.room_type,
    "p_rate_plan_id": lambda w, h: h.rate_plan,
    "p_room_id": lambda w, h: h.room_ids[2],
    "p_reservation_id": lambda w, h: w.arriving[h.id],
    "p_reservation_room_id": lambda w, h: w.lines[h.id],
    "p_hold_id": lambda w, h: w.hold[h.id],
    "p_payment_id": lambda w, h: w.payment[h.id],
    "p_block_id": lambda w, h: w.block[h.id],
    "p_entry_id": lambda w, h: w.waitlist[h.id],
    "p_season_id": lambda w, h: w.season[h.id],
    "p_cancellation_policy_id": lambda w, h: w.policy[h.id],
    "p_id": lambda w, h: w.arriving[h.id],
    "p_service_item_id": lambda w, h: w.item[h.id],
    "p_order_id": lambda w, h: w.order[h.id],
    "p_facility_id": lambda w, h: w.facility[h.id],
    "p_booking_id": lambda w, h: w.booking[h.id],
    "p_request_id": lambda w, h: w.request[h.id],
    "p_conflict_id": lambda w, h: w.room_conflict[h.id],
}

_TEXT = {
    "p_status": "dirty",
    "p_kind": "service",
    "p_currency": "JPY",
    "p_time_zone": "Asia/Tokyo",
    "p_system": "pms",
    "p_entity": "reservation",
    "p_origin": "member",
    "p_method": "card",
    "p_rank_code": "gold",
    "p_language": "ja",
    "p_country_code": "JP",
    "p_email": "guest@example.com",
    "p_phone": "+81312345678",
    "p_category": "room_service",
    "p_request_type": "taxi",
}


def plausible(fn: Function, w: World, h: Hotel) -> dict[str, object]:
    """Arguments that pass the first checks of most functions, in hotel ``h``."""
    args: dict[str, object] = {}
    for name, typ in fn.params:
        if name in SCOPED_IDS:
            value: object = SCOPED_IDS[name](w, h)
        elif name in ("p_customer_id", "p_keep_id"):
            value = w.customer
        elif name == "p_duplicate_id":
            value = w.other_customer
        elif typ == "bigint":
            value = None
        elif typ == "integer":
            value = {"p_limit": 10, "p_offset": 0, "p_children": 0, "p_adults": 2, "p_ttl_seconds": 600}.get(
                name, 1
            )
        elif typ == "numeric":
            value = Decimal("0.1") if "rate" in name else Decimal(100)
        elif typ == "date":
            value = {
                "p_check_in": h.day(3),
                "p_check_out": h.day(4),
                "p_from": h.day(25),
                "p_until": h.day(26),
                "p_business_date": h.today,
                "p_arrival_from": h.today,
                "p_arrival_to": h.day(30),
            }.get(name, h.day(1))
        elif typ == "date[]":
            value = [h.day(40)]
        elif typ == "boolean":
            value = False
        elif typ == "jsonb" and name == "p_items":
            value = Jsonb([{"service_item_id": w.item[h.id], "quantity": 1}])
        elif typ == "jsonb" and name == "p_scores":
            value = Jsonb({"overall": 4})
        elif typ == "jsonb":
            value = Jsonb({"city": "Kyoto"} if name == "p_changes" else {})
        elif typ in ("text", "character"):
            value = _TEXT.get(name, "plain")
        elif typ == "text[]":
            value = ["plain"]
        elif typ == "bytea":
            value = bytes(32)
        elif typ == "interval":
            value = dt.timedelta(hours=1)
        elif typ.startswith("time"):
            value = None
        else:
            raise AssertionError(f"{fn.signature}: no plausible value for {name} {typ}")
        args[name] = value
    return args


def invoke(conn: psycopg.Connection, fn: Function, args: dict[str, object]):
    """Calls fn by name with typed arguments; every row."""
    parts = []
    for name, typ in fn.params:
        cast = "bpchar" if typ == "character" else typ  # ::character alone would mean char(1)
        parts.append(f"{name} => %({name})s::{cast}")
    query = f"select * from {fn.schema}.{fn.name}({', '.join(parts)})"
    return conn.execute(query, args).fetchall()


def request(conn: psycopg.Connection, token: str, *, role: str | None = None, app_user: str | None = None):
    """Start a request on ``conn`` as the HTTP layer does: api.authenticate in the transaction, then
    SET LOCAL ROLE to the key's system role (or to ``role``, e.g. hotelcore_service for the saga)."""
    return conn.execute(
        "select a.api_key_id, set_config('role', coalesce(%s, a.db_role), true)"
        " from api.authenticate(%s, null, %s) a",
        (role, token, app_user),
    ).fetchone()[0]
