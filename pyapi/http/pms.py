"""hotel-pms (seed 000): reservations, check-in / check-out, rooms and their status,
availability, and the customer's basic fields.

Base path ``/api/v2/pms``; only keys of the pms system may call these routes. Ids of another
hotel than the key's answer 404, exactly like ids that do not exist.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import Field

from ..client import APP_USER
from .common import Body, Day, Id, PathId, QueryDay, QueryId, Version, answers, text
from .conflicts import (
    ConflictDetect,
    ConflictResolve,
    customer_written,
    detect_conflicts,
    resolve_conflict,
    written,
)
from .context import Call, caller
from .customers import CustomerBasic
from .reservations import ReservationCreate, create_booking

router = APIRouter(prefix="/api/v2/pms", tags=["hotel-pms"])
pms = caller("pms", ("pms",))

# a room's hotel when the room is in the key's scope (api.assert_in_scope refuses otherwise)
ROOM_HOTEL = sql.SQL("api.assert_in_scope('room', {})").format(sql.Placeholder("p_room_id"))

RoomStatus = Literal["clean", "dirty", "inspected", "out_of_order", "out_of_service"]


class ReservationChange(Body):
    version: Version = Field(description="The version read (optimistic lock).")
    check_in: Day | None = None
    check_out: Day | None = None
    room_type_id: Id | None = None
    rate_plan_id: Id | None = None
    adults: int | None = Field(default=None, ge=1, le=20)
    children: int | None = Field(default=None, ge=0, le=20)
    special_requests: text(1000) | None = None


class CheckIn(Body):
    room_id: Id | None = Field(default=None, description="The room to give; none: the front desk's choice.")


class RoomStatusChange(Body):
    status: RoomStatus
    reason: text(500) | None = None
    version: Version | None = Field(
        default=None, description="The room's version read (GET /rooms); given, a stale write is judged."
    )


class RoomChange(Body):
    version: Version = Field(description="The room's version read (GET /rooms; optimistic lock).")
    status: RoomStatus | None = None
    housekeeping_notes: text(2000) | None = None
    floor: int | None = Field(default=None, ge=-999, le=999)
    reason: text(500) | None = Field(default=None, description="Why the status changes (the room log).")


class SpecialEventDay(Body):
    day: Day
    name: text(200, 1)


class SpecialEventDays(Body):
    hotel_id: Id
    days: list[SpecialEventDay] = Field(min_length=1, max_length=366)


# ----------------------------------------------------------------------------- reservations


@router.get("/reservations", responses=answers(404, data=list[dict[str, Any]]))
def list_reservations(
    hotel_id: QueryId,
    status: Literal["pending", "confirmed", "checked_in", "checked_out", "cancelled", "no_show"]
    | None = None,
    arrival_from: QueryDay | None = None,
    arrival_to: QueryDay | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
    call: Call = Depends(pms),
):
    """予約一覧 — a hotel's reservations, by arrival date."""
    return call.ok(
        call.value(
            "list_reservations",
            p_hotel_id=hotel_id,
            p_status=status,
            p_arrival_from=arrival_from,
            p_arrival_to=arrival_to,
            p_limit=limit,
            p_offset=offset,
            scope=[("hotel", hotel_id)],
        )
    )


@router.get("/reservations/{reservation_id}", responses=answers(404))
def get_reservation(reservation_id: PathId, call: Call = Depends(pms)):
    """予約詳細 — a reservation with its room lines."""
    return call.ok(
        call.value(
            "get_reservation", p_reservation_id=reservation_id, scope=[("reservation", reservation_id)]
        )
    )


@router.post("/reservations", status_code=201, responses=answers(404, 409, 410, 422, success=201))
def create_reservation(body: ReservationCreate, call: Call = Depends(pms)):
    """新規予約作成 — a booking taken at the front desk or by phone (no payment step)."""
    return call.ok(create_booking(call, body, "pms"), 201)


