"""Seed 001's booking checkout: ``POST /api/booking/checkout``.

The route reads the request, runs the saga (:mod:`pyapi.checkout.saga`) and answers with the envelope. With an
``Idempotency-Key`` header the request is recorded first (``api.begin_idempotent``): a retry
gets the first answer byte for byte, the same key with another body 422 IDEMPOTENCY_MISMATCH.
A retry that arrives while the first request runs waits up to ``idempotency_wait`` seconds for
its answer and replays it; after that it gets 409 IDEMPOTENCY_IN_PROGRESS.

Keys of the member and pms systems may check out (seed 000: both create reservations).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Header
from pydantic import Field
from starlette.responses import Response

from .. import envelope as env
from ..checkout.saga import Order
from ..client import bind
from .common import Body, Day, Id, PathId, answers, text
from .context import Call, caller

router = APIRouter(prefix="/api/booking", tags=["booking"])
booker = caller("booking", ("member", "pms"))


class GuestInfo(Body):
    firstName: text(100, 1)
    lastName: text(100, 1)
    email: text(254) | None = None
    phone: text(40) | None = None


class PaymentInfo(Body):
    cardToken: text(200, 1) = Field(description="The processor's card token, never a card number.")
    amount: Decimal = Field(ge=0, le=Decimal("999999999999.99"), max_digits=14, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class CheckoutRequest(Body):
    vendor: text(50) | None = Field(
        default=None,
        description="Seed 001's PMS vendor: the hotel's (e.g. cloudbeds for an external-PMS hotel), or none.",
    )
    hotelId: Id
    roomTypeId: Id
    ratePlanId: Id | None = Field(default=None, description="None: the cheapest bookable rate plan.")
    checkIn: Day
    checkOut: Day
    guestInfo: GuestInfo
    adults: int = Field(default=2, ge=1, le=20)
    children: int = Field(default=0, ge=0, le=20)
    rooms: int = Field(default=1, ge=1, le=10)
    specialRequests: text(1000) | None = None
    payment: PaymentInfo


_CHECKOUT_ANSWERS = answers(402, 404, 409, 410, 422, 502, success=201)


@router.post("/checkout", status_code=201, responses=_CHECKOUT_ANSWERS)
def checkout(
    body: CheckoutRequest,
    call: Call = Depends(booker),
    idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"
    ),
) -> Response:
    """예약 결제 및 확정 — inventory check, 180 s hold, payment pre-authorisation, confirmation,
    capture; on failure everything done is compensated and the answer names the step
    (INVENTORY_UNAVAILABLE, HOLD_FAILED, PAYMENT_PREAUTH_FAILED, BOOKING_CONFIRM_FAILED,
    PAYMENT_CAPTURE_FAILED, INTERNAL_ERROR)."""
    hc = call.hc
    order = _order(body)
    external = hc.pms.vendor_of(body.hotelId) if hc.pms is not None else None
    if external is not None or body.vendor not in (None, "hotelcore"):
        # a hotel kept by an external PMS books through its connector (seed 001)
        return _external_checkout(call, body, order, external, idempotency_key)
    if idempotency_key is None:
        outcome = hc.saga.run(call.creds, order, request_id=call.rid)
    else:
        outcome = hc.saga.run_idempotent(
            call.creds,
            order,
            request_id=call.rid,
            key=idempotency_key,
            fingerprint=fingerprint(body),
            wait=hc.idempotency_wait,
        )
    if not outcome.replayed:
        hc.metrics.checkout(outcome.status, outcome.body)
    if outcome.replayed:
        return Response(
            outcome.body,
            outcome.status,
            media_type="application/json",
            headers={"X-Request-ID": call.rid, "Idempotent-Replayed": "true"},
        )
    return env.response(
        outcome.body, outcome.status, request_id=call.rid, retry_after_ms=outcome.retry_after_ms
    )


def _external_checkout(
    call: Call, body: CheckoutRequest, order: Order, external, idempotency_key
) -> Response:
    from ..checkout.pms import ExternalCheckout

    if external is None or body.vendor not in (None, external[0]):
        err = call.hc.errors.error(
            "INVALID_ARGUMENT",
            message=f"vendor {body.vendor!r} does not keep hotel {body.hotelId}",
            details={"vendor": body.vendor, "hotel_vendor": external[0] if external else "hotelcore"},
        )
        return call.error(err)
    key_id = None
    if idempotency_key is not None:
        # the same Idempotency-Key records as the native checkout: a retry gets the first answer
        key_id, replayed, stored_status, stored = call.run(
            lambda conn: conn.execute(
                *bind(
                    "begin_idempotent",
                    columns=("idempotency_key_id", "replayed", "response_status", "response_body"),
                    p_key=idempotency_key,
                    p_fingerprint=fingerprint(body),
                )
            ).fetchone()
        )
        if replayed:
            return Response(
                bytes(stored),
                stored_status,
                media_type="application/json",
                headers={"X-Request-ID": call.rid, "Idempotent-Replayed": "true"},
            )
    status, payload, retry_ms = ExternalCheckout(call.hc).run(call.creds, order, request_id=call.rid)
    if key_id is not None:
        call.run(
            lambda conn: conn.execute(
                *bind(
                    "complete_idempotent",
                    p_idempotency_key_id=key_id,
                    p_response_status=status,
                    p_response_body=payload,
                )
            )
        )
    return env.response(payload, status, request_id=call.rid, retry_after_ms=retry_ms)


@router.get("/checkout/{checkout_id}", responses=answers(404))
def get_checkout(checkout_id: PathId, call: Call = Depends(booker)) -> Response:
    """The state of a checkout: its last step, what it holds, and its answer once done."""
    return call.ok(call.value("get_checkout", p_saga_id=checkout_id))


def fingerprint(body: CheckoutRequest) -> bytes:
    """What the Idempotency-Key record keeps of a checkout request, to tell a retry from another request."""
    return hashlib.sha256(
        b"POST /api/booking/checkout\n" + json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    ).digest()


def _order(body: CheckoutRequest) -> Order:
    request: dict[str, Any] = body.model_dump(mode="json")
    request["payment"].pop("cardToken", None)  # the token is used, never stored
    g = body.guestInfo
    return Order(
        hotel_id=body.hotelId,
        room_type_id=body.roomTypeId,
        check_in=body.checkIn,
        check_out=body.checkOut,
        adults=body.adults,
        children=body.children,
        rooms=body.rooms,
        rate_plan_id=body.ratePlanId,
        guest={"given_name": g.firstName, "family_name": g.lastName, "email": g.email, "phone": g.phone},
        card_token=body.payment.cardToken,
        amount=body.payment.amount,
        currency=body.payment.currency,
        special_requests=body.specialRequests,
        request=request,
    )
