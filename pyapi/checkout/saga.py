"""Seed 001's booking checkout as a saga: check inventory -> hold 180 s -> payment
pre-authorisation -> confirm -> capture, compensating on failure (release the hold, void the
pre-authorisation, cancel the booking) and answering with seed 001's codes.

Each step that touches the ledger is one ``api.checkout_*`` function, which does the ledger work
and records the step in ``core.checkout_sagas`` in the same transaction. The steps between two
gateway calls share one transaction (three in all: idempotency record + inventory check + hold;
authorisation + confirmation; capture + stored answer), each committed before the next gateway
call or the answer. So after a crash the saga row says exactly what exists, and
:meth:`CheckoutSaga.recover` finishes it (a confirmed booking is captured) or compensates it
(anything earlier). A saga taken over by recovery refuses further steps from its first runner
(CHECKOUT_TAKEN_OVER), so the two never both act.

Which failure answers which code is protocol, decided here; every rule about what may be booked,
held, confirmed or cancelled is in the ``api`` functions. This module knows no route.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .. import envelope as env
from ..client import bind, is_retryable
from ..errors import ApiError, ErrorMap, HotelcoreError, Registry
from ..pool import DB_ERRORS, Credentials, Database
from .gateway import CircuitOpen, GatewayError, ResilientGateway

log = logging.getLogger("hotelcore.checkout")


@dataclass
class Order:
    """A checkout request, as the saga needs it."""

    hotel_id: int
    room_type_id: int
    check_in: date
    check_out: date
    adults: int
    children: int
    rooms: int
    rate_plan_id: int | None
    guest: dict[str, Any]
    card_token: str
    amount: Decimal
    currency: str
    special_requests: str | None = None
    request: dict[str, Any] = field(default_factory=dict)  # as received, without the card token


@dataclass
class Outcome:
    """The checkout's answer: HTTP status and envelope body. ``final`` answers are stored for
    idempotent replay; a non-final one (taken over, or left for recovery) is not."""

    status: int
    body: bytes
    final: bool = True
    retry_after_ms: int | None = None
    replayed: bool = False  # the stored answer of an earlier request with the same Idempotency-Key
    stored: bool = False  # already stored in the idempotency record
    key_id: int | None = None  # the idempotency record


@dataclass
class SagaRef:
    id: int
    attempt: int
    amount: Decimal
    currency: str
    preauth_tried: bool = False
    key_id: int | None = None  # the idempotency record, when the request has one

    @property
    def reference(self) -> str:
        return f"checkout-{self.id}"


class _Stop(Exception):
    """Ends a run with an answer (after compensation, or when the saga is no longer ours)."""

    def __init__(self, err: ApiError, final: bool = True):
        self.err = err
        self.final = final


class CheckoutSaga:
    def __init__(self, db: Database, gateway: ResilientGateway, errors: ErrorMap):
        self.db = db
        self.gateway = gateway
        self.errors = errors
        # test seam: a callable per step name ("hold", "preauthorise", "authorised", "confirm",
        # "capture", "captured"), run with the saga just before that step (crash and race injection)
        self.hooks: dict[str, Callable[[SagaRef], None]] = {}

    def _hook(self, step: str, saga: SagaRef) -> None:
        hook = self.hooks.get(step)
        if hook is not None:
            hook(saga)

    def _row(self, creds: Credentials | None, query: bytes, params: dict) -> tuple:
        """The first row of one api call in its own transaction."""
        return self.db.run(creds, lambda conn: conn.execute(query, params).fetchone())

    # ------------------------------------------------------------------ the happy path
    #
    # Three transactions, each ending before something the database cannot undo: the start
    # (idempotency record, inventory check and saga row, hold) before the pre-authorisation; the
    # authorisation and the confirmation before the capture; the capture with the stored answer
    # before the answer leaves. So a crash anywhere leaves a saga row that says what exists, and
    # only three commits wait for the disk.

    def run(
        self,
        creds: Credentials | None,
        order: Order,
        *,
        request_id: str,
        idempotency_key_id: int | None = None,
    ) -> Outcome:
        """The checkout; with ``idempotency_key_id`` (a record :meth:`run_idempotent` or the
        caller started) its final answer is stored with the last step."""
        creds = as_service(creds)
        state: dict[str, Any] = {"key_id": idempotency_key_id}
        with self.db.pinned():  # the request's transactions on one pooled connection
            return self._store(creds, self._outcome(creds, order, request_id, state))

    def run_idempotent(
        self,
        creds: Credentials | None,
        order: Order,
        *,
        request_id: str,
        key: str,
        fingerprint: bytes,
        wait: float = 10.0,
    ) -> Outcome:
        """:meth:`run` under an Idempotency-Key: the request is recorded (``api.begin_idempotent``)
        in the saga's first transaction and its final answer stored (``api.complete_idempotent``)
        in its last; a retry gets the stored answer (``replayed``), the same key with another
        request IDEMPOTENCY_MISMATCH. A retry arriving while the first request runs waits up to
        ``wait`` seconds for its answer, then gets IDEMPOTENCY_IN_PROGRESS (raised, as the
        database's refusals are)."""
        creds = as_service(creds)
        deadline = time.monotonic() + wait
        pause = 0.01
        while True:
            try:
                state: dict[str, Any] = {"key_id": None, "idempotency": (key, fingerprint)}
                with self.db.pinned():  # the request's transactions on one pooled connection
                    outcome = self._outcome(creds, order, request_id, state)
                break
            except DB_ERRORS as exc:
                if (
                    self.errors.registry.is_error(exc, "IDEMPOTENCY_IN_PROGRESS")
                    and time.monotonic() + pause < deadline
                ):
                    time.sleep(pause)
                    pause = min(pause * 1.5, 0.2)
                    continue
                raise
        return self._store(creds, outcome)

    def _store(self, creds: Credentials | None, outcome: Outcome) -> Outcome:
        """A final answer not stored yet goes to its idempotency record (failures end here)."""
        if outcome.final and not outcome.stored and outcome.key_id is not None:
            self._row(creds, *_complete_idempotent(outcome.key_id, outcome.status, outcome.body))
            outcome.stored = True
        return outcome

    def _outcome(self, creds, order: Order, request_id: str, state: dict[str, Any]) -> Outcome:
        try:
            return self._run(creds, order, request_id, state)
        except _Stop as stop:
            outcome = self._stopped(stop, request_id)
            outcome.key_id = state["key_id"]  # the record the answer goes to (None: not recorded)
            return outcome

    def _stopped(self, stop: _Stop, request_id: str) -> Outcome:
        body = env.error_body(
            stop.err.code,
            stop.err.message,
            system="booking",
            request_id=request_id,
            details=stop.err.details,
            retry_after_ms=stop.err.retry_after_ms,
        )
        return Outcome(stop.err.http_status, body, stop.final, stop.err.retry_after_ms)

    def _start(
        self,
        order: Order,
        request_id: str,
        key: str | None,
        fingerprint: bytes | None,
        key_id: int | None,
        *,
        hold: bool,
    ):
        """The call of api.checkout_start for ``order``: with ``key`` the idempotency record is
        started in it; ``key_id`` names one started before."""
        return bind(
            "checkout_start",
            p_idempotency_key=key,
            p_fingerprint=fingerprint,
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
            p_request=Jsonb(
                {
                    **order.request,
                    "request_id": request_id,
                    "guest": order.guest,
                    "special_requests": order.special_requests,
                }
            ),
            p_idempotency_key_id=key_id,
            p_hold=hold,
        )

    def _run(
        self,
        creds,
        order: Order,
        request_id: str,
        state: dict[str, Any],
    ) -> Outcome:
        """``state``: ``key_id`` (the idempotency record, set once it exists) and, to start the
        record here, ``idempotency`` (key, fingerprint)."""
        idempotency = state.get("idempotency")

        # 1. in one transaction, one call (api.checkout_start): the idempotency record, the
        # inventory check (every night sellable, the amount is the quote) -> the saga row, and the
        # 180 s hold. A hook between the check and the hold (a test seam) splits the call in two.
        split = "hold" in self.hooks

        def start(conn: psycopg.Connection):
            key, fingerprint = idempotency if idempotency is not None else (None, None)
            query, params = self._start(order, request_id, key, fingerprint, state["key_id"], hold=not split)
            row = conn.execute(query, params).fetchone()
            key_id, replayed, status, stored, saga_id, attempt, amount, currency, held, step = row[:10]
            if replayed:
                return Outcome(status, bytes(stored), replayed=True, stored=True, key_id=key_id)
            refusal = None if step is None else Refused(self.errors.registry, *row[10:])
            if step == "begin":
                # nothing was written but the record: its answer is this refusal
                outcome = self._stopped(_Stop(self.errors.from_db(refusal)), request_id)
                conn.execute(*_complete_idempotent(key_id, outcome.status, outcome.body))
                outcome.key_id, outcome.stored = key_id, True
                return outcome
            saga = SagaRef(saga_id, attempt, Decimal(amount), currency, key_id=key_id)
            if held or refusal is not None:
                return (
                    saga,
                    refusal,
                )  # a refused hold: the saga row stays (inventory checked); compensated below
            # 2. hold 180 s
            self._hook("hold", saga)
            try:
                with conn.transaction():
                    conn.execute(*bind("checkout_hold", p_saga_id=saga.id, p_attempt=saga.attempt)).fetchone()
            except psycopg.Error as exc:
                if is_retryable(exc):
                    raise
                return saga, exc
            return saga, None

        try:
            started = self.db.run(creds, start)
        except DB_ERRORS as exc:
            if idempotency is not None and self.errors.registry.is_error(exc, *_IDEMPOTENCY_REFUSALS):
                raise  # mismatch, or the first request still runs: not an answer of this checkout
            raise _Stop(self.errors.from_db(exc)) from None  # nothing was written
        if isinstance(started, Outcome):
            return started
        saga, hold_error = started
        state["key_id"] = saga.key_id
        if hold_error is not None:
            code = (
                "INVENTORY_UNAVAILABLE"
                if self.errors.registry.is_error(hold_error, "INVENTORY_UNAVAILABLE")
                else "HOLD_FAILED"
            )
            self._fail(creds, saga, code, hold_error)

        # 3. payment pre-authorisation
        self._hook("preauthorise", saga)
        saga.preauth_tried = True
        try:
            auth_ref = self.gateway.preauthorise(
                reference=saga.reference,
                amount=saga.amount,
                currency=saga.currency,
                card_token=order.card_token,
            )
        except CircuitOpen as exc:
            self._fail(
                creds, saga, "SERVICE_DEGRADED", exc, retry_after_ms=int(exc.retry_after * 1000) or 1000
            )
        except GatewayError as exc:
            self._fail(creds, saga, "PAYMENT_PREAUTH_FAILED", exc)

        # 3-4. in one transaction, one call (api.checkout_confirm_authorised): the authorisation
        # recorded, the hold confirmed into a booking
        self._hook("authorised", saga)
        self._hook("confirm", saga)

        def confirm(conn: psycopg.Connection) -> None:
            conn.execute(
                *bind(
                    "checkout_confirm_authorised",
                    p_saga_id=saga.id,
                    p_attempt=saga.attempt,
                    p_authorisation_ref=auth_ref,
                )
            ).fetchone()

        try:
            self.db.run(creds, confirm)
        except DB_ERRORS as exc:
            # the refusal's error context names the step that refused
            failed = (
                "BOOKING_CONFIRM_FAILED"
                if _raised_in(exc, "internal.checkout_confirm(")
                else "PAYMENT_PREAUTH_FAILED"
            )
            self._fail(creds, saga, failed, exc)

        # 5. capture
        self._hook("capture", saga)
        try:
            capture_ref = self.gateway.capture(
                authorisation_ref=auth_ref, amount=saga.amount, currency=saga.currency
            )
        except GatewayError as exc:
            self._fail(creds, saga, "PAYMENT_CAPTURE_FAILED", exc)
        self._hook("captured", saga)

        # in one transaction: the capture recorded and the answer stored for replay
        def captured(conn: psycopg.Connection) -> bytes:
            result = conn.execute(
                *bind(
                    "checkout_captured", p_saga_id=saga.id, p_attempt=saga.attempt, p_capture_ref=capture_ref
                )
            ).fetchone()[0]
            body = env.success_body(result, system="booking", request_id=request_id)
            if saga.key_id is not None:
                conn.execute(*_complete_idempotent(saga.key_id, 201, body))
            return body

        try:
            body = self.db.run(creds, captured)
        except DB_ERRORS as exc:
            self._taken_over(exc)
            # captured at the gateway but not recorded: recovery records it (capture is
            # idempotent); the stored answer comes from recovery, so this one is not final
            log.error("checkout %s captured but not recorded: %s", saga.id, exc)
            raise _Stop(
                self.errors.error(
                    "SERVICE_DEGRADED",
                    message="The booking is being finished; retry with the same Idempotency-Key.",
                    details={"checkoutId": saga.id},
                    retry_after_ms=5000,
                ),
                final=False,
            ) from None
        return Outcome(201, body, stored=saga.key_id is not None, key_id=saga.key_id)

    # ------------------------------------------------------------------ compensation

    def _taken_over(self, exc: BaseException) -> None:
        if self.errors.registry.is_error(exc, "CHECKOUT_TAKEN_OVER"):
            raise _Stop(self.errors.from_db(exc), final=False) from None

    def _fail(self, creds, saga: SagaRef, code: str, exc: BaseException, retry_after_ms: int | None = None):
        """Compensate what the saga did, then stop with ``code``."""
        self._taken_over(exc)
        detail = _describe(exc)
        self.compensate(creds, saga, code, detail)
        details: dict[str, Any] = {"checkoutId": saga.id}
        if isinstance(exc, DB_ERRORS):
            mapped = self.errors.from_db(exc)
            details.update(mapped.details)
            details["cause"] = mapped.code
        elif detail:
            details["detail"] = detail
        raise _Stop(self.errors.error(code, details=details, retry_after_ms=retry_after_ms))

    def compensate(self, creds, saga: SagaRef, code: str, detail: str | None) -> dict | None:
        """Void the authorisation (if one may exist), then release the hold / cancel the booking
        and close the saga in one transaction. A void the gateway refuses leaves the saga running
        with its error so that recovery voids it later."""
        creds = as_service(creds)
        voided = True
        if saga.preauth_tried:
            try:
                self.gateway.void(reference=saga.reference)
            except GatewayError as exc:
                voided = False
                log.warning("checkout %s: void failed (%s); recovery will retry", saga.id, exc)
        try:
            return self._row(
                creds,
                *bind(
                    "checkout_compensate",
                    p_saga_id=saga.id,
                    p_attempt=saga.attempt,
                    p_error_code=code,
                    p_error_detail=detail,
                    p_authorisation_voided=voided,
                ),
            )[0]
        except DB_ERRORS as exc:
            self._taken_over(exc)
            log.error("checkout %s: compensation not recorded (%s); recovery will finish it", saga.id, exc)
            return None

    # ------------------------------------------------------------------ recovery

    def recover(self, stale_after: float = 120.0, limit: int = 100) -> list[dict]:
        """Finish or compensate the sagas that stopped between steps (their runner crashed), and
        store the answer of their idempotency record. Returns what was done, one dict per saga."""

        def claim(conn: psycopg.Connection) -> list[dict]:
            conn.execute(
                *bind("purge_idempotency_keys", p_stale_after=dt.timedelta(seconds=max(stale_after, 0)))
            )
            return (
                conn.cursor(row_factory=dict_row)
                .execute(
                    *bind(
                        "claim_stalled_checkouts",
                        p_stale_after=dt.timedelta(seconds=stale_after),
                        p_limit=limit,
                    )
                )
                .fetchall()
            )

        claimed = self.db.run(None, claim)
        done = []
        for row in claimed:
            try:
                done.append(self._recover_one(row))
            except Exception:  # one saga's trouble must not stop the others; it is claimed again later
                log.exception("checkout %s: recovery failed", row["saga_id"])
        return done

    def _recover_one(self, row: dict) -> dict:
        saga = SagaRef(
            row["saga_id"], row["attempt"], Decimal(row["amount"]), row["currency"], preauth_tried=True
        )
        request_id = (row.get("request") or {}).get("request_id") or env.request_id_from(None)
        if row["status"] == "running":
            if row["error_code"] is None and row["step"] == "confirmed":
                # a booking with an authorisation: finish it
                try:
                    capture_ref = self.gateway.capture(
                        authorisation_ref=row["authorisation_ref"], amount=saga.amount, currency=saga.currency
                    )
                    self._row(
                        None,
                        *bind(
                            "checkout_captured",
                            p_saga_id=saga.id,
                            p_attempt=saga.attempt,
                            p_capture_ref=capture_ref,
                        ),
                    )
                except GatewayError as exc:
                    self.compensate(None, saga, "PAYMENT_CAPTURE_FAILED", _describe(exc))
            else:
                saga.preauth_tried = row["step"] in ("held", "authorised", "confirmed")
                self.compensate(
                    None,
                    saga,
                    row["error_code"] or "INTERNAL_ERROR",
                    row["error_detail"] or f"recovered after a stop at step {row['step']}",
                )
        doc = self._row(None, *bind("get_checkout", p_saga_id=saga.id))[0]
        if row["idempotency_key_id"] is not None and doc["status"] != "running":
            status, body = self.render(doc, request_id)
            self._row(None, *_complete_idempotent(row["idempotency_key_id"], status, body))
        return doc

    def render(self, doc: dict, request_id: str) -> tuple[int, bytes]:
        """The answer for a finished saga document (api.get_checkout)."""
        if doc["status"] == "succeeded":
            return 201, env.success_body(doc["result"], system="booking", request_id=request_id)
        err = self.errors.error(
            doc["errorCode"], details={"checkoutId": doc["checkoutId"], "detail": doc.get("errorDetail")}
        )
        return err.http_status, env.error_body(
            err.code, err.message, system="booking", request_id=request_id, details=err.details
        )


def as_service(creds: Credentials | None) -> Credentials | None:
    """The saga's transactions run as the HTTP service (hotelcore_service), the only role that may
    execute the saga's steps, acting for the key's system; without credentials (recovery) they
    run as the pool login."""
    return None if creds is None else replace(creds, service=True)


# stores a final answer (status, body) in its idempotency record
def _complete_idempotent(key_id: int, status: int, body: bytes):
    """The call that stores a request's final answer on its idempotency record."""
    return bind(
        "complete_idempotent", p_idempotency_key_id=key_id, p_response_status=status, p_response_body=body
    )


# the idempotency refusals of api.begin_idempotent
_IDEMPOTENCY_REFUSALS = ("IDEMPOTENCY_MISMATCH", "IDEMPOTENCY_IN_PROGRESS")


class _Diag:
    def __init__(self, primary: str | None, detail: str | None, hint: str | None):
        self.message_primary, self.message_detail, self.message_hint = primary, detail, hint
        self.context = None


class Refused(HotelcoreError):
    """A step's refusal that api.checkout_start answered as data instead of raising it (so that its
    transaction still commits what came before), shaped as the raised error it stands for: the
    same SQLSTATE, message, DETAIL and HINT."""

    def __init__(
        self,
        registry: Registry,
        sqlstate: str,
        message: str | None,
        detail: str | None,
        hint: str | None,
    ):
        code = registry.by_sqlstate.get(sqlstate)
        super().__init__(
            sqlstate,
            code.name if code is not None else "INTERNAL_ERROR",
            code.http_status if code is not None else 500,
            detail,
            hint,
        )
        self.diag = _Diag(message, detail, hint)


def _raised_in(exc: BaseException, frame: str) -> bool:
    """Whether the database error behind ``exc`` was raised inside the function ``frame`` names
    (its error context lists the PL/pgSQL call stack)."""
    for err in (exc, exc.__cause__):
        context = getattr(getattr(err, "diag", None), "context", None)
        if context and frame in context:
            return True
    return False


def _describe(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    if diag is not None and diag.message_primary:
        return " - ".join(x for x in (diag.message_primary, diag.message_detail) if x)[:500]
    return (str(exc) or type(exc).__name__)[:500]
