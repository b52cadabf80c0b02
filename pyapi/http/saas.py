"""hotel-saas (seed 000): service orders, the concierge, feedback.

Base path ``/api/v2/saas``; only keys of the saas system may call these routes. Each route reads
its input, calls one ``api`` function (db/functions/services.sql) and wraps the answer in the
envelope: the rules (in-house stays only, the order status machine, folio postings, stock,
availability hours, idempotency per client order key) are the database's. Ids of another hotel
than the key's answer 404, exactly like ids that do not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from ..client import APP_USER
from .common import Body, Id, PathId, QueryId, answers, text
from .context import Call, caller

router = APIRouter(prefix="/api/v2/saas", tags=["hotel-saas"])
saas = caller("saas", ("saas",))

Category = Literal[
    "room_service", "minibar", "spa", "laundry", "activity", "transport", "dining", "concierge", "other"
]
RequestType = Literal[
    "restaurant_booking",
    "taxi",
    "airport_transfer",
    "wake_up_call",
    "luggage",
    "tour",
    "tickets",
    "housekeeping",
    "amenity",
    "other",
]
Aspect = Literal[
    "overall", "food", "service", "timeliness", "cleanliness", "comfort", "staff", "facilities", "value"
]
Money = float | int


def created_or_replayed(*statuses: int, data) -> dict:
    """A POST that answers 201 when it created something and 200 when it found it (same key, same subject)."""
    out = answers(*statuses, data=data, success=201)
    out[200] = {**out[201], "description": "Found: the same request was answered before (seed 000 envelope)."}
    return out


# ----------------------------------------------------------------------------- request bodies


class OrderItem(Body):
    service_item_id: Id = Field(description="A catalog item of the stay's hotel (GET /concierge/services).")
    quantity: int = Field(default=1, ge=1, le=100)


class OrderCreate(Body):
    reservation_id: Id = Field(description="The guest's stay; it must be checked in and not checked out.")
    client_order_key: text(200, 1) = Field(
        description="The client's key for this order: sending it again answers the same order (idempotent)."
    )
    items: list[OrderItem] = Field(min_length=1, max_length=50)
    notes: text(1000) | None = None


class OrderStatusChange(Body):
    status: Literal["accepted", "delivered", "cancelled"] = Field(
        description="ordered -> accepted -> delivered (charges the folio), or cancelled (a delivered order's charges are reversed)."
    )
    reason: text(500) | None = None


class ConciergeRequestCreate(Body):
    reservation_id: Id
    request_type: RequestType
    requested_for: dt.datetime | None = Field(
        default=None, description="When the guest wants it (ISO 8601 with offset), during the stay."
    )
    details: text(2000) | None = None


class FeedbackCreate(Body):
    reservation_id: Id = Field(description="The stay the feedback is about (checked in or out).")
    order_id: Id | None = Field(
        default=None, description="A delivered order of that stay, when the feedback is about it."
    )
    scores: dict[Aspect, Annotated[int, Field(ge=1, le=5)]] = Field(
        min_length=1, description="Score 1 to 5 per aspect."
    )
    comment: text(5000) | None = None


# ----------------------------------------------------------------------------- answers


class OrderLine(BaseModel):
    id: int
    service_item_id: int
    category: Category
    name: str
    quantity: int
    unit_price: Money
    net_amount: Money
    tax_amount: Money
    amount: Money


class Order(BaseModel):
    id: int
    hotel_id: int
    reservation_id: int
    customer_id: int
    room_id: int | None
    room_number: str | None
    status: Literal["ordered", "accepted", "delivered", "cancelled"]
    client_order_key: str
    currency: str
    net_amount: Money
    tax_amount: Money
    total_amount: Money
    charged_amount: Money = Field(description="What the order has on the folio now: charges less reversals.")
    notes: str | None
    ordered_at: str
    accepted_at: str | None
    delivered_at: str | None
    cancelled_at: str | None
    cancel_reason: str | None
    reversed: bool = Field(description="A delivered order cancelled: its charges were credited back.")
    lines: list[OrderLine]
    replayed: bool | None = Field(
        default=None, description="On POST: true when the client order key answered an existing order."
    )


class ServiceItem(BaseModel):
    id: int
    hotel_id: int
    category: Category
    code: str
    name: str
    description: str | None
    price: Money
    currency: str
    price_includes_tax: bool
    tax_rate: Money
    available_from: str | None = Field(description="Local time in the hotel's time zone; null: all day.")
    available_until: str | None
    time_zone: str
    available_now: bool
    stock: int | None
    active: bool


class ConciergeRequest(BaseModel):
    id: int
    hotel_id: int
    reservation_id: int
    customer_id: int
    room_id: int | None
    room_number: str | None
    request_type: RequestType
    requested_for: str | None
    details: str | None
    status: Literal["open", "in_progress", "done", "cancelled"]
    staff_notes: str | None
    handled_by: str | None
    created_at: str
    updated_at: str


class Feedback(BaseModel):
    id: int
    created: bool
    hotel_id: int
    customer_id: int
    reservation_id: int
    order_id: int | None
    comment: str | None
    scores: dict[str, int]


class AspectSummary(BaseModel):
    aspect: str
    average: Money
    count: int
    feedback_average: Money | None
    review_average: Money | None


class HotelSummary(BaseModel):
    hotel_id: int
    count: int
    average: Money


class Comment(BaseModel):
    source: Literal["feedback", "review"]
    hotel_id: int
    reservation_id: int
    order_id: int | None
    at: str
    comment: str


class FeedbackSummary(BaseModel):
    customer_id: int
    feedback_count: int
    order_feedback_count: int
    review_count: int = Field(description="Stay reviews of the loyalty domain.")
    overall_average: Money | None
    aspects: list[AspectSummary]
    hotels: list[HotelSummary]
    recent_comments: list[Comment]


# ----------------------------------------------------------------------------- orders


@router.post("/orders", status_code=201, responses=created_or_replayed(404, 409, 422, data=Order))
def create_order(body: OrderCreate, call: Call = Depends(saas)):
    """新規注文 — an order of an in-house stay; the same ``client_order_key`` answers the same order."""
    items = [i.model_dump() for i in body.items]
    doc = call.value(
        "create_order",
        p_reservation_id=body.reservation_id,
        p_client_key=body.client_order_key,
        p_items=Jsonb(items),
        p_notes=body.notes,
        p_app_user=APP_USER,
        scope=[("reservation", body.reservation_id)],
    )
    return call.ok(doc, 200 if doc.get("replayed") else 201)


@router.get("/orders/customer/{customer_id}", responses=answers(404, data=list[Order]))
def customer_orders(
    customer_id: PathId,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
    call: Call = Depends(saas),
):
    """顧客注文履歴 — the customer's orders in the key's hotels, newest first."""
    return call.ok(
        call.value("list_customer_orders", p_customer_id=customer_id, p_limit=limit, p_offset=offset)
    )


@router.put("/orders/{order_id}/status", responses=answers(404, 409, data=Order))
def order_status(order_id: PathId, body: OrderStatusChange, call: Call = Depends(saas)):
    """注文状況更新 — accept, deliver (posts the charges to the folio) or cancel an order."""
    return call.ok(
        call.value(
            "set_order_status",
            p_order_id=order_id,
            p_status=body.status,
            p_reason=body.reason,
            p_app_user=APP_USER,
        )
    )


# ----------------------------------------------------------------------------- concierge


@router.post(
    "/concierge/requests", status_code=201, responses=answers(404, 409, data=ConciergeRequest, success=201)
)
def concierge_request(body: ConciergeRequestCreate, call: Call = Depends(saas)):
    """コンシェルジュ依頼 — a guest's request for a confirmed or in-house stay."""
    return call.ok(
        call.value(
            "create_concierge_request",
            p_reservation_id=body.reservation_id,
            p_request_type=body.request_type,
            p_requested_for=body.requested_for,
            p_details=body.details,
            p_app_user=APP_USER,
            scope=[("reservation", body.reservation_id)],
        ),
        201,
    )


