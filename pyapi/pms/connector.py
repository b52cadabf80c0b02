"""The PMS connector interface, its errors, the resilience around every call, and the vendor
registry (seed 001's ``PMSConnectorFactory.getConnector(vendor, hotel)``).

A vendor is one module that registers a class with :func:`register`; the rest of hotelcore (import,
sync, webhooks, checkout) speaks only :class:`Connector` and the vendor-neutral documents below,
so a second vendor is a new module, not a new code path.

Resilience (:class:`Resilient`): retries of transient failures with tenacity (3 tries, waits
500 -> 1,000 -> 2,000 ms; a 429 waits at least its ``Retry-After``), and one pybreaker circuit per
vendor and property (5 failures -> open 60 s -> half-open; 2 successes close it). A refusal by
the vendor (4xx other than 429) is an answer: neither retried nor counted.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import pybreaker
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

T = TypeVar("T")


class PmsError(Exception):
    """Any failure of a PMS call."""


class PmsRefused(PmsError):
    """The PMS answered no (validation, no availability, unknown id): not retried, not a breaker failure."""


class PmsUnavailable(PmsError):
    """No useful answer (timeout, 5xx, connection refused): retried, counted by the breaker."""


class PmsRateLimited(PmsUnavailable):
    """429: retried after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class PmsCircuitOpen(PmsError):
    """The breaker of this vendor and property is open: degraded mode for ``retry_after`` seconds."""

    def __init__(self, retry_after: float):
        super().__init__(f"PMS circuit open; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


# --------------------------------------------------------------------------- documents


@dataclass
class Guest:
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None


@dataclass
class Hold:
    """A hold at the vendor: its id and what it holds."""

    id: str
    room_type_id: str
    rooms: list[str]
    check_in: dt.date
    check_out: dt.date


@dataclass
class VendorReservation:
    id: str
    status: str
    check_in: dt.date
    check_out: dt.date
    room_type_id: str | None
    rooms: int
    modified_at: dt.datetime
    guest_name: str | None = None
    total: Decimal | None = None

    def document(self, checkout_id: int | None = None) -> dict[str, Any]:
        """The shape api.pms_apply_reservation reads."""
        return {
            "external_id": self.id,
            "status": self.status,
            "modified_at": self.modified_at.isoformat(),
            "check_in": self.check_in.isoformat(),
            "check_out": self.check_out.isoformat(),
            "room_type_external_id": self.room_type_id,
            "rooms": self.rooms,
            "guest_name": self.guest_name,
            "total": str(self.total) if self.total is not None else None,
            "checkout_id": checkout_id,
        }


class Connector(Protocol):
    """What hotelcore asks of a PMS (seed 001's connector), in vendor ids."""

    vendor: str
    property_id: str

    def property(self) -> dict[str, Any]:
        """The hotel: code, name, city, country_code, time_zone, currency (api.pms_import_property's ``hotel``)."""

    def room_types(self) -> list[dict[str, Any]]:
        """[{external_id, code, name, max_occupancy}]."""

    def rooms(self) -> list[dict[str, Any]]:
        """[{external_id, number, room_type_external_id}]."""

    def rate_plans(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """[{external_id, room_type_external_id, code, name, base_price}]."""

    def availability(self, start: dt.date, end: dt.date) -> dict[str, list[dict[str, Any]]]:
        """{inventory: [{room_type_external_id, night, total, available}], rates: [{rate_plan_external_id,
        night, amount}]}; a rate row with ``restricted`` carries the night's restrictions too
        (``min_los``, ``max_los``: 0 for none; ``closed_to_arrival``, ``closed_to_departure``)."""

    def create_hold(
        self, room_type_id: str, rooms: int, check_in: dt.date, check_out: dt.date, guest: Guest, seconds: int
    ) -> Hold:
        """Takes ``rooms`` rooms of the type for the stay until confirmed or released."""

    def release_hold(self, hold: Hold) -> None:
        """Gives a hold's rooms back (idempotent)."""

    def confirm(
        self, hold: Hold, guest: Guest, rate_plan_id: str | None, reference: str
    ) -> VendorReservation:
        """Turns a hold into a confirmed reservation at the vendor."""

    def cancel(self, reservation_id: str) -> None:
        """Cancels a reservation at the vendor."""

    def reservation(self, reservation_id: str) -> VendorReservation:
        """One reservation as the vendor has it now."""

    def changes_since(self, since: dt.datetime, until: dt.datetime) -> list[VendorReservation]:
        """Reservations modified in [since, until], every page."""

    def register_webhook(self, obj: str, action: str, url: str) -> str:
        """Subscribes ``url`` to the vendor's ``obj/action`` notifications; returns the subscription id."""


_REGISTRY: dict[str, Callable[..., Connector]] = {}


def register(vendor: str) -> Callable[[type], type]:
    def deco(cls: type) -> type:
        _REGISTRY[vendor] = cls
        return cls

    return deco


def vendors() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def _load() -> None:
    from . import cloudbeds  # noqa: F401  (registers itself)


def get_connector(
    vendor: str, *, property_id: str, base_url: str, api_key: str, timeout: float = 5.0
) -> Connector:
    """The connector of ``vendor`` for one property; KeyError for a vendor with no module."""
    _load()
    if vendor not in _REGISTRY:
        raise KeyError(vendor)
    return _REGISTRY[vendor](property_id=property_id, base_url=base_url, api_key=api_key, timeout=timeout)


# --------------------------------------------------------------------------- resilience


@dataclass
class Resilience:
    tries: int = 3  # the first call and two retries
    backoff: tuple[float, ...] = (0.5, 1.0, 2.0)  # seed 001: 500 -> 1,000 -> 2,000 ms
    fail_max: int = 5
    reset_timeout: float = 60.0
    success_threshold: int = 2
    sleep: Callable[[float], None] = time.sleep


class _Listener(pybreaker.CircuitBreakerListener):
    def __init__(self, on_change: Callable[[str], None] | None):
        self.on_change = on_change

    def state_change(self, cb, old_state, new_state):
        if self.on_change is not None:
            name = {"half-open": "half_open"}.get(new_state.name, new_state.name)
            try:
                self.on_change(name)
            except Exception:  # recording the history must never break a call
                pass


class Resilient:
    """One breaker per vendor and property, shared by every caller in the process."""

    def __init__(
        self, resilience: Resilience | None = None, on_change: Callable[[str, str, str], None] | None = None
    ):
        self.resilience = resilience or Resilience()
        self.on_change = on_change  # (vendor, property_id, new state)
        self._breakers: dict[tuple[str, str], pybreaker.CircuitBreaker] = {}
        self._lock = threading.Lock()
        self.retry_waits: list[float] = []  # what the retries waited (the tests read it)

    def breaker(self, vendor: str, property_id: str) -> pybreaker.CircuitBreaker:
        with self._lock:
            key = (vendor, property_id)
            if key not in self._breakers:
                r = self.resilience
                listener = _Listener(
                    (lambda state: self.on_change(vendor, property_id, state)) if self.on_change else None
                )
                self._breakers[key] = pybreaker.CircuitBreaker(
                    fail_max=r.fail_max,
                    reset_timeout=r.reset_timeout,
                    success_threshold=r.success_threshold,
                    exclude=[PmsRefused],
                    listeners=[listener],
                    name=f"pms-{vendor}-{property_id}",
                )
            return self._breakers[key]

    def open_for(self, vendor: str, property_id: str) -> float | None:
        """Seconds until the breaker lets a trial call through; None when it is not open."""
        b = self.breaker(vendor, property_id)
        if b.current_state != pybreaker.STATE_OPEN:
            return None
        opened = b._state_storage.opened_at  # pybreaker keeps it in its storage
        if opened is None:
            return self.resilience.reset_timeout
        left = self.resilience.reset_timeout - (dt.datetime.now(dt.UTC) - opened).total_seconds()
        return left if left > 0 else None

    def call(self, connector: Connector, fn: Callable[[], T]) -> T:
        vendor, prop = connector.vendor, connector.property_id
        wait = self.open_for(vendor, prop)
        if wait is not None:
            raise PmsCircuitOpen(wait)
        r = self.resilience

        def backoff(state) -> float:
            base = r.backoff[min(state.attempt_number - 1, len(r.backoff) - 1)]
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, PmsRateLimited):
                base = max(base, exc.retry_after)  # honour the vendor's Retry-After
            self.retry_waits.append(base)
            return base

        retrying = Retrying(
            stop=stop_after_attempt(r.tries),
            wait=backoff,
            retry=retry_if_exception_type(PmsUnavailable),
            reraise=True,
            sleep=r.sleep,
        )
        try:
            outcome: tuple[bool, Any] = (True, retrying(fn))
        except PmsError as exc:
            outcome = (False, exc)

        def replay():
            ok, value = outcome
            if ok:
                return value
            raise value

        # the outcome goes through pybreaker's state machine (counting, opening, half-open trial);
        # the call itself ran outside its lock, so calls of other properties never wait on it
        try:
            return self.breaker(vendor, prop).call(replay)
        except pybreaker.CircuitBreakerError:
            return replay()


@dataclass
class Bound:
    """A connector with its resilience: ``bound.call("create_hold", ...)``."""

    connector: Connector
    resilient: Resilient
    calls: list[str] = field(default_factory=list)

    def call(self, name: str, *args, **kwargs):
        self.calls.append(name)
        method = getattr(self.connector, name)
        return self.resilient.call(self.connector, lambda: method(*args, **kwargs))
