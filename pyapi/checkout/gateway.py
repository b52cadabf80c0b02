"""The payment gateway: a small interface, a built-in simulated gateway, and the resilience
around every call (seed 001).

* :class:`PaymentGateway` — pre-authorise, capture, void. Calls carry the checkout's reference
  so the gateway can make them idempotent (a retried pre-authorisation returns the same
  authorisation, a retried capture the same capture) and so an authorisation can be voided by
  reference after a crash lost its id.
* :class:`SimulatedGateway` — approve, decline, timeout and capture failure, chosen per request
  by the card token (like a processor's test cards) or for the whole gateway by ``script``. It
  runs inside a long-lived API process, so what it remembers is bounded: the open authorisations
  (until captured or voided), the latest finished ones, the latest calls.
* :class:`ResilientGateway` — retries with exponential backoff (tenacity: 3 tries, 500 ms base)
  and a circuit breaker (pybreaker: 5 failures -> open 60 s -> half-open). Only transient
  failures (timeouts, unavailability) are retried and counted; a decline is an answer.

The breaker observes one outcome per logical call (after its retries). pybreaker's ``call``
holds its lock while the wrapped function runs, which would serialise every gateway call of the
process; so the call runs outside it and its outcome is then replayed through ``call``, which
keeps pybreaker's own state machine (counting, opening, half-open trial, closing).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol, TypeVar

import pybreaker
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

T = TypeVar("T")


class GatewayError(Exception):
    """Any failure of a gateway call."""


class GatewayDeclined(GatewayError):
    """The gateway answered no (card declined, capture refused). Not retried, not a breaker failure."""


class GatewayUnavailable(GatewayError):
    """The gateway did not answer usefully (timeout, 5xx, connection refused): retried, counted."""


class GatewayTimeout(GatewayUnavailable):
    pass


class CircuitOpen(GatewayError):
    """The breaker is open: the gateway is not called until ``retry_after`` seconds have passed."""

    def __init__(self, retry_after: float):
        super().__init__(f"payment gateway circuit open; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


class PaymentGateway(Protocol):
    def preauthorise(self, *, reference: str, amount: Decimal, currency: str, card_token: str) -> str:
        """Authorise ``amount`` on the card; return the authorisation id. Idempotent per reference."""

    def capture(self, *, authorisation_ref: str, amount: Decimal, currency: str) -> str:
        """Capture an authorisation; return the capture id. Idempotent per authorisation."""

    def void(self, *, reference: str, authorisation_ref: str | None = None) -> None:
        """Void the authorisation made under ``reference`` (if any). Idempotent."""


# --------------------------------------------------------------------------- simulated gateway


# Card tokens that choose a behaviour, like a processor's test cards. Any other token approves.
TEST_TOKENS = {
    "tok_decline": "decline",  # pre-authorisation declined
    "tok_timeout": "timeout",  # pre-authorisation times out on every try
    "tok_flaky": "flaky",  # pre-authorisation times out once, then approves
    "tok_capture_fail": "capture_fail",  # capture refused
    "tok_capture_timeout": "capture_timeout",  # capture times out on every try
}


@dataclass
class SimAuthorisation:
    reference: str
    amount: Decimal
    currency: str
    behaviour: str
    status: str = "authorised"  # authorised -> captured | voided
    capture_ref: str | None = None


@dataclass
class SimulatedGateway:
    """An in-process gateway for the demo, the tests and the benchmark.

    ``script`` forces one behaviour for every call (overriding the card token); ``latency`` adds
    a sleep per call; ``hooks`` maps an operation name ("preauthorise", "capture", "void") to a
    callable run before it (the tests inject crashes and waits there). Authorisation ids encode
    the reference, so another process (recovery after a crash) can capture or void them.

    What it keeps is what the protocol needs, and bounded: every open authorisation until it is
    captured or voided; the latest ``keep_finished`` captured or voided ones (a retried capture
    answers with the same capture, a capture after a void is refused — beyond that window an id
    is answered as one made by another process); the latest ``keep_calls`` calls in ``calls``.
    """

    script: str | None = None
    latency: float = 0.0
    hooks: dict[str, Callable[[], None]] = field(default_factory=dict)
    keep_finished: int = 1000
    keep_calls: int = 1000
    authorisations: dict[str, SimAuthorisation] = field(default_factory=dict)
    calls: deque[tuple[str, str]] = field(init=False)
    # the finished authorisations' ids, oldest first: the first to forget
    _finished: OrderedDict[str, None] = field(default_factory=OrderedDict, init=False)
    # references of flaky cards whose first pre-authorisation has timed out, until one succeeds
    _timed_out: set[str] = field(default_factory=set, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.calls = deque(maxlen=self.keep_calls)

    def _finish(self, auth_ref: str) -> None:
        """Records that ``auth_ref`` was captured or voided; forgets the oldest finished ones
        beyond ``keep_finished`` (the caller holds the lock)."""
        self._finished[auth_ref] = None
        while len(self._finished) > self.keep_finished:
            old, _ = self._finished.popitem(last=False)
            self.authorisations.pop(old, None)

    def _enter(self, op: str, key: str) -> None:
        with self._lock:
            self.calls.append((op, key))
        hook = self.hooks.get(op)
        if hook is not None:
            hook()
        if self.latency:
            time.sleep(self.latency)

    def preauthorise(self, *, reference: str, amount: Decimal, currency: str, card_token: str) -> str:
        self._enter("preauthorise", reference)
        behaviour = self.script or TEST_TOKENS.get(card_token, "approve")
        if behaviour == "decline":
            raise GatewayDeclined("card declined")
        if behaviour == "timeout":
            raise GatewayTimeout("pre-authorisation timed out")
        auth_ref = f"sim_auth_{reference}_{behaviour}"
        with self._lock:
            # a flaky card times out on its first try, then approves
            first_try = (
                behaviour == "flaky"
                and auth_ref not in self.authorisations
                and reference not in self._timed_out
            )
            if first_try:
                self._timed_out.add(reference)
            else:
                self._timed_out.discard(reference)
                self.authorisations.setdefault(
                    auth_ref, SimAuthorisation(reference, Decimal(amount), currency, behaviour)
                )
        if first_try:
            raise GatewayTimeout("pre-authorisation timed out")
        return auth_ref

    def capture(self, *, authorisation_ref: str, amount: Decimal, currency: str) -> str:
        self._enter("capture", authorisation_ref)
        behaviour = self.script or authorisation_ref.rsplit("_", 1)[-1]
        if behaviour in ("capture_fail", "fail"):
            raise GatewayDeclined("capture refused")
        if behaviour in ("capture_timeout", "timeout"):
            raise GatewayTimeout("capture timed out")
        with self._lock:
            auth = self.authorisations.get(authorisation_ref)
            if auth is None:  # made by another process (recovery after a crash)
                auth = self.authorisations[authorisation_ref] = SimAuthorisation(
                    authorisation_ref, Decimal(amount), currency, behaviour
                )
            if auth.status == "voided":
                raise GatewayDeclined("authorisation was voided")
            if auth.status != "captured":
                auth.status = "captured"
                auth.capture_ref = "sim_cap_" + authorisation_ref.removeprefix("sim_auth_")
                self._finish(authorisation_ref)
            return auth.capture_ref

    def void(self, *, reference: str, authorisation_ref: str | None = None) -> None:
        self._enter("void", reference)
        if self.script == "timeout":
            raise GatewayTimeout("void timed out")
        with self._lock:
            for auth_ref, auth in list(self.authorisations.items()):
                if auth.reference == reference and auth.status == "authorised":
                    auth.status = "voided"
                    self._finish(auth_ref)

    def captured(self) -> list[SimAuthorisation]:
        with self._lock:
            return [a for a in self.authorisations.values() if a.status == "captured"]


# --------------------------------------------------------------------------- resilience


@dataclass
class Resilience:
    tries: int = 3
    backoff_base: float = 0.5  # seconds: waits 0.5, 1, 2 ...
    backoff_max: float = 4.0
    fail_max: int = 5
    reset_timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep  # between tries (tests record instead of sleeping)


def _reraise(outcome: tuple[bool, object]):
    ok, value = outcome
    if ok:
        return value
    raise value  # type: ignore[misc]


class ResilientGateway:
    """A gateway wrapped in retries and a circuit breaker; the interface of :class:`PaymentGateway`."""

    def __init__(self, inner: PaymentGateway, resilience: Resilience | None = None):
        self.inner = inner
        self.resilience = r = resilience or Resilience()
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=r.fail_max,
            reset_timeout=r.reset_timeout,
            exclude=[GatewayDeclined],
            name="payment-gateway",
        )

    # -- state

    def open_for(self) -> float | None:
        """Seconds until the breaker lets a trial call through, or None when it is not open."""
        if self.breaker.current_state != pybreaker.STATE_OPEN:
            return None
        opened_at = self.breaker._state_storage.opened_at  # pybreaker keeps it in its storage
        if opened_at is None:
            return float(self.resilience.reset_timeout)
        left = self.resilience.reset_timeout - (datetime.now(UTC) - opened_at).total_seconds()
        return left if left > 0 else None

    # -- calls

    def _call(self, fn: Callable[[], T]) -> T:
        wait = self.open_for()
        if wait is not None:
            raise CircuitOpen(wait)
        r = self.resilience
        retrying = Retrying(
            stop=stop_after_attempt(r.tries),
            wait=wait_exponential(multiplier=r.backoff_base, min=r.backoff_base, max=r.backoff_max),
            retry=retry_if_exception_type(GatewayUnavailable),
            reraise=True,
            sleep=r.sleep,
        )
        try:
            outcome: tuple[bool, object] = (True, retrying(fn))
        except GatewayError as exc:
            outcome = (False, exc)
        try:
            return self.breaker.call(_reraise, outcome)  # records the outcome in pybreaker's state machine
        except pybreaker.CircuitBreakerError:
            # this failure tripped the breaker (or another call did meanwhile): the call's own
            # outcome is what the caller gets
            return _reraise(outcome)  # type: ignore[return-value]

    def preauthorise(self, *, reference: str, amount: Decimal, currency: str, card_token: str) -> str:
        return self._call(
            lambda: self.inner.preauthorise(
                reference=reference, amount=amount, currency=currency, card_token=card_token
            )
        )

    def capture(self, *, authorisation_ref: str, amount: Decimal, currency: str) -> str:
        return self._call(
            lambda: self.inner.capture(authorisation_ref=authorisation_ref, amount=amount, currency=currency)
        )

    def void(self, *, reference: str, authorisation_ref: str | None = None) -> None:
        return self._call(lambda: self.inner.void(reference=reference, authorisation_ref=authorisation_ref))