@router.get("/concierge/services", responses=answers(404, data=list[ServiceItem]))
def concierge_services(hotel_id: QueryId, category: Category | None = None, call: Call = Depends(saas)):
    """提供サービス一覧 — the hotel's services: price, tax treatment, hours and whether each can be ordered now."""
    return call.ok(
        call.value(
            "list_service_items", p_hotel_id=hotel_id, p_category=category, scope=[("hotel", hotel_id)]
        )
    )


# ----------------------------------------------------------------------------- feedback


@router.post("/feedback", status_code=201, responses=created_or_replayed(404, 409, data=Feedback))
def feedback(body: FeedbackCreate, call: Call = Depends(saas)):
    """満足度・レビュー投稿 — scores per aspect and a comment on a delivered order or a stay; sent again, it updates."""
    doc = call.value(
        "submit_feedback",
        p_reservation_id=body.reservation_id,
        p_scores=Jsonb(dict(body.scores)),
        p_comment=body.comment,
        p_order_id=body.order_id,
        scope=[("reservation", body.reservation_id)],
    )
    return call.ok(doc, 201 if doc.get("created") else 200)


@router.get("/feedback/summary/{customer_id}", responses=answers(404, data=FeedbackSummary))
def feedback_summary(customer_id: PathId, call: Call = Depends(saas)):
    """顧客フィードバック集計 — the customer's service feedback and stay reviews, per aspect and hotel."""
    return call.ok(call.value("feedback_summary", p_customer_id=customer_id))
