"""hotel-member (seed 000): the customer master, points, rank, and member bookings.

Base path ``/api/v2/member``; only keys of the member system may call these routes.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from psycopg.types.json import Jsonb
from pydantic import Field

from .common import Body, Id, PathId, answers, text
from .conflicts import ConflictDetect, ConflictResolve, customer_written, detect_conflicts, resolve_conflict
from .context import Call, caller
from .customers import CustomerCreate, CustomerUpdate
from .reservations import ReservationCreate, create_booking

router = APIRouter(prefix="/api/v2/member", tags=["hotel-member"])
member = caller("member", ("member",))


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
    fields = body.model_dump()
    fields["preferences"] = Jsonb(fields["preferences"])
    doc = call.value("create_customer", **{f"p_{name}": value for name, value in fields.items()})
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
