"""hotel-member (seed 000): the customer master, points, rank, and member bookings.

Base path ``/api/v2/member``; only keys of the member system may call these routes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from psycopg.types.json import Jsonb
from pydantic import Field

from ..errors import ApiError
from .common import Body, Day, Id, PathId, Version, answers, text
from .context import Call, caller

router = APIRouter(prefix="/api/v2/member", tags=["hotel-member"])
member = caller("member", ("member",))


class CustomerCreate(Body):
    given_name: text(100, 1)
    family_name: text(100, 1)
    email: text(254) | None = None
    phone: text(40) | None = None
    phone_country: text(2) | None = None
    given_name_reading: text(100) | None = None
    family_name_reading: text(100) | None = None
    postal_code: text(20) | None = None
    address_line1: text(200) | None = None
    address_line2: text(200) | None = None
    city: text(100) | None = None
    region: text(100) | None = None
    country_code: text(2) | None = None
    language: text(10) = "en"
    is_member: bool = True
    marketing_consent: bool = False
    preferences: dict[str, Any] = Field(default_factory=dict)


class CustomerUpdate(Body):
    """The fields to change (absent fields are kept; null clears an optional one)."""

    version: Version | None = Field(
        default=None, description="The version read; VERSION_CONFLICT when stale."
    )
    given_name: text(100, 1) | None = None
    family_name: text(100, 1) | None = None
    email: text(254) | None = None
    phone: text(40) | None = None
    phone_country: text(2) | None = None
    given_name_reading: text(100) | None = None
    family_name_reading: text(100) | None = None
    postal_code: text(20) | None = None
    address_line1: text(200) | None = None
    address_line2: text(200) | None = None
    city: text(100) | None = None
    region: text(100) | None = None
    country_code: text(2) | None = None
    language: text(10) | None = None
    is_member: bool | None = None
    marketing_consent: bool | None = None
    preferences: dict[str, Any] | None = None


class PointsChange(Body):
    points: int = Field(ge=-10_000_000, le=10_000_000, description="+n adds, -n takes away.")
    reason: text(500) | None = None
    kind: Literal["adjust", "redeem"] = Field(
        default="adjust",
        description="adjust (+/-, reason required) or redeem (n > 0, optionally for a reservation).",
    )
    reservation_id: Id | None = None


class RankChange(Body):
    rank_code: text(40, 1)
    reason: text(500, 1)


class ConflictingUpdate(Body):
    system: Literal["hotel-member", "hotel-pms"] = Field(description="The system that made the change.")
    timestamp: datetime = Field(description="When that system made it (ISO 8601, not in the future).")
    fields: dict[str, Any] = Field(
        min_length=1, max_length=40, description="The fields it changed, with their new values."
    )


class ConflictDetect(Body):
    """Seed 000's 競合検知: the updates in the order they arrived."""

    entity_type: Literal["customer", "reservation"]
    entity_id: Id
    conflicting_updates: list[ConflictingUpdate] = Field(min_length=1, max_length=20)


class ConflictResolve(Body):
    """Seed 000's 競合解決."""

    resolution_method: Literal["manual", "auto_merge", "priority_based"]
    resolved_data: dict[str, Any] = Field(
        default_factory=dict,
        description="manual: the conflict's fields with the chosen values, and resolution_reason.",
    )
    resolver_user_id: text(200, 1)


def detect_conflicts(call: Call, body: ConflictDetect):
    """POST /conflicts/detect under the system owning the entity (the database checks which)."""
    updates = [u.model_dump(mode="json") for u in body.conflicting_updates]
    return call.ok(
        call.value(
            "detect_conflicts",
            p_entity_type=body.entity_type,
            p_entity_id=body.entity_id,
            p_updates=Jsonb(updates),
        )
    )


def resolve_conflict(call: Call, conflict_id: int, body: ConflictResolve):
    return call.ok(
        call.value(
            "resolve_conflict",
            p_conflict_id=conflict_id,
            p_resolution_method=body.resolution_method,
            p_resolved_data=Jsonb(body.resolved_data),
            p_resolver_user_id=body.resolver_user_id,
        )
    )


def customer_written(call: Call, doc: dict):
    """A customer write's answer: a stale write the rules kept out for review is committed as a
    recorded conflict and answered 409 CONFLICT_NEEDS_REVIEW with its id; else the document."""
    conflict = (doc or {}).get("conflict") or {}
    if conflict.get("verdict") == "needs_review":
        return call.error(
            ApiError(
                "CONFLICT_NEEDS_REVIEW",
                409,
                "The customer changed since this version was read; the write clashes and was recorded for review.",
                details={
                    "conflict_id": conflict.get("conflict_id"),
                    "rule": conflict.get("rule"),
                    "fields": conflict.get("fields"),
                    "version": doc.get("version"),
                },
            )
        )
    return call.ok(doc)


class ReservationCreate(Body):
    hotel_id: Id
    room_type_id: Id
    rate_plan_id: Id
    check_in: Day
    check_out: Day
    customer_id: Id
    rooms: int = Field(default=1, ge=1, le=10)
    adults: int = Field(default=2, ge=1, le=20)
    children: int = Field(default=0, ge=0, le=20)
    special_requests: text(1000) | None = None


@router.get("/customers/{customer_id}", responses=answers(404))
def get_customer(customer_id: PathId, call: Call = Depends(member)):
    """顧客情報取得 — the customer document: profile, rank with benefits, points balance, version."""
    return call.ok(call.value("get_customer", p_customer_id=customer_id))


