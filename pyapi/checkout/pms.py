"""Seed 001's checkout for a hotel whose ledger is an external PMS: inventory check on the mirror
-> hold at the vendor (180 s) -> payment pre-authorisation -> confirmation at the vendor ->
capture, each step recorded (``api.pms_checkout_step``) before the next external call, and on
failure the compensation of what exists: release the hold, void the pre-authorisation, cancel
at the vendor. Seed 001's answers: INVENTORY_UNAVAILABLE, HOLD_FAILED, PAYMENT_PREAUTH_FAILED,
BOOKING_CONFIRM_FAILED, PAYMENT_CAPTURE_FAILED; while the vendor's breaker is open the booking
answers 503 PMS_DEGRADED with ``retry_after`` (degraded mode: searches go on from the mirror).

Vendor calls go through the runtime's :class:`~pyapi.pms.connector.Resilient` (tenacity retries
500 -> 1,000 -> 2,000 ms, pybreaker per vendor and property). The rules (what may be booked, the
quote, the step order, the mirror decrement) are the database's.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .. import envelope as env
from ..client import bind
from ..errors import ApiError
from ..pms.connector import Bound, Guest, Hold, PmsCircuitOpen, PmsError, PmsRefused
from ..pms.service import connector_for
from ..pool import DB_ERRORS
from .gateway import CircuitOpen, GatewayError

log = logging.getLogger("hotelcore.pms.checkout")


class _Fail(Exception):
    def __init__(self, err: ApiError):
        self.err = err


class ExternalCheckout:
    def __init__(self, hc):
        self.hc = hc  # Services: db, errors, gateway, pms
        # test seam: a callable per step ("hold", "preauthorise", "confirm", "capture") run just
        # before it (crash injection: a BaseException there ends the run like a dead process)
        self.hooks: dict[str, Any] = {}

    def _hook(self, step: str) -> None:
        hook = self.hooks.get(step)
        if hook is not None:
            hook()

    def _step(self, creds, checkout_id: int, step: str, detail: dict[str, Any] | None = None) -> dict:
        return self.hc.db.run(
            creds,
            lambda conn: conn.execute(
                *bind(
                    "pms_checkout_step", p_checkout_id=checkout_id, p_step=step, p_detail=Jsonb(detail or {})
                )
            ).fetchone()[0],
        )

    def _error(
        self, code: str, message: str | None = None, retry_after: float | None = None, **details
    ) -> ApiError:
        return self.hc.errors.error(
            code,
            message=message,
            details=details,
            retry_after_ms=None if retry_after is None else max(1000, int(retry_after * 1000)),
        )

    def run(self, creds, order, *, request_id: str) -> tuple[int, bytes, int | None]:
        """(HTTP status, envelope body, retry-after ms) of one checkout."""
        try:
            return self._run(creds, order, request_id)
        except _Fail as stop:
            err = stop.err
            body = env.error_body(
                err.code,
                err.message,
                system="booking",
                request_id=request_id,
                details=err.details,
                retry_after_ms=err.retry_after_ms,
            )
            return err.http_status, body, err.retry_after_ms

    def _run(self, creds, order, request_id: str):
        pms = self.hc.pms
        wait = pms.open_for(order.hotel_id)
        if wait is not None:  # degraded mode: no booking while the vendor's circuit is open
            raise _Fail(self._error("PMS_DEGRADED", retry_after=wait, hotelId=order.hotel_id))

        # 1. inventory check on the mirror, the quote, the checkout row (one transaction)
        def begin(conn: psycopg.Connection):
            row = conn.execute(
                *bind(
                    "pms_checkout_begin",
                    columns=(
                        "checkout_id",
                        "amount",
                        "currency",
                        "room_type_external_id",
                        "rate_plan_external_id",
                        "hold_ttl_seconds",
                    ),
                    p_hotel_id=order.hotel_id,
                    p_room_type_id=order.room_type_id,
                    p_rate_plan_id=order.rate_plan_id,
                    p_check_in=order.check_in,
                    p_check_out=order.check_out,
                    p_rooms=order.rooms,
                    p_adults=order.adults,
                    p_children=order.children,
                    p_amount=order.amount,
                    p_currency=order.currency,
                    p_request=Jsonb({**order.request, "request_id": request_id}),
                )
            ).fetchone()
            return row

        try:
            checkout_id, amount, currency, rt_ext, rp_ext, ttl = self.hc.db.run(creds, begin)
        except DB_ERRORS as exc:
            raise _Fail(self.hc.errors.from_db(exc)) from None
        bound: Bound = self.hc.db.run(
            None, lambda conn: connector_for(conn, order.hotel_id, pms.resilient)[0]
        )
        guest = Guest(
            order.guest["given_name"],
            order.guest["family_name"],
            order.guest.get("email"),
            order.guest.get("phone"),
        )
        reference = f"pms-checkout-{checkout_id}"

        def fail(
            code: str,
            exc: Exception | None,
            *,
            hold: Hold | None = None,
            authorised: bool = False,
            reservation_id: str | None = None,
            retry_after: float | None = None,
        ):
            self._compensate(
                creds,
                bound,
                checkout_id,
                code,
                exc,
                hold=hold,
                authorised=authorised,
                reservation_id=reservation_id,
            )
            raise _Fail(
                self._error(
                    code,
                    retry_after=retry_after,
                    checkoutId=checkout_id,
                    reason=str(exc)[:300] if exc else None,
                )
            )

        # 2. hold at the vendor for the hotel's hold TTL (180 s)
        started = time.monotonic()
        self._hook("hold")
        try:
            hold = bound.call("create_hold", rt_ext, order.rooms, order.check_in, order.check_out, guest, ttl)
        except PmsCircuitOpen as exc:
            fail("PMS_DEGRADED", exc, retry_after=exc.retry_after)
        except PmsRefused as exc:
            fail("INVENTORY_UNAVAILABLE" if "free" in str(exc) else "HOLD_FAILED", exc)
        except PmsError as exc:
            fail("HOLD_FAILED", exc, retry_after=pms.open_for(order.hotel_id))
        self._step(creds, checkout_id, "held", {"hold_ref": hold.id, "rooms": hold.rooms})

        # 3. payment pre-authorisation
        self._hook("preauthorise")
        try:
            auth_ref = self.hc.gateway.preauthorise(
                reference=reference, amount=Decimal(amount), currency=currency, card_token=order.card_token
            )
        except CircuitOpen as exc:
            fail("SERVICE_DEGRADED", exc, hold=hold, retry_after=exc.retry_after)
        except GatewayError as exc:
            fail("PAYMENT_PREAUTH_FAILED", exc, hold=hold, authorised=True)
        self._step(creds, checkout_id, "authorised", {"authorisation_ref": auth_ref})
        if time.monotonic() - started > ttl:  # the hold's 180 s are over: it is not ours any more
            fail("HOLD_EXPIRED", None, hold=hold, authorised=True)

        # 4. confirmation at the vendor; the mirror takes the rooms in the same transaction as the step
        self._hook("confirm")
        try:
            res = bound.call("confirm", hold, guest, rp_ext, reference)
        except PmsError as exc:
            fail(
                "BOOKING_CONFIRM_FAILED",
                exc,
                hold=hold,
                authorised=True,
                retry_after=getattr(exc, "retry_after", None),
            )
        self._step(
            creds, checkout_id, "confirmed", {"vendor_reservation_id": res.id, "reservation": res.document()}
        )

        # 5. capture
        self._hook("capture")
        try:
            capture_ref = self.hc.gateway.capture(
                authorisation_ref=auth_ref, amount=Decimal(amount), currency=currency
            )
        except GatewayError as exc:
            fail("PAYMENT_CAPTURE_FAILED", exc, authorised=True, reservation_id=res.id)
        self._step(creds, checkout_id, "captured", {"capture_ref": capture_ref})
        data = {
            "success": True,
            "bookingId": f"{pms.vendor_of(order.hotel_id)[0]}-{res.id}",
            "confirmationNumber": res.id,
            "checkoutId": checkout_id,
            "vendor": pms.vendor_of(order.hotel_id)[0],
            "status": res.status,
            "amount": amount,
            "currency": currency,
        }
        return 201, env.success_body(data, system="booking", request_id=request_id), None

    def _compensate(
        self,
        creds,
        bound: Bound,
        checkout_id: int,
        code: str,
        exc: Exception | None,
        *,
        hold: Hold | None = None,
        authorised: bool = False,
        reservation_id: str | None = None,
    ) -> None:
        """Undoes what exists, newest first, each undo recorded, then records the failure."""
        reference = f"pms-checkout-{checkout_id}"
        if reservation_id is not None:
            try:
                bound.call("cancel", reservation_id)
                res = bound.call("reservation", reservation_id)
                self._step(creds, checkout_id, "cancelled_at_vendor", {"reservation": res.document()})
            except PmsError as cexc:
                log.error("checkout %s: cancel at the vendor failed: %s", checkout_id, cexc)
        if authorised:
            try:
                self.hc.gateway.void(reference=reference)
                self._step(creds, checkout_id, "authorisation_voided")
            except GatewayError as vexc:
                log.error("checkout %s: void failed: %s", checkout_id, vexc)
        if hold is not None:
            try:
                bound.call("release_hold", hold)
                self._step(creds, checkout_id, "hold_released", {"hold_ref": hold.id})
            except PmsError as rexc:  # the vendor's own expiry (1 h) frees it
                log.error("checkout %s: hold release failed: %s", checkout_id, rexc)
        self._step(
            creds, checkout_id, "failed", {"error_code": code, "reason": str(exc)[:300] if exc else None}
        )

    def recover(self, stale_after: float = 180.0) -> list[tuple[int, str]]:
        """Finishes or compensates checkouts a crash left running (nothing moved them for
        ``stale_after`` seconds, longer than a hold): a booking confirmed at the vendor is
        captured (the capture is idempotent per authorisation); anything earlier is released and
        voided (a void by reference is idempotent, so an authorisation the crash kept from being
        recorded is voided too). A hold block never recorded expires at the vendor by itself."""
        rows = self.hc.db.run(
            None,
            lambda conn: conn.execute(
                *bind(
                    "pms_stalled_checkouts",
                    columns=(
                        "checkout_id",
                        "hotel_id",
                        "step",
                        "hold_ref",
                        "authorisation_ref",
                        "vendor_reservation_id",
                        "amount",
                        "currency",
                        "room_type_external_id",
                        "check_in",
                        "check_out",
                    ),
                    p_stale_after=dt.timedelta(seconds=stale_after),
                )
            ).fetchall(),
        )
        done = []
        for cid, hotel_id, step, hold_ref, auth_ref, res_id, amount, currency, rt_ext, ci, co in rows:
            self.hc.pms.vendor_of(hotel_id)
            bound = self.hc.db.run(
                None, lambda conn, h=hotel_id: connector_for(conn, h, self.hc.pms.resilient)[0]
            )
            if step == "confirmed":
                try:
                    ref = self.hc.gateway.capture(
                        authorisation_ref=auth_ref, amount=Decimal(amount), currency=currency
                    )
                    self._step(None, cid, "captured", {"capture_ref": ref})
                    done.append((cid, "captured"))
                    continue
                except GatewayError as exc:
                    self._compensate(
                        None,
                        bound,
                        cid,
                        "PAYMENT_CAPTURE_FAILED",
                        exc,
                        authorised=True,
                        reservation_id=res_id,
                    )
                    done.append((cid, "PAYMENT_CAPTURE_FAILED"))
                    continue
            hold = Hold(hold_ref, rt_ext, [], ci, co) if hold_ref else None
            self._compensate(None, bound, cid, "HOLD_EXPIRED", None, hold=hold, authorised=step != "started")
            done.append((cid, "HOLD_EXPIRED"))
        return done