@router.put("/reservations/{reservation_id}", responses=answers(404, 409, 422))
def modify_reservation(reservation_id: PathId, body: ReservationChange, call: Call = Depends(pms)):
    """予約更新 — dates, room type, rate plan, guests or requests. A stale ``version`` goes through the
    conflict rules: merged (200, ``data.conflict``), or recorded for review and not applied (409
    CONFLICT_NEEDS_REVIEW with the conflict id; escalated for VIP, high-value or event-day stays)."""
    b = body
    rows = call.rows(
        "modify_reservation",
        p_reservation_id=reservation_id,
        p_version=b.version,
        p_check_in=b.check_in,
        p_check_out=b.check_out,
        p_room_type_id=b.room_type_id,
        p_rate_plan_id=b.rate_plan_id,
        p_adults=b.adults,
        p_children=b.children,
        p_special_requests=b.special_requests,
        scope=[("reservation", reservation_id)],
    )
    return written(call, rows[0] if rows else None, "reservation")


@router.delete("/reservations/{reservation_id}", responses=answers(404, 409, 422))
def cancel_reservation(
    reservation_id: PathId,
    version: int | None = Query(None, ge=1, le=2**31 - 1),
    reason: str | None = Query(None, max_length=500, pattern=r"^[^\x00]*$"),
    call: Call = Depends(pms),
):
    """予約キャンセル — cancels under the rate plan's policy (fee and refund in the answer)."""
    rows = call.rows(
        "cancel_reservation",
        p_reservation_id=reservation_id,
        p_version=version,
        p_reason=reason,
        scope=[("reservation", reservation_id)],
    )
    return written(call, rows[0] if rows else None, "reservation")


@router.post("/reservations/{reservation_id}/checkin", responses=answers(404, 409, 422))
def check_in(reservation_id: PathId, body: CheckIn | None = None, call: Call = Depends(pms)):
    """チェックイン — on the arrival day, into a clean or inspected room."""
    room_id = body.room_id if body else None
    rows = call.rows(
        "check_in",
        p_reservation_id=reservation_id,
        p_room_id=room_id,
        p_app_user=APP_USER,
        scope=[("reservation", reservation_id), ("room", room_id)],
    )
    return call.ok({"reservation_id": reservation_id, "rooms": rows})


@router.post("/reservations/{reservation_id}/checkout", responses=answers(404, 409, 422))
def check_out(reservation_id: PathId, call: Call = Depends(pms)):
    """チェックアウト — with a settled folio."""
    rows = call.rows(
        "check_out",
        p_reservation_id=reservation_id,
        p_app_user=APP_USER,
        scope=[("reservation", reservation_id)],
    )
    return written(call, rows[0] if rows else None, "reservation")


# ----------------------------------------------------------------------------- rooms


@router.get("/rooms", responses=answers(404, data=list[dict[str, Any]]))
def list_rooms(hotel_id: QueryId, call: Call = Depends(pms)):
    """部屋一覧・在庫状況 — the hotel's rooms with their status."""
    return call.ok(call.value("list_rooms", p_hotel_id=hotel_id, scope=[("hotel", hotel_id)]))


@router.put("/rooms/{room_id}/status", responses=answers(404, 409, 422))
def set_room_status(room_id: PathId, body: RoomStatusChange, call: Call = Depends(pms)):
    """部屋状態更新 — housekeeping status, logged with who and why. With the ``version`` read, a
    stale write goes through the conflict rules (as ``PUT /rooms/{room_id}``)."""
    if body.version is not None:
        return room_written(call, room_id, body.version, {"status": body.status}, body.reason)
    status = call.value(
        "set_room_status",
        p_hotel_id=ROOM_HOTEL,  # the room's hotel, if the room is in the key's scope
        p_room_id=room_id,
        p_status=body.status,
        p_reason=body.reason,
        p_app_user=APP_USER,
    )
    return call.ok({"room_id": room_id, "status": status})