@router.put("/customers/{customer_id}", responses=answers(404, 409, 422))
def update_customer(customer_id: PathId, body: CustomerUpdate, call: Call = Depends(member)):
    """顧客情報更新 — changes the fields sent (optimistic lock on ``version``). A stale ``version``
    goes through the conflict rules: merged (200, ``data.conflict``), or recorded for review and
    not applied (409 CONFLICT_NEEDS_REVIEW with the conflict id)."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"}, mode="json")
    return customer_written(
        call,
        call.value(
            "update_customer",
            p_customer_id=customer_id,
            p_expected_version=body.version,
            p_changes=Jsonb(changes),
        ),
    )


@router.post("/customers", status_code=201, responses=answers(409, 422, success=201))
def create_customer(body: CustomerCreate, call: Call = Depends(member)):
    """新規顧客作成 — a new customer (member by default)."""
    b = body
    doc = call.value(
        "create_customer",
        p_given_name=b.given_name,
        p_family_name=b.family_name,
        p_email=b.email,
        p_phone=b.phone,
        p_phone_country=b.phone_country,
        p_given_name_reading=b.given_name_reading,
        p_family_name_reading=b.family_name_reading,
        p_postal_code=b.postal_code,
        p_address_line1=b.address_line1,
        p_address_line2=b.address_line2,
        p_city=b.city,
        p_region=b.region,
        p_country_code=b.country_code,
        p_language=b.language,
        p_is_member=b.is_member,
        p_marketing_consent=b.marketing_consent,
        p_preferences=Jsonb(b.preferences),
    )
    return call.ok(doc, 201)


@router.get("/customers/{customer_id}/points", responses=answers(404))
def get_points(customer_id: PathId, call: Call = Depends(member)):
    """ポイント残高 — balance and the next expiry."""
    rows = call.rows("get_points_balance", p_customer_id=customer_id)
    return call.ok(rows[0] if rows else None)


@router.post("/customers/{customer_id}/points", responses=answers(404, 409, 422))
def change_points(customer_id: PathId, body: PointsChange, call: Call = Depends(member)):
    """ポイント加算/減算 — an adjustment (+/-) or a redemption."""
    if body.kind == "redeem":
        rows = call.rows(
            "redeem_points",
            p_customer_id=customer_id,
            p_points=body.points,
            p_reservation_id=body.reservation_id,
            p_reason=body.reason,
        )
    else:
        rows = call.rows(
            "adjust_points", p_customer_id=customer_id, p_points=body.points, p_reason=body.reason
        )
    return call.ok(rows[0] if rows else None)


@router.get("/customers/{customer_id}/rank", responses=answers(404))
def get_rank(customer_id: PathId, call: Call = Depends(member)):
    """会員ランク情報 — the rank, its benefits and progress."""
    return call.ok(call.value("get_customer_rank", p_customer_id=customer_id))


@router.put("/customers/{customer_id}/rank", responses=answers(404, 409, 422))
def set_rank(customer_id: PathId, body: RankChange, call: Call = Depends(member)):
    """ランク手動調整 — sets the rank by hand, with a reason."""
    return call.ok(
        call.value(
            "set_customer_rank", p_customer_id=customer_id, p_rank_code=body.rank_code, p_reason=body.reason
        )
    )


@router.post("/reservations", status_code=201, responses=answers(404, 409, 410, 422, success=201))
def create_reservation(body: ReservationCreate, call: Call = Depends(member)):
    """会員予約作成 — a member booking (no payment: pay at the hotel), handed to the PMS ledger."""
    return call.ok(create_booking(call, body, "member"), 201)


@router.get("/reservations/customer/{customer_id}", responses=answers(404, data=list[dict[str, Any]]))
def customer_reservations(
    customer_id: PathId,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
    call: Call = Depends(member),
):
    """顧客予約履歴 — the customer's reservations in the key's hotels, newest arrival first."""
    return call.ok(
        call.value("list_customer_reservations", p_customer_id=customer_id, p_limit=limit, p_offset=offset)
    )


@router.post("/conflicts/detect", responses=answers(404, 409, 422))
def member_detect_conflicts(body: ConflictDetect, call: Call = Depends(member)):
    """競合検知 — customers' updates from hotel-member and hotel-pms, judged by the conflict rules:
    per update applied, merged or needs_review, with the conflict id when one was recorded."""
    return detect_conflicts(call, body)


@router.post("/conflicts/{conflict_id}/resolve", responses=answers(404, 409, 422))
def member_resolve_conflict(conflict_id: PathId, body: ConflictResolve, call: Call = Depends(member)):
    """競合解決 — resolves a customer conflict (manual, auto_merge, priority_based); the customer after it."""
    return resolve_conflict(call, conflict_id, body)


def create_booking(call: Call, body: ReservationCreate, origin: str) -> dict:
    """A booking without payment: one transaction, scope checked, then api.book_reservation."""
    return call.value(
        "book_reservation",
        p_hotel_id=body.hotel_id,
        p_room_type_id=body.room_type_id,
        p_rate_plan_id=body.rate_plan_id,
        p_check_in=body.check_in,
        p_check_out=body.check_out,
        p_customer_id=body.customer_id,
        p_rooms=body.rooms,
        p_adults=body.adults,
        p_children=body.children,
        p_origin=origin,
        p_special_requests=body.special_requests,
    )
