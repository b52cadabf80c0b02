"""A booking without payment, as hotel-member and hotel-pms take it: the request body and the
call of api.book_reservation with the calling system as the booking's origin.
"""

from __future__ import annotations

from pydantic import Field

from .common import Body, Day, Id, text
from .context import Call


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
