"""The external-PMS side of a running API process: one :class:`~.connector.Resilient` (a breaker
per vendor and property, its history written to ``core.pms_breaker_events``), the webhook
receiver's work, the search's freshness (mirror hit, or refresh from the PMS on a miss, or the
mirror with its age while the PMS is down), and the polling worker.

``db`` is any object with ``run(creds, work)`` (the HTTP pool): the connector's writes run under
the process's own login, which holds the admin-only ``api.pms_*`` rights.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import psycopg
import tenacity
from psycopg.types.json import Jsonb

from .. import vault
from ..client import bind
from ..dispatch import Schedule
from . import service, webhooks
from .connector import PmsCircuitOpen, PmsError, Resilience, Resilient, vendors

log = logging.getLogger("hotelcore.pms")

# follow-up fetches: a claim lasts longer than a fetch with its retries; a failed one waits about
# 5 s, 10 s, 20 s ... (capped at 15 min, with jitter), 8 attempts, then the polling sync has it
FETCH_LEASE_SECONDS = 120
FETCH_SCHEDULE = Schedule(
    wait=tenacity.wait_exponential(multiplier=5, max=900) + tenacity.wait_random(0, 2), max_attempts=8
)


@dataclass
class Freshness:
    source: str  # mirror (fresh or refreshed now) or mirror_stale (the PMS did not answer)
    as_of: dt.datetime | None
    refreshed: bool
    degraded: bool
    retry_after: float | None = None

    def document(self) -> dict[str, Any]:
        return {
            "source": "mirror",
            "as_of": self.as_of,
            "age_seconds": None
            if self.as_of is None
            else round((dt.datetime.now(dt.UTC) - self.as_of).total_seconds(), 1),
            "refreshed_from_pms": self.refreshed,
            "degraded": self.degraded,
        }


@dataclass
class CityFreshness:
    """What a city (or chain) search's external hotels looked like before it answered: the stale
    ranges refreshed from their PMS within the time budget, and those that answer from the mirror
    with its age (the vendor slow, failing or its breaker open)."""

    refreshed: list[int] = field(default_factory=list)
    degraded: list[int] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        out = {"X-PMS-Refreshed": ",".join(map(str, self.refreshed))}
        if self.degraded:
            out["X-PMS-Degraded"] = ",".join(map(str, self.degraded))
        return out


class PmsRuntime:
    def __init__(
        self,
        db,
        resilience: Resilience | None = None,
        *,
        fetch_workers: int = 4,
        refresh_workers: int = 8,
        city_budget: float = 1.5,
    ):
        self.db = db
        self.resilient = Resilient(resilience, on_change=self._breaker_changed)
        self.pool = ThreadPoolExecutor(max_workers=fetch_workers, thread_name_prefix="pms-fetch")
        # refreshes of stale mirror ranges for searches over many hotels: concurrent, and one
        # request per hotel and range in flight however many searches want it
        self.refresh_pool = ThreadPoolExecutor(max_workers=refresh_workers, thread_name_prefix="pms-refresh")
        self.city_budget = city_budget
        self._inflight: dict[tuple[int, dt.date, dt.date], Future] = {}
        self._hotels: dict[tuple[str, str], int] = {}
        self._external: dict[int, tuple[str, str] | None] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)
        self.refresh_pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ which hotels

    def vendor_of(self, hotel_id: int) -> tuple[str, str] | None:
        """(vendor, property id) of an external hotel, None for a hotel of hotelcore's own ledger."""
        with self._lock:
            if hotel_id in self._external:
                return self._external[hotel_id]

        def read(conn: psycopg.Connection):
            return conn.execute(
                # a query over the status of every external hotel, not a call: a hotel not kept by a
                # PMS is no row here (the function's argument would refuse it)
                "select vendor, property_id from api.pms_sync_status() where hotel_id = %(hotel_id)s",
                {"hotel_id": hotel_id},
            ).fetchone()

        row = self.db.run(None, read)
        with self._lock:
            self._external[hotel_id] = tuple(row) if row else None
            if row:
                self._hotels[tuple(row)] = hotel_id
            return self._external[hotel_id]

    def _breaker_changed(self, vendor: str, property_id: str, state: str) -> None:
        hotel_id = self._hotels.get((vendor, property_id))
        if hotel_id is None:
            return
        self.db.run(
            None, lambda conn: conn.execute(*bind("pms_record_breaker", p_hotel_id=hotel_id, p_state=state))
        )

    def open_for(self, hotel_id: int) -> float | None:
        ext = self.vendor_of(hotel_id)
        return None if ext is None else self.resilient.open_for(*ext)

    # ------------------------------------------------------------------ search freshness

    def freshness(self, hotel_id: int, check_in: dt.date, check_out: dt.date) -> Freshness:
        """Seed 001's read path: a fresh mirror answers (hit); a miss asks the PMS for the range
        first; while the PMS is down (breaker open, or the refresh failed) the mirror answers
        with its age."""

        def lookup(conn: psycopg.Connection):
            return conn.execute(
                *bind(
                    "pms_lookup",
                    columns=("fresh", "as_of"),
                    p_hotel_id=hotel_id,
                    p_check_in=check_in,
                    p_check_out=check_out,
                )
            ).fetchone()

        fresh, as_of = self.db.run(None, lookup)
        if fresh:
            return Freshness("mirror", as_of, False, False)
        try:
            as_of = self.db.run(
                None,
                lambda conn: service.refresh(conn, hotel_id, check_in, check_out, resilient=self.resilient),
            )
        except PmsCircuitOpen as exc:
            return Freshness("mirror", as_of, False, True, exc.retry_after)
        except PmsError as exc:
            log.warning("refresh of hotel %s from its PMS failed: %s", hotel_id, exc)
            return Freshness("mirror", as_of, False, True, self.open_for(hotel_id))
        return Freshness("mirror", as_of, True, False)

    def refresh_stale(
        self, stale: list[int], check_in: dt.date, check_out: dt.date, budget: float | None = None
    ) -> CityFreshness:
        """A city (or chain) search's read path: the stale mirror ranges of its external hotels
        refreshed from their PMS concurrently, waiting at most ``budget`` seconds in all; a hotel
        whose breaker is open is not asked, and one whose vendor is slower than the budget or
        fails answers from the mirror with its age (a refresh still running lands in the mirror
        for the next search)."""
        result = CityFreshness()
        budget = self.city_budget if budget is None else budget
        futures: dict[Future, int] = {}
        for hotel_id in stale:
            if self.open_for(hotel_id) is not None:
                result.degraded.append(hotel_id)
                continue
            futures[self._refresh_async(hotel_id, check_in, check_out)] = hotel_id
        deadline = time.monotonic() + budget
        done, _ = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        for future, hotel_id in futures.items():
            if future in done and future.exception() is None:
                result.refreshed.append(hotel_id)
            else:
                result.degraded.append(hotel_id)
        result.refreshed.sort()
        result.degraded.sort()
        return result

    def _refresh_async(self, hotel_id: int, check_in: dt.date, check_out: dt.date) -> Future:
        key = (hotel_id, check_in, check_out)
        with self._lock:
            running = self._inflight.get(key)
            if running is not None:
                return running
            future = self.refresh_pool.submit(self._refresh, hotel_id, check_in, check_out)
            self._inflight[key] = future

        def forget(_: Future) -> None:
            with self._lock:
                if self._inflight.get(key) is future:
                    del self._inflight[key]

        future.add_done_callback(forget)
        return future

    def _refresh(self, hotel_id: int, check_in: dt.date, check_out: dt.date) -> dt.datetime:
        """One stale range from the PMS into the mirror; no database connection is held while
        the vendor answers."""
        try:

            def prepare(conn: psycopg.Connection):
                bound, info = service.connector_for(conn, hotel_id, self.resilient)
                return bound, info, conn.execute("select internal.now()").fetchone()[0]

            self.vendor_of(hotel_id)
            bound, info, asked = self.db.run(None, prepare)
            mirror = service.fetch_range(bound, info, check_in, check_out)
            self.db.run(None, lambda conn: service.apply_range(conn, hotel_id, mirror, asked, "fetch"))
            return asked
        except PmsError as exc:
            log.warning("refresh of hotel %s from its PMS failed: %s", hotel_id, exc)
            raise

    # ------------------------------------------------------------------ webhooks

    def receive(self, vendor: str, raw: bytes, signature: str | None, token: str | None) -> dict[str, Any]:
        """Checks and applies one webhook; raises :class:`~.webhooks.WebhookRejected`."""
        if vendor not in vendors():
            raise webhooks.WebhookRejected("PMS_VENDOR_UNKNOWN", f"No connector for vendor {vendor[:40]!r}.")
        body = webhooks.parse(raw)
        now = dt.datetime.now(dt.UTC)
        if signature is not None:
            prop = body.get("hotelId")
            target = self._target(vendor, prop)
            # the secret is stored sealed: opened here, in memory only, to check the signature
            webhooks.check_signature(raw, signature, vault.open_sealed(target[1]))
            at = webhooks.check_timestamp(body, now)
            event = webhooks.seed_event(body, at)
            outcome = self._apply(vendor, event.event_id, target[0], event.kind, event.document)
            return {"event_id": event.event_id, "outcome": outcome}
        if token is None:
            raise webhooks.WebhookRejected(
                "WEBHOOK_SIGNATURE_INVALID", "Neither X-PMS-Signature nor the endpoint token."
            )
        note = webhooks.notification(body, raw)
        target = self._target(vendor, note.property_id)
        webhooks.check_token(token, target[2])
        # answered at once; the entity is fetched afterwards (Cloudbeds' payloads are thin): the
        # fetch is queued in this transaction (durable), then drained at once here and by the
        # sync worker's rounds, so a crash in between only delays it
        if note.reservation_id is not None and note.event.startswith("reservation/"):
            self.db.run(
                None,
                lambda conn: conn.execute(
                    *bind(
                        "pms_enqueue_fetch",
                        p_vendor=vendor,
                        p_event_id=note.event_id,
                        p_hotel_id=target[0],
                        p_event=note.event[:100],
                        p_entity_id=note.reservation_id[:100],
                    )
                ),
            )
            self.pool.submit(self.drain_fetches)
        return {"event_id": note.event_id, "outcome": "accepted"}

    def _target(self, vendor: str, property_id: Any) -> tuple:
        if property_id is None or not isinstance(property_id, (str, int)):
            raise webhooks.WebhookRejected("WEBHOOK_MALFORMED", "The event names no property.")
        row = self.db.run(
            None,
            lambda conn: conn.execute(
                *bind(
                    "pms_webhook_target",
                    columns=("hotel_id", "webhook_secret", "webhook_token_sha256"),
                    p_vendor=vendor,
                    p_property_id=str(property_id)[:100],
                )
            ).fetchone(),
        )
        if row is None:
            # no secret to check it against: as unauthenticated as a bad signature
            raise webhooks.WebhookRejected(
                "WEBHOOK_SIGNATURE_INVALID", "The event names no property imported here."
            )
        return row

    def _apply(self, vendor: str, event_id: str, hotel_id: int, kind: str, document: dict) -> str:
        return self.db.run(
            None,
            lambda conn: conn.execute(
                *bind(
                    "pms_apply_webhook",
                    p_vendor=vendor,
                    p_event_id=event_id,
                    p_hotel_id=hotel_id,
                    p_kind=kind,
                    p_document=Jsonb(document),
                )
            ).fetchone()[0],
        )

    def drain_fetches(self, limit: int = 20) -> list[str]:
        """Runs the due follow-up fetches of vendor notifications (core.pms_fetch_queue), each
        claimed for a lease so concurrent workers (threads, processes) never take the same one:
        the reservation fetched and applied in the transaction that marks it done, then the
        stay's nights refreshed. A failure is retried after the schedule's wait (tenacity's
        exponential backoff), then given up to the next polling sync. Returns the outcomes."""
        claimed = self.db.run(
            None,
            lambda conn: conn.execute(
                *bind(
                    "pms_claim_fetches",
                    columns=("id", "hotel_id", "vendor", "event_id", "event", "entity_id", "attempts"),
                    p_limit=limit,
                    p_lease_seconds=FETCH_LEASE_SECONDS,
                )
            ).fetchall(),
        )
        return [self._fetch(*row) for row in claimed]

    def _fetch(
        self,
        queue_id: int,
        hotel_id: int,
        vendor: str,
        event_id: str,
        event: str,
        entity_id: str,
        attempts: int,
    ) -> str:
        def finish(conn: psycopg.Connection, error: str | None = None, retry_in: float | None = None) -> str:
            return conn.execute(
                *bind("pms_finish_fetch", p_id=queue_id, p_error=error, p_retry_in_seconds=retry_in)
            ).fetchone()[0]

        try:
            self.vendor_of(hotel_id)
            bound, _ = self.db.run(None, lambda conn: service.connector_for(conn, hotel_id, self.resilient))
            res = bound.call("reservation", entity_id)  # no database connection held meanwhile

            def apply(conn: psycopg.Connection) -> str:
                conn.execute(
                    *bind(
                        "pms_apply_webhook",
                        p_vendor=vendor,
                        p_event_id=event_id,
                        p_hotel_id=hotel_id,
                        p_kind="reservation",
                        p_document=Jsonb(res.document()),
                    )
                )
                return finish(conn)

            outcome = self.db.run(None, apply)
        except Exception as exc:  # recorded on the row and retried; never lost
            wait = FETCH_SCHEDULE.delay(attempts)
            error = f"{type(exc).__name__}: {exc}"
            log.warning("follow-up fetch of %s (hotel %s) failed: %s", event, hotel_id, error)
            return self.db.run(
                None, lambda conn: finish(conn, error, None if wait is None else wait.total_seconds())
            )
        try:  # and the stay's nights, as the vendor counts them now (a later sync corrects a miss)
            self._refresh(hotel_id, res.check_in, res.check_out)
        except Exception as exc:
            log.warning("refresh after %s of hotel %s failed: %s", event, hotel_id, exc)
        return outcome

    # ------------------------------------------------------------------ polling

    def sync_due(self, limit: int = 20) -> list[dict[str, Any]]:
        """One round of the polling worker: every external hotel whose sync is due."""
        due = self.db.run(
            None, lambda conn: [r[0] for r in conn.execute(*bind("pms_due_syncs", p_limit=limit))]
        )
        results = []
        for hotel_id in due:
            self.vendor_of(hotel_id)
            state = self.db.run(
                None, lambda conn, h=hotel_id: service.sync_hotel(conn, h, resilient=self.resilient)
            )
            if state is not None:
                results.append(state)
                if state.get("stopped"):
                    log.error("polling of external hotel %s stopped after 5 consecutive failures", hotel_id)
        return results