@router.put("/rooms/{room_id}", responses=answers(404, 409, 422))
def update_room(room_id: PathId, body: RoomChange, call: Call = Depends(pms)):
    """部屋情報更新 — status, housekeeping notes or floor, with the version read. A stale ``version``
    goes through the conflict rules: merged (200, ``data.conflict``), or recorded for review and
    not applied (409 CONFLICT_NEEDS_REVIEW with the conflict id: out of order / out of service
    clashes, large rewrites, changes more than 5 minutes apart)."""
    changes = body.model_dump(exclude_unset=True, exclude={"version", "reason"}, mode="json")
    return room_written(call, room_id, body.version, changes, body.reason)


def room_written(call: Call, room_id: int, version: int, changes: dict, reason: str | None):
    return written(
        call,
        call.value(
            "update_room",
            p_hotel_id=ROOM_HOTEL,  # the room's hotel, if the room is in the key's scope
            p_room_id=room_id,
            p_expected_version=version,
            p_changes=Jsonb(changes),
            p_reason=reason,
            p_app_user=APP_USER,
        ),
        "room",
    )


# ----------------------------------------------------------------------------- special event days


@router.get("/special-event-days", responses=answers(404, 422, data=list[dict[str, Any]]))
def list_special_event_days(
    hotel_id: QueryId,
    until: QueryDay,
    from_: date = Query(
        alias="from", ge=date(2000, 1, 1), le=date(2999, 12, 31), description="First night listed."
    ),
    call: Call = Depends(pms),
):
    """特別イベント日 — a hotel's special event days in [from, until): a conflict on a stay with a
    night on one is escalated (seed 000: 特別イベント日の競合)."""
    return call.ok(
        call.value(
            "list_special_event_days",
            p_hotel_id=hotel_id,
            p_from=from_,
            p_until=until,
            scope=[("hotel", hotel_id)],
        )
    )


@router.put("/special-event-days", responses=answers(404, 422, data=dict[str, int]))
def set_special_event_days(body: SpecialEventDays, call: Call = Depends(pms)):
    """特別イベント日の登録 — adds (or renames) special event days of a hotel; answers how many were
    written."""
    written_days = call.value(
        "set_special_event_days",
        p_hotel_id=body.hotel_id,
        p_days=[d.day for d in body.days],
        p_names=[d.name for d in body.days],
        p_app_user=APP_USER,
        scope=[("hotel", body.hotel_id)],
    )
    return call.ok({"hotel_id": body.hotel_id, "written": written_days})


@router.delete("/special-event-days", responses=answers(404, 422, data=dict[str, int]))
def remove_special_event_days(
    hotel_id: QueryId,
    day: list[date] = Query(min_length=1, max_length=366, description="A night to remove (repeat it)."),
    call: Call = Depends(pms),
):
    """特別イベント日の削除 — removes days from a hotel's special event days; answers how many there were."""
    removed = call.value(
        "remove_special_event_days", p_hotel_id=hotel_id, p_days=day, scope=[("hotel", hotel_id)]
    )
    return call.ok({"hotel_id": hotel_id, "removed": removed})


@router.get("/rooms/availability", responses=answers(404, 422, data=list[dict[str, Any]]))
def availability(
    hotel_id: QueryId,
    check_in: QueryDay,
    check_out: QueryDay,
    adults: int = Query(2, ge=1, le=20),
    children: int = Query(0, ge=0, le=20),
    rooms: int = Query(1, ge=1, le=10),
    call: Call = Depends(pms),
):
    """空室状況検索 — bookable room types and rate plans with their price, cheapest first. An
    external-PMS hotel answers from the mirror (each row's source and as_of); a stale range is
    refreshed from the PMS first, and while the PMS is down the mirror answers with its age
    (header X-PMS-Degraded)."""

    def search():
        return call.rows(
            "search_availability",
            p_hotel_id=hotel_id,
            p_check_in=check_in,
            p_check_out=check_out,
            p_adults=adults,
            p_children=children,
            p_rooms=rooms,
            scope=[("hotel", hotel_id)],
        )

    rows = search()  # first: the caller's scope and input are checked before the PMS is asked
    if call.hc.pms is not None and call.hc.pms.vendor_of(hotel_id) is not None:
        fresh = call.hc.pms.freshness(hotel_id, check_in, check_out)
        if fresh.refreshed:
            rows = search()
        response = call.ok(rows)
        response.headers["X-Data-Source"] = "mirror"
        if fresh.degraded:
            response.headers["X-PMS-Degraded"] = "true"
        return response
    return call.ok(rows)


