"""Observability of the HTTP API: Prometheus metrics at ``/metrics`` and one JSON log line per
request, both carrying the request id of seed 000's envelope.

Metrics (prometheus-client, one registry per app so that several apps in one process do not
mix their counts):

* ``hotelcore_http_requests_total{method,route,status}`` and
  ``hotelcore_http_request_duration_seconds{method,route}`` (histogram): request rate and
  latency per route template (``/api/v2/pms/reservations/{reservation_id}``), never per raw
  path, so the label set stays bounded; an unknown path is ``route="unmatched"``.
* ``hotelcore_http_errors_total{method,route,status}``: answers with a 4xx or 5xx status.
* ``hotelcore_db_pool_connections{pool,state}``: size, idle, in use, max and waiting clients of
  each connection pool (primary, replica), read from psycopg_pool at scrape time.
* ``hotelcore_checkout_outcomes_total{outcome,source}``: how checkouts ended (``succeeded`` or
  the envelope's error code), answered to a client (``source="request"``) or finished by
  recovery (``source="recovery"``).
With ``HOTELCORE_METRICS_TOKEN`` set (``Settings.metrics_token``), a scrape must send it as
``Authorization: Bearer``; without it ``/metrics`` answers whoever reaches the port, so serve on
a private address.

* ``hotelcore_replica_lag_seconds`` / ``hotelcore_replica_lag_bytes``: the read replica's
  replay lag as the replica itself reports it (``report.replication_lag``), when one is
  configured; ``hotelcore_replica_up`` is 0 when it does not answer.
* ``hotelcore_event_consumer_unread_events{consumer,kind}`` and
  ``hotelcore_event_consumer_lag_seconds{consumer,kind}``: per event consumer (pull or webhook),
  the events it wants and has not read or been delivered, and the age of the oldest of them, as
  ``report.event_consumer_lag`` counts them on the primary (one home for the count).
* ``hotelcore_replication_standby_lag_bytes{standby}`` / ``_seconds``: each streaming standby as
  the primary sees it (``report.replication_standbys``), and
  ``hotelcore_replication_slot_retained_bytes{slot}`` / ``hotelcore_replication_slot_active{slot}``:
  the WAL each physical replication slot keeps on the primary (``report.replication_slots``).
These are read at scrape time; a source that does not answer leaves its series out and sets
``hotelcore_metrics_source_up{source}`` to 0.
"""

from __future__ import annotations

import contextvars
import hmac
import json
import logging
import time
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response
from starlette.routing import Match

from .. import envelope as env

log = logging.getLogger("hotelcore.access")

# The request being served (for every log line written while it runs).
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "hotelcore_request_id", default=None
)

