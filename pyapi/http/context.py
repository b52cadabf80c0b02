"""What every route uses: the request's credentials, one call to one ``api`` function, the
envelope around the answer, and degraded mode (seed 001).

A route reads its input, then calls :meth:`Call.value` / :meth:`Call.rows`, which call one ``api``
function with its arguments bound by name (:func:`pyapi.client.bind`); the answer goes into the
envelope. Errors raised by the database become :class:`~pyapi.errors.ApiError` in the
app's exception handlers, not here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from fastapi import Request
from psycopg.rows import dict_row
from starlette.responses import Response

from .. import envelope
from ..checkout.gateway import ResilientGateway
from ..checkout.saga import CheckoutSaga
from ..client import bind
from ..errors import ApiError, ErrorMap
from ..pms.runtime import PmsRuntime
from ..pool import Credentials, Database

if TYPE_CHECKING:
    from .observe import Metrics

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Reads: their unit of work writes nothing, so the read replica may serve it (when configured).
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class Degraded:
    """Degraded mode: writes answer 503 while the gateway's circuit is open or the database is
    read-only; reads go on. Read-only is learned from SQLSTATE 25006 and rechecked after
    ``read_only_recheck`` seconds by letting the next write through."""

    gateway: ResilientGateway | None = None
    read_only_recheck: float = 5.0
    _read_only_until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def database_read_only(self) -> None:
        with self._lock:
            self._read_only_until = time.monotonic() + self.read_only_recheck

    def reason(self) -> tuple[str, float] | None:
        """(why, seconds to wait) while writes are paused, else None."""
        left = self._read_only_until - time.monotonic()
        if left > 0:
            return "the database is read-only", left
        if self.gateway is not None:
            wait = self.gateway.open_for()
            if wait is not None:
                return "the payment gateway circuit is open", wait
        return None


@dataclass
class Services:
    """What the app holds for its whole life (``app.state.hc``)."""

    db: Database
    errors: ErrorMap
    gateway: ResilientGateway
    degraded: Degraded
    saga: CheckoutSaga
    pms: PmsRuntime  # external-PMS hotels
    metrics: Metrics
    idempotency_wait: float = 10.0
    max_body_bytes: int = 64 * 1024


def services(request: Request) -> Services:
    return request.app.state.hc


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.state.request_id = envelope.request_id_from(request.headers.get("x-request-id"))
    return rid


def token_of(request: Request) -> str:
    """The API key from ``X-API-Key`` or ``Authorization: Bearer``; empty when absent."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return ""


@dataclass
class Call:
    """One request's access to the database, bound to the systems its route serves."""

    request: Request
    hc: Services
    system: str
    systems: tuple[str, ...]

    @property
    def rid(self) -> str:
        return request_id(self.request)

    @property
    def creds(self) -> Credentials:
        user = self.request.headers.get("x-app-user")
        return Credentials(token_of(self.request), self.systems, (user or "")[:200] or None)

    @property
    def reads(self) -> bool:
        return self.request.method in READ_METHODS

    def value(self, function: str, /, *, scope: Sequence[tuple[str, int]] = (), **params: Any) -> Any:
        """The single value of ``api.<function>`` called with ``params`` by name, after the scope checks."""
        query, values = bind(function, **params)

        def work(conn: psycopg.Connection) -> Any:
            check_scope(conn, scope)
            row = conn.execute(query, values).fetchone()
            return None if row is None else row[0]

        return self.hc.db.run(self.creds, work, read_only=self.reads)

    def rows(self, function: str, /, *, scope: Sequence[tuple[str, int]] = (), **params: Any) -> list[dict]:
        """The rows of ``api.<function>`` called with ``params`` by name, after the scope checks."""
        query, values = bind(function, **params)

        def work(conn: psycopg.Connection) -> list[dict]:
            check_scope(conn, scope)
            return conn.cursor(row_factory=dict_row).execute(query, values).fetchall()

        return self.hc.db.run(self.creds, work, read_only=self.reads)

    def run(self, work: Callable[[psycopg.Connection], Any]) -> Any:
        return self.hc.db.run(self.creds, work, read_only=self.reads)

    def ok(self, data: Any, status: int = 200) -> Response:
        body = envelope.success_body(data, system=self.system, request_id=self.rid)
        return envelope.response(body, status, request_id=self.rid)

    def error(self, err: ApiError) -> Response:
        body = error_body(err, system=self.system, request_id=self.rid)
        return envelope.response(
            body, err.http_status, request_id=self.rid, retry_after_ms=err.retry_after_ms
        )


def check_scope(conn: psycopg.Connection, scope: Sequence[tuple[str, int]]) -> None:
    """Each (entity, id) must be in the key's hotel scope; api.assert_in_scope raises otherwise."""
    for entity, ident in scope:
        if ident is not None:
            conn.execute(*bind("assert_in_scope", p_entity=entity, p_id=ident))


def error_body(err: ApiError, *, system: str, request_id: str) -> bytes:
    return envelope.error_body(
        err.code,
        err.message,
        system=system,
        request_id=request_id,
        details=err.details,
        retry_after_ms=err.retry_after_ms,
    )


def caller(system: str, systems: tuple[str, ...]) -> Callable[[Request], Call]:
    """A FastAPI dependency giving routes of ``system`` their :class:`Call`."""

    def dependency(request: Request) -> Call:
        request.state.system = system
        return Call(request, services(request), system, systems)

    return dependency