@router.get("/rooms/availability/city", responses=answers(404, 422, data=list[dict[str, Any]]))
def city_availability(
    check_in: QueryDay,
    check_out: QueryDay,
    city: text(100) | None = Query(None, description="The city searched (or hotel_id, a chain's list)."),
    hotel_id: list[QueryId] | None = Query(None, max_length=1000, description="Hotels searched (repeat it)."),
    adults: int = Query(2, ge=1, le=20),
    children: int = Query(0, ge=0, le=20),
    rooms: int = Query(1, ge=1, le=10),
    call: Call = Depends(pms),
):
    """多ホテル検索 — per bookable hotel of a city (or of a chain's list), how many offers fit the
    stay and the cheapest one. External-PMS hotels answer from the mirror (source, as_of): their
    stale ranges are refreshed from their PMS concurrently first, within a time budget; a hotel
    whose PMS is down or slower than the budget answers from the mirror with its age (header
    X-PMS-Degraded lists them, X-PMS-Refreshed the hotels refreshed)."""
    params = dict(p_city=city, p_check_in=check_in, p_check_out=check_out, p_hotel_ids=hotel_id)
    headers: dict[str, str] = {}
    if call.hc.pms is not None:
        # the caller's scope and input are checked here; the refresh runs as the connector
        covered = call.rows("pms_city_lookup", **params)
        stale = [r["hotel_id"] for r in covered if not r["fresh"]]
        if stale:
            headers = call.hc.pms.refresh_stale(stale, check_in, check_out).headers()
    rows = call.rows(
        "search_city_availability", **params, p_adults=adults, p_children=children, p_rooms=rooms
    )
    response = call.ok(rows)
    response.headers.update(headers)
    return response


# ----------------------------------------------------------------------------- customers


@router.put("/customers/{customer_id}/basic", responses=answers(404, 409, 422))
def update_customer_basic(customer_id: PathId, body: CustomerBasic, call: Call = Depends(pms)):
    """基本情報のみ更新 — names, phone and address only (the rest belongs to hotel-member). A stale
    ``version`` goes through the conflict rules (409 CONFLICT_NEEDS_REVIEW when kept for review)."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"}, mode="json")
    return customer_written(
        call,
        call.value(
            "update_customer_basic",
            p_customer_id=customer_id,
            p_expected_version=body.version,
            p_changes=Jsonb(changes),
        ),
    )


# ----------------------------------------------------------------------------- conflicts


@router.post("/conflicts/detect", responses=answers(404, 409, 422))
def pms_detect_conflicts(body: ConflictDetect, call: Call = Depends(pms)):
    """競合検知 — claims of a room for a reservation's nights (room_id or room_number), decided by
    booking time; the losing one gets free rooms of the same or similar types, VIP and high-value
    conflicts are escalated. ``entity_type: room``: hotel-pms's writes of one room (status,
    housekeeping_notes, floor) judged by the conflict rules."""
    return detect_conflicts(call, body)


@router.post("/conflicts/{conflict_id}/resolve", responses=answers(404, 409, 422))
def pms_resolve_conflict(conflict_id: PathId, body: ConflictResolve, call: Call = Depends(pms)):
    """競合解決 — resolves a reservation or room conflict: manual (the values chosen, or a room; none
    dismisses), auto_merge, or priority_based (hotel-pms owns reservations and rooms)."""
    return resolve_conflict(call, conflict_id, body)