# Latency buckets (seconds): a search answers in milliseconds, a checkout with a slow gateway in seconds.
_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's registry and instruments; ``app.state.metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hotelcore_http_requests",
            "HTTP requests answered, per method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hotelcore_http_request_duration_seconds",
            "Time from the request's arrival to its answer's last byte, per method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "hotelcore_http_errors",
            "HTTP answers with a 4xx or 5xx status, per method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.checkouts = Counter(
            "hotelcore_checkout_outcomes",
            "How booking checkouts ended: succeeded, or the error code of the answer; "
            "source is request (answered to the client) or recovery.",
            ["outcome", "source"],
            registry=self.registry,
        )
        self._live: _LiveCollector | None = None

    def watch(self, services: Any) -> None:
        """Collect pool use and replica lag from the app's services at scrape time."""
        if self._live is None:
            self._live = _LiveCollector()
            self.registry.register(self._live)
        self._live.services = services

    def checkout(self, status: int, body: bytes, source: str = "request") -> None:
        self.checkouts.labels(outcome_of(status, body), source).inc()

    def recovered(self, doc: dict) -> None:
        """A checkout finished by recovery (``api.get_checkout``'s document)."""
        if doc.get("status") == "succeeded":
            self.checkouts.labels("succeeded", "recovery").inc()
        elif doc.get("status") != "running":
            self.checkouts.labels(str(doc.get("errorCode") or "INTERNAL_ERROR")[:64], "recovery").inc()

    def exposition(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def outcome_of(status: int, body: bytes) -> str:
    """``succeeded`` for a 2xx checkout answer, else the envelope's error code."""
    if 200 <= status < 300:
        return "succeeded"
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    return code if isinstance(code, str) and code.isupper() and len(code) <= 64 else f"http_{status}"


class _LiveCollector:
    """Gauges read when scraped: connection pools, and the replica's lag."""

    services: Any = None

    def describe(self):
        return []

    def collect(self):
        hc = self.services
        pools = GaugeMetricFamily(
            "hotelcore_db_pool_connections",
            "Connections of the API's pools: size, idle, in_use, max, and clients waiting for one.",
            labels=["pool", "state"],
        )
        if hc is not None:
            for name, pool in hc.db.pools():
                stats = pool.get_stats()
                size = stats.get("pool_size", 0)
                idle = stats.get("pool_available", 0)
                pools.add_metric([name, "size"], size)
                pools.add_metric([name, "idle"], idle)
                pools.add_metric([name, "in_use"], size - idle)
                pools.add_metric([name, "max"], pool.max_size)
                pools.add_metric([name, "waiting"], stats.get("requests_waiting", 0))
        yield pools
        if hc is None:
            return
        yield from _primary_families(hc.db)
        if hc.db.replica is None:
            return
        up = GaugeMetricFamily("hotelcore_replica_up", "1 when the read replica answers, else 0.")
        lag_s = GaugeMetricFamily(
            "hotelcore_replica_lag_seconds",
            "Seconds the replica's replay is behind (0 when it has replayed all it received).",
        )
        lag_b = GaugeMetricFamily(
            "hotelcore_replica_lag_bytes", "WAL bytes received by the replica and not replayed yet."
        )
        try:
            seconds, nbytes = hc.db.replica_lag()
        except Exception:  # a replica that does not answer is a reading, not a scrape failure
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        lag_s.add_metric([], seconds)
        lag_b.add_metric([], nbytes)
        yield up
        yield lag_s
        yield lag_b


def _primary_families(db) -> list:
    """Event-consumer lag, standbys and replication slots, read on the primary from the report
    views that define them (never counted a second time here)."""
    up = GaugeMetricFamily(
        "hotelcore_metrics_source_up",
        "1 when the source of these series answered the scrape.",
        labels=["source"],
    )
    unread = GaugeMetricFamily(
        "hotelcore_event_consumer_unread_events",
        "Events a consumer wants and has not acknowledged (pull) or been delivered (webhook).",
        labels=["consumer", "kind"],
    )
    age = GaugeMetricFamily(
        "hotelcore_event_consumer_lag_seconds",
        "Age of the oldest event a consumer has not read or been delivered (0 when none).",
        labels=["consumer", "kind"],
    )
    sb_bytes = GaugeMetricFamily(
        "hotelcore_replication_standby_lag_bytes",
        "WAL bytes written on the primary and not replayed on a streaming standby yet.",
        labels=["standby"],
    )
    sb_seconds = GaugeMetricFamily(
        "hotelcore_replication_standby_lag_seconds",
        "Time between a commit on the primary and its replay on the standby, as last measured.",
        labels=["standby"],
    )
    retained = GaugeMetricFamily(
        "hotelcore_replication_slot_retained_bytes",
        "WAL bytes the primary keeps for a replication slot (not yet confirmed by its standby).",
        labels=["slot"],
    )
    active = GaugeMetricFamily(
        "hotelcore_replication_slot_active", "1 while a standby streams through the slot.", labels=["slot"]
    )
    sources = {
        "event_consumers": (
            "select consumer, kind, unread, lag_seconds from report.event_consumer_lag",
            lambda r: (unread.add_metric([r[0], r[1]], r[2]), age.add_metric([r[0], r[1]], float(r[3]))),
        ),
        "replication_standbys": (
            "select application_name, replay_lag_bytes, replay_lag_seconds from report.replication_standbys",
            lambda r: (
                sb_bytes.add_metric([r[0] or ""], r[1] or 0),
                sb_seconds.add_metric([r[0] or ""], float(r[2] or 0)),
            ),
        ),
        "replication_slots": (
            "select slot_name, retained_bytes, active from report.replication_slots",
            lambda r: (retained.add_metric([r[0]], r[1] or 0), active.add_metric([r[0]], 1 if r[2] else 0)),
        ),
    }
    answered: set[str] = set()
    try:
        with db.pool.connection(timeout=2) as conn:
            for name, (sql, add) in sources.items():
                try:
                    with conn.transaction():
                        rows = conn.execute(sql).fetchall()
                except psycopg.Error:
                    continue
                for row in rows:
                    add(row)
                answered.add(name)
    except Exception:  # a primary that does not answer is a reading, not a scrape failure
        pass
    for name in sources:
        up.add_metric([name], 1 if name in answered else 0)
    return [up, unread, age, sb_bytes, sb_seconds, retained, active]


def _route_of(app, scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return path
    # refused before routing (body too large, degraded mode): find the template it would match
    for candidate in getattr(app, "routes", ()):
        try:
            match, _ = candidate.matches(scope)
        except Exception:
            continue
        if match == Match.FULL and getattr(candidate, "path", None):
            return candidate.path
    return "unmatched"


class Observe:
    """Pure ASGI middleware, outermost: gives the request its id, times it, counts it and writes
    its access log line; serves ``/metrics``."""

    def __init__(self, app, metrics: Metrics, router_getter, token: str | None = None):
        self.app = app
        self.metrics = metrics
        self.router_getter = router_getter
        self.token = token or None

    def _may_scrape(self, headers: dict) -> bool:
        """Without a token, anyone who reaches the port; with one, ``Authorization: Bearer`` with
        it, compared in constant time (request volumes are business figures)."""
        if self.token is None:
            return True
        auth = (headers.get(b"authorization") or b"").decode("latin-1")
        given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if scope["path"] == "/metrics" and scope["method"] == "GET":
            if not self._may_scrape(headers):
                rid = env.request_id_from(None)
                body = env.error_body(
                    "AUTHENTICATION_FAILED", "A metrics token is required.", system="core", request_id=rid
                )
                return await env.response(body, 401, request_id=rid)(scope, receive, send)
            return await self.metrics.exposition()(scope, receive, send)
        rid = env.request_id_from((headers.get(b"x-request-id") or b"").decode("latin-1") or None)
        scope.setdefault("state", {})["request_id"] = rid
        token = current_request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def counted(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"]
            route = _route_of(self.router_getter(), scope)
            m = self.metrics
            m.requests.labels(method, route, str(status)).inc()
            m.latency.labels(method, route).observe(elapsed)
            if status >= 400:
                m.errors.labels(method, route, str(status)).inc()
            log.info(
                "%s %s %s",
                method,
                scope["path"],
                status,
                extra={
                    "http": {
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                    }
                },
            )
            current_request_id.reset(token)


# --------------------------------------------------------------------------- JSON logs


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the request id of
    the request being served, the access fields, and the exception when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or current_request_id.get()
        if rid:
            doc["request_id"] = rid
        http = getattr(record, "http", None)
        if http:
            doc.update(http)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def logging_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``hotelcore serve``: every logger (hotelcore's and
    uvicorn's) writes JSON lines to stderr; uvicorn's own access log stays off (ours has the
    route, the duration and the request id)."""
    lvl = level.upper()
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            "hotelcore": {"handlers": ["json"], "level": lvl, "propagate": False},
            "uvicorn": {"handlers": ["json"], "level": lvl, "propagate": False},
            "uvicorn.error": {"level": lvl},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
