"""The FastAPI application: seed 000's endpoints for hotel-member, hotel-pms and hotel-saas under
``/api/v2/<system>/...``, seed 001's ``POST /api/booking/checkout``, OpenAPI at ``/docs``.

Every answer is seed 000's envelope (:mod:`pyapi.envelope`), errors included: database errors map
through the registry (:mod:`pyapi.errors`), malformed JSON and wrong types are 400, an oversized body
413, an unknown route 404 — never a 500 for the caller's mistakes. Writes answer 503 while the
service is degraded (gateway circuit open, database read-only); reads go on.

Start it with ``hotelcore serve`` (uvicorn), or in-process with :func:`start_server`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from .. import __version__
from .. import envelope as env
from ..checkout.gateway import Resilience, ResilientGateway, SimulatedGateway
from ..checkout.saga import CheckoutSaga
from ..client import HotelcoreError
from ..errors import ApiError, ErrorMap
from ..pms.runtime import PmsRuntime
from ..pool import Database, missing_roles
from . import booking, errors_page, member, pms, pms_external, saas
from .context import WRITE_METHODS, Degraded, Services, error_body, request_id
from .observe import Metrics, Observe, logging_config

log = logging.getLogger("hotelcore.http")

_HTTP_CODES = {401: "AUTHENTICATION_FAILED", 403: "PERMISSION_DENIED"} | {
    status: name for name, (status, _) in errors_page.HTTP_ONLY.items()
}


def system_of(path: str) -> str:
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "api" and parts[1] == "v2" and parts[2] in ("member", "pms", "saas"):
        return parts[2]
    if len(parts) >= 2 and parts[0] == "api" and parts[1] == "booking":
        return "booking"
    return "core"


def _answer(request: Request, err: ApiError) -> Response:
    system = getattr(request.state, "system", None) or system_of(request.url.path)
    rid = request_id(request)
    body = error_body(err, system=system, request_id=rid)
    return env.response(body, err.http_status, request_id=rid, retry_after_ms=err.retry_after_ms)


class Guard:
    """Pure ASGI middleware: body size limit and degraded mode, before any route runs."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        hc: Services = scope["app"].state.hc  # the application's services, built at start-up
        headers = dict(scope.get("headers") or [])
        state = scope.setdefault("state", {})
        rid = state.get("request_id") or env.request_id_from(
            (headers.get(b"x-request-id") or b"").decode("latin-1") or None
        )
        state["request_id"] = rid
        system = system_of(scope["path"])

        async def refuse(code: str, status: int, message: str, details=None, retry_ms=None):
            body = env.error_body(
                code, message, system=system, request_id=rid, details=details, retry_after_ms=retry_ms
            )
            await env.response(body, status, request_id=rid, retry_after_ms=retry_ms)(scope, receive, send)

        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > hc.max_body_bytes
            except ValueError:
                return await refuse("INVALID_ARGUMENT", 400, "Content-Length is not a number.")
            if too_big:
                return await refuse(
                    "PAYLOAD_TOO_LARGE",
                    413,
                    f"The body is larger than {hc.max_body_bytes} bytes.",
                    {"limit_bytes": hc.max_body_bytes},
                )
        # a PMS webhook is the vendor telling us its state: it is received even while writes pause
        if (
            scope["method"] in WRITE_METHODS
            and scope["path"].startswith("/api/")
            and not scope["path"].startswith("/api/webhooks/")
        ):
            reason = hc.degraded.reason()
            if reason is not None:
                why, wait = reason
                return await refuse(
                    "SERVICE_DEGRADED",
                    503,
                    f"Degraded mode: writes are paused ({why}); reads go on.",
                    {"reason": why},
                    max(1, int(wait * 1000)),
                )

        if length is not None or scope["method"] not in WRITE_METHODS:
            return await self.app(scope, receive, send)
        # a body without Content-Length (chunked): read it up to the limit before the app sees it
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > hc.max_body_bytes:
                return await refuse(
                    "PAYLOAD_TOO_LARGE",
                    413,
                    f"The body is larger than {hc.max_body_bytes} bytes.",
                    {"limit_bytes": hc.max_body_bytes},
                )
            if not message.get("more_body", False):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)


