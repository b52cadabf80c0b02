"""Floor endpoints for the benchmark only, through the same stack as every route (the Guard
middleware, FastAPI's dependency and validation, the pool, ``api.authenticate``, the envelope):

* ``POST /bench/floor`` authenticates the API key and inserts one row in one transaction: the
  least a write request of this API costs;
* ``POST /bench/checkout-floor`` takes a checkout's request and does what a checkout must do with
  no rule: the saga's three transactions on the request's one pooled connection, the simulated
  gateway called between them as the saga calls it, each transaction's rows written by plain SQL
  on copies of the tables with the same indexes and nothing else (no trigger, foreign key, check,
  row-level security or function), in one round trip where the saga's transaction is one call.

They are not part of the API (they live with the bench): :func:`~pyapi.http.app.create_app` never
mounts them; ``hotelcore bench`` mounts them on the API process it starts, in a database of its
own with the scratch table ``bench_http_floor`` and the copies of :func:`checkout_floor_setup`.
"""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Header, HTTPException
from psycopg import sql
from psycopg.types.json import Jsonb
from starlette.responses import Response

from pyapi import envelope as env
from pyapi.checkout.saga import as_service
from pyapi.http.booking import CheckoutRequest, fingerprint
from pyapi.http.context import Call, caller

from .baselines import CONFIRM_FLOOR_SCHEMA, CONFIRM_FLOOR_SQL, confirm_floor_params, confirm_floor_setup
from .dataset import BookingRequest

router = APIRouter(prefix="/bench", include_in_schema=False)
floor_caller = caller("booking", ("member", "pms"))


@router.post("/floor", status_code=201)
def floor(call: Call = Depends(floor_caller)) -> Response:
    """One authenticated insert and commit: the least a write request of this API costs."""
    inserted = call.run(
        lambda conn: conn.execute(
            "insert into public.bench_http_floor (at) values (now()) returning 1"
        ).fetchone()[0]
    )
    return call.ok(inserted, 201)


# ============================================================================ a checkout's floor

# the tables a checkout writes besides a confirmation's (whose copies the confirm floor makes)
CHECKOUT_FLOOR_TABLES = ("idempotency_keys", "checkout_sagas", "hold_lines")
# the bench's API key: the value costs what the request's own key id would
BENCH_KEY_ID = 1


def checkout_floor_setup(conn: psycopg.Connection) -> None:
    """The confirm floor's copies (no hold rows: the checkouts write theirs) and the copies of
    :data:`CHECKOUT_FLOOR_TABLES`, writable by the API's request roles."""
    confirm_floor_setup(conn, holds=0)
    schema = sql.Identifier(CONFIRM_FLOOR_SCHEMA)
    for table in CHECKOUT_FLOOR_TABLES:
        conn.execute(
            sql.SQL("create table {} (like {} including identity including indexes)").format(
                sql.Identifier(CONFIRM_FLOOR_SCHEMA, table), sql.Identifier("core", table)
            )
        )
    conn.execute(
        sql.SQL(
            """grant usage on schema {s} to public;
               grant select, insert, update on all tables in schema {s} to public;
               grant usage, select on all sequences in schema {s} to public"""
        ).format(s=schema)
    )


# 1. as api.checkout_start (one call): the idempotency record, the hold (its row, its line, the
# night counters) and the saga row at step held
_START = sql.SQL(
    """with record as (
           insert into {s}.idempotency_keys (api_key_id, key, fingerprint, status, created_at)
           values (%(key_id)s, %(key)s, %(fingerprint)s, 'in_progress', now())
           returning id),
       hold as (
           insert into {s}.holds (hotel_id, client_key, status, currency, total_amount, quote, created_at, expires_at,
                                  owner, subtotal_per_room, los_discount_per_room, member_discount_per_room,
                                  tax_per_room)
           values (%(hotel_id)s, 'checkout-' || %(key)s, 'active', %(currency)s, %(amount)s, '{{}}', now(),
                   now() + interval '180 seconds', 'key:' || %(key_id)s, %(amount)s, 0, 0, 0)
           returning id),
       line as (
           insert into {s}.hold_lines (hold_id, hotel_id, room_type_id, rate_plan_id, stay, adults, children, amount,
                                       nightly)
           select h.id, %(hotel_id)s, %(room_type_id)s, %(rate_plan_id)s, daterange(%(check_in)s, %(check_out)s),
                  %(adults)s, %(children)s, %(amount)s, %(nightly)s
           from hold h),
       nights as (
           update {s}.inventory i set held = i.held + 1
           where i.hotel_id = %(hotel_id)s and i.room_type_id = %(room_type_id)s
             and i.night >= %(check_in)s and i.night < %(check_out)s),
       saga as (
           insert into {s}.checkout_sagas (hotel_id, api_key_id, idempotency_key_id, room_type_id, rate_plan_id, stay,
                                           rooms, adults, children, origin, request, currency, amount, step, status,
                                           attempt, hold_id, customer_id, hold_released, authorisation_voided,
                                           booking_cancelled, created_at, updated_at, owner)
           select %(hotel_id)s, %(key_id)s, r.id, %(room_type_id)s, %(rate_plan_id)s,
                  daterange(%(check_in)s, %(check_out)s), 1, %(adults)s, %(children)s, 'member', %(request)s,
                  %(currency)s, %(amount)s, 'held', 'running', 1, h.id, r.id, false, false, false, now(), now(),
                  'key:' || %(key_id)s
           from record r, hold h
           returning id, idempotency_key_id, hold_id)
       select id, idempotency_key_id, hold_id from saga"""
).format(s=sql.Identifier(CONFIRM_FLOOR_SCHEMA))