def _install_handlers(app: FastAPI) -> None:
    def hc(request: Request) -> Services:
        return request.app.state.hc

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _answer(request, exc)

    @app.exception_handler(HotelcoreError)
    @app.exception_handler(psycopg.Error)
    async def db_error(request: Request, exc: Exception):
        err = hc(request).errors.from_db(exc)
        if err.http_status >= 500 and err.code == "INTERNAL_ERROR":
            log.error("database error on %s %s: %s", request.method, request.url.path, exc)
        return _answer(request, err)

    @app.exception_handler(PoolTimeout)
    async def pool_timeout(request: Request, exc: PoolTimeout):
        return _answer(request, hc(request).errors.from_db(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = []
        for e in exc.errors()[:20]:
            problems.append(
                {
                    "loc": [str(x) for x in e.get("loc", ())],
                    "msg": str(e.get("msg", ""))[:300],
                    "type": e.get("type"),
                }
            )
        malformed = any(p["type"] == "json_invalid" for p in problems)
        message = (
            "The body is not valid JSON."
            if malformed
            else "A request field is missing or has the wrong type."
        )
        return _answer(
            request,
            hc(request).errors.error("INVALID_ARGUMENT", message=message, details={"errors": problems}),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "INVALID_ARGUMENT")
        return _answer(request, ApiError(code, exc.status_code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _answer(request, hc(request).errors.error("INTERNAL_ERROR"))


@dataclass
class Settings:
    database_url: str
    pool_min: int = 2
    pool_max: int = 20
    pool_timeout: float = 10.0
    resilience: Resilience | None = None
    idempotency_wait: float = 10.0
    max_body_bytes: int = 64 * 1024
    recovery_interval: float = 30.0  # 0: no background recovery
    recovery_stale_after: float = 120.0
    pms_resilience: Any = None  # pyapi.pms.connector.Resilience for the PMS connectors
    pms_sync_interval: float = 15.0  # how often the worker looks for due external-hotel syncs; 0: none
    pms_city_budget: float = 1.5  # seconds a city search waits for its stale external hotels' PMS
    replica_url: str | None = None  # reads of the API go there (DATABASE_REPLICA_URL)
    metrics_token: str | None = None  # /metrics wants it as a bearer token (HOTELCORE_METRICS_TOKEN)


def create_app(settings: Settings, *, gateway=None) -> FastAPI:
    """The application. ``gateway``: a :class:`~.gateway.PaymentGateway` (default: simulated)."""
    db = Database(
        settings.database_url,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        timeout=settings.pool_timeout,
        replica_url=settings.replica_url,
    )
    metrics = Metrics()
    resilient = ResilientGateway(gateway or SimulatedGateway(), settings.resilience)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.open()
        with db.connection() as conn:
            missing = missing_roles(conn)
            login = conn.info.user
        if missing:
            # each request runs as its system's role: without it the system's requests are refused
            log.warning(
                "pool login %s is not a member of %s: requests of those systems are refused"
                " (SYSTEM_ROLE_NOT_GRANTED); GRANT them to %s",
                login,
                ", ".join(missing),
                login,
            )
        errors = ErrorMap(db.client.registry)  # the registry the pool's client read at start-up
        degraded = Degraded(gateway=resilient)
        errors.on_read_only = degraded.database_read_only  # a read-only database pauses writes
        hc = Services(
            db=db,
            errors=errors,
            gateway=resilient,
            degraded=degraded,
            saga=CheckoutSaga(db, resilient, errors),
            pms=PmsRuntime(db, settings.pms_resilience, city_budget=settings.pms_city_budget),
            metrics=metrics,
            idempotency_wait=settings.idempotency_wait,
            max_body_bytes=settings.max_body_bytes,
        )
        app.state.hc = hc
        metrics.watch(hc)
        stop = threading.Event()
        worker = None
        if settings.recovery_interval > 0:
            worker = threading.Thread(
                target=_recovery_loop,
                args=(hc, settings.recovery_interval, settings.recovery_stale_after, stop),
                name="hotelcore-checkout-recovery",
                daemon=True,
            )
            worker.start()
        syncer = None
        if settings.pms_sync_interval > 0:
            syncer = threading.Thread(
                target=_pms_sync_loop,
                args=(hc, settings.pms_sync_interval, stop),
                name="hotelcore-pms-sync",
                daemon=True,
            )
            syncer.start()
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                worker.join(timeout=5)
            if syncer is not None:
                syncer.join(timeout=5)
            hc.pms.close()
            db.close()

    app = FastAPI(
        title="hotelcore HTTP API",
        version=__version__,
        summary="Seed 000's member / PMS / SaaS endpoints and seed 001's booking checkout, over hotelcore's api functions.",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.add_middleware(Guard)
    app.add_middleware(
        Observe, metrics=metrics, router_getter=lambda: app.router, token=settings.metrics_token
    )
    app.state.metrics = metrics
    _install_handlers(app)
    app.include_router(member.router)
    app.include_router(pms.router)
    app.include_router(saas.router)
    app.include_router(booking.router)
    app.include_router(pms_external.webhook_router)
    app.include_router(pms_external.router)
    app.include_router(errors_page.router)

    @app.get("/health", tags=["core"], response_model=env.Envelope[dict[str, Any]])
    def health(request: Request) -> Response:
        """Liveness, and whether writes are paused (degraded mode)."""
        hc: Services = request.app.state.hc
        reason = hc.degraded.reason()
        data = {
            "status": "degraded" if reason else "ok",
            "reason": reason[0] if reason else None,
            "gateway_circuit": hc.gateway.breaker.current_state,
        }
        rid = request_id(request)
        return env.response(env.success_body(data, system="core", request_id=rid), 200, request_id=rid)

    return app


def _pms_sync_loop(hc: Services, interval: float, stop: threading.Event) -> None:
    from ..checkout.pms import ExternalCheckout

    while not stop.wait(interval):
        try:
            hc.pms.drain_fetches()  # follow-up fetches of vendor notifications a crash or a failure left
            hc.pms.sync_due()
            ExternalCheckout(hc).recover()  # checkouts a crash left between two steps
        except Exception:  # the loop must outlive a failed round; the next one retries
            log.exception("external-PMS sync round failed")


def _recovery_loop(hc: Services, interval: float, stale_after: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            for doc in hc.saga.recover(stale_after=stale_after):
                hc.metrics.recovered(doc)
        except Exception:  # the loop must outlive a failed round; the next one retries
            log.exception("checkout recovery round failed")


# --------------------------------------------------------------------------- running it


def app_from_env() -> FastAPI:
    """uvicorn factory: ``uvicorn --factory pyapi.http.app:app_from_env`` (DATABASE_URL or embedded,
    DATABASE_REPLICA_URL for reads)."""
    from ..config import metrics_token, replica_url
    from ..server import get_server

    return create_app(
        Settings(database_url=get_server().url, replica_url=replica_url(), metrics_token=metrics_token())
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    database_url: str,
    log_level: str = "info",
    gateway=None,
    customize: Callable[[FastAPI], None] | None = None,
    **settings: Any,
) -> None:
    """Run the API under uvicorn until interrupted (``hotelcore serve``). ``customize(app)`` may
    mount more routes first (the benchmark's floor endpoint)."""
    from ..config import metrics_token, replica_url

    settings.setdefault("replica_url", replica_url())
    settings.setdefault("metrics_token", metrics_token())
    app = create_app(Settings(database_url=database_url, **settings), gateway=gateway)
    if customize is not None:
        customize(app)
    uvicorn.run(
        app, host=host, port=port, log_level=log_level, access_log=False, log_config=logging_config(log_level)
    )


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    app: FastAPI

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_server(
    database_url: str, *, port: int = 0, host: str = "127.0.0.1", gateway=None, **settings: Any
) -> RunningServer:
    """Start the API under uvicorn in a background thread of this process and return once it
    answers (for the benchmark and tests). ``port=0`` picks a free port; ``.url`` is the base URL,
    ``.stop()`` shuts it down."""
    import socket

    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    settings.setdefault("recovery_interval", 0)
    settings.setdefault("pms_sync_interval", 0)
    app = create_app(Settings(database_url=database_url, **settings), gateway=gateway)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"hotelcore-http-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the HTTP API did not start on {host}:{port}")
        time.sleep(0.02)
    return RunningServer(f"http://{host}:{port}", server, thread, app)