# 2. with the confirmation's rows (CONFIRM_FLOOR_SQL), as api.checkout_confirm_authorised: the saga
# at step confirmed with its authorisation and booking (the reservation the statement before wrote)
_CONFIRMED = sql.SQL(
    """update {s}.checkout_sagas s
       set step = 'confirmed', authorisation_ref = %(authorisation)s, updated_at = now(),
           reservation_id = currval(pg_get_serial_sequence('{s}.reservations', 'id'))
       where s.hotel_id = %(hotel_id)s and s.id = %(saga_id)s"""
).format(s=sql.Identifier(CONFIRM_FLOOR_SCHEMA))

# 3. as api.checkout_captured: the saga succeeded, and its answer (internal.checkout_result's fields)
_CAPTURED = sql.SQL(
    """update {s}.checkout_sagas s
       set step = 'captured', status = 'succeeded', capture_ref = %(capture)s, updated_at = now()
       from {s}.reservations r
       where s.hotel_id = %(hotel_id)s and s.id = %(saga_id)s and r.hotel_id = s.hotel_id and r.id = s.reservation_id
       returning jsonb_build_object(
           'bookingId', s.reservation_id, 'confirmationNumber', r.confirmation_code, 'reservationId', s.reservation_id,
           'checkoutId', s.id, 'status', r.status, 'hotelId', s.hotel_id, 'roomTypeId', s.room_type_id,
           'ratePlanId', s.rate_plan_id, 'checkIn', lower(s.stay), 'checkOut', upper(s.stay), 'rooms', s.rooms,
           'customerId', s.customer_id, 'amount', s.amount, 'currency', s.currency,
           'paymentAuthorisation', s.authorisation_ref, 'paymentCapture', s.capture_ref)"""
).format(s=sql.Identifier(CONFIRM_FLOOR_SCHEMA))

# 3. with it, as api.complete_idempotent: the answer stored for replay
_STORED = sql.SQL(
    """update {s}.idempotency_keys k
       set status = 'completed', response_status = 201, response_body = %(body)s, completed_at = now()
       where k.id = %(record)s"""
).format(s=sql.Identifier(CONFIRM_FLOOR_SCHEMA))


@router.post("/checkout-floor", status_code=201)
def checkout_floor(
    body: CheckoutRequest,
    call: Call = Depends(floor_caller),
    idempotency_key: str = Header(
        alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"
    ),
) -> Response:
    """A checkout with no rule: what the machine allows for a checkout's unavoidable work."""
    if body.ratePlanId is None:
        raise HTTPException(422, "the checkout floor books a named rate plan")
    hc, creds = call.hc, as_service(call.creds)
    request: dict[str, Any] = body.model_dump(mode="json")
    request["payment"].pop("cardToken", None)
    start = {
        "key_id": BENCH_KEY_ID,
        "key": idempotency_key,
        "fingerprint": fingerprint(body),
        "hotel_id": body.hotelId,
        "room_type_id": body.roomTypeId,
        "rate_plan_id": body.ratePlanId,
        "check_in": body.checkIn,
        "check_out": body.checkOut,
        "adults": body.adults,
        "children": body.children,
        "amount": body.payment.amount,
        "currency": body.payment.currency,
        "nightly": [body.payment.amount] * (body.checkOut - body.checkIn).days,
        "request": Jsonb(request),
    }
    amount, currency = body.payment.amount, body.payment.currency
    with hc.db.pinned():  # the request's transactions on one pooled connection, as the saga's
        saga_id, record, hold_id = hc.db.run(creds, lambda conn: conn.execute(_START, start).fetchone())
        auth_ref = hc.gateway.preauthorise(
            reference=f"checkout-{saga_id}",
            amount=amount,
            currency=currency,
            card_token=body.payment.cardToken,
        )
        # the idempotency record's id stands for the booker (a new guest per checkout in the bench)
        req = BookingRequest(
            body.hotelId, body.roomTypeId, body.ratePlanId, record, body.checkIn, body.checkOut, body.adults
        )

        def confirm(conn: psycopg.Connection) -> None:
            with conn.pipeline():  # two statements, one round trip
                conn.execute(CONFIRM_FLOOR_SQL, confirm_floor_params(req, body.hotelId, hold_id, auth_ref))
                conn.execute(
                    _CONFIRMED, {"authorisation": auth_ref, "hotel_id": body.hotelId, "saga_id": saga_id}
                )

        hc.db.run(creds, confirm)
        capture_ref = hc.gateway.capture(authorisation_ref=auth_ref, amount=amount, currency=currency)

        def captured(conn: psycopg.Connection) -> bytes:
            result = conn.execute(
                _CAPTURED,
                {"capture": capture_ref, "hotel_id": body.hotelId, "saga_id": saga_id},
            ).fetchone()[0]
            answer = env.success_body(result, system="booking", request_id=call.rid)
            conn.execute(_STORED, {"body": answer, "record": record})
            return answer

        answer = hc.db.run(creds, captured)
    return env.response(answer, 201, request_id=call.rid)
