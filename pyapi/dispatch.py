"""The webhook dispatcher: sends the deliveries the database says are due, signed the Standard
Webhooks way, and reports each answer back.

The database decides what is sent and what an answer means (db/functions/webhooks.sql): which
events an endpoint gets, which delivery is due (its lease, per-aggregate order), that 2xx is
delivered, 410 disables the endpoint and the last failure is a dead letter. This module only

- fans new events out into deliveries (api.fanout_webhook_events),
- leases due deliveries (api.claim_webhook_deliveries, FOR UPDATE SKIP LOCKED: several dispatchers
  may run at once and never send the same delivery at the same time),
- opens each endpoint's signing secrets (stored sealed, :mod:`pyapi.vault`: the database never
  holds one in clear) and signs with the ``standardwebhooks`` library (``webhook-id`` = the event
  id, the same on every retry; ``webhook-timestamp`` = the attempt's Unix seconds; ``webhook-signature`` = one
  ``v1,`` signature per live secret, space-separated during a rotation) and POSTs it (timeout 15 s),
- records the attempt with the delay before the next one (api.record_webhook_attempt): the
  receiver's ``Retry-After`` when it sent one, else the backoff schedule below, or none after the
  last attempt.

The backoff schedule is tenacity's: exponential with "equal jitter" (half of each wait fixed, half
random), base 4: about 5 s, 20 s, 1 min, 5 min, 20 min, 1 h, 4 h, then 9 h (6-12 h) waits, 15
attempts in all, about three days (``schedule_summary`` prints it). A dispatcher killed mid-delivery
loses nothing: its lease runs out (timeout + 15 s) and another dispatcher sends the same delivery,
with the same webhook-id.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email.utils
import logging
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import psycopg
import tenacity
from standardwebhooks.webhooks import Webhook

from . import vault
from .client import bind

log = logging.getLogger("hotelcore.dispatch")

TIMEOUT_SECONDS = 15.0
MAX_ATTEMPTS = 15
MAX_RETRY_AFTER = dt.timedelta(days=1)


def default_wait() -> tenacity.wait.wait_base:
    """Exponential backoff with equal jitter: 2.5 * 4^(n-1) s fixed plus as much at random, each
    half capped at 6 h."""
    return tenacity.wait_exponential(
        multiplier=2.5, exp_base=4, max=6 * 3600
    ) + tenacity.wait_random_exponential(multiplier=2.5, exp_base=4, max=6 * 3600)


@dataclass
class Schedule:
    """When to try again after attempt n failed: ``delay(n)`` from a tenacity wait strategy, or
    None once ``max_attempts`` attempts were made (the delivery becomes a dead letter)."""

    wait: tenacity.wait.wait_base = field(default_factory=default_wait)
    max_attempts: int = MAX_ATTEMPTS

    def delay(self, attempt: int) -> dt.timedelta | None:
        if attempt >= self.max_attempts:
            return None
        state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        return dt.timedelta(seconds=self.wait(state))


def schedule_summary(schedule: Schedule | None = None) -> str:
    """The schedule's waits at their midpoints, for --help and the README."""
    schedule = schedule or Schedule()
    waits, total = [], 0.0
    for n in range(1, schedule.max_attempts):
        fixed = tenacity.wait_exponential(multiplier=2.5, exp_base=4, max=6 * 3600)
        state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = n
        mid = fixed(state) * 1.5
        total += mid
        waits.append(_human(mid))
    return f"{schedule.max_attempts} attempts; waits about {', '.join(waits)} ({_human(total)} in all)"


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """The Retry-After header (seconds or an HTTP date) as a delay, within [1 s, 1 day]."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = dt.timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        delay = when - now
    return min(max(delay, dt.timedelta(seconds=1)), MAX_RETRY_AFTER)


@dataclass
class Delivery:
    delivery_id: int
    attempt: int
    url: str
    secrets: list[str]
    message_id: str
    event_type: str
    body: str


@dataclass
class Outcome:
    status_code: int | None
    error: str | None
    started_at: dt.datetime
    latency_ms: float
    retry_in: dt.timedelta | None


def new_secret() -> tuple[str, str]:
    """A new Standard Webhooks signing secret: whsec_ and 32 random bytes in base64, in clear (shown
    once to whoever registers the endpoint) and sealed (what api.add_webhook and
    api.rotate_webhook_secret store)."""
    clear = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return clear, vault.seal(clear)


def reseal_secrets(conn: psycopg.Connection) -> dict[str, int]:
    """Every endpoint's signing secrets sealed again under the newest key of the vault (its key
    rotation); returns how many endpoints were resealed and how many changed meanwhile (their
    secret rotated in between: left as they are, already under the newest key)."""
    done = {"resealed": 0, "changed_meanwhile": 0}
    stored = conn.execute(
        *bind("webhook_sealed_secrets", columns=("webhook_id", "secret_sealed", "previous_secret_sealed"))
    ).fetchall()
    for webhook_id, secret, previous in stored:
        ok = conn.execute(
            *bind(
                "reseal_webhook_secrets",
                p_webhook_id=webhook_id,
                p_secret_sealed=vault.reseal(secret),
                p_previous_secret_sealed=None if previous is None else vault.reseal(previous),
                p_was_secret=secret,
                p_was_previous_secret=previous,
            )
        ).fetchone()[0]
        done["resealed" if ok else "changed_meanwhile"] += 1
    return done


def sign(delivery: Delivery, timestamp: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers: one signature per live secret (two during a rotation)."""
    signatures = " ".join(
        Webhook(secret).sign(delivery.message_id, timestamp, delivery.body) for secret in delivery.secrets
    )
    return {
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": "hotelcore-dispatcher",
    }


class Dispatcher:
    """One dispatcher process: ``run_once`` delivers what is due and returns; ``run`` loops,
    woken by NOTIFY hotelcore_events, with a safety poll."""

    def __init__(
        self,
        database_url: str,
        *,
        name: str | None = None,
        workers: int = 8,
        batch: int = 64,
        timeout: float = TIMEOUT_SECONDS,
        lease: float | None = None,
        schedule: Schedule | None = None,
        poll: float = 0.5,
    ):
        self.database_url = database_url
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.workers = workers
        self.batch = batch
        self.timeout = timeout
        self.lease = lease if lease is not None else timeout + 15.0
        self.schedule = schedule or Schedule()
        self.poll = poll
        self.stop = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deliver")
        self._conn = psycopg.connect(database_url, autocommit=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()
        self._conn.close()

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ one round
    def fanout(self) -> int:
        total = 0
        while True:
            n = self._conn.execute(*bind("fanout_webhook_events", p_limit=1000)).fetchone()[0]
            total += n
            if n < 1000:
                return total

    def claim(self) -> list[Delivery]:
        rows = self._conn.execute(
            *bind(
                "claim_webhook_deliveries",
                columns=("delivery_id", "attempt", "url", "secrets", "message_id", "event_type", "body"),
                p_dispatcher=self.name,
                p_limit=self.batch,
                p_lease=dt.timedelta(seconds=self.lease),
            )
        ).fetchall()
        # the secrets come sealed; opened here, in the process that signs, and kept in memory only
        return [
            Delivery(d, attempt, url, [vault.open_sealed(s) for s in sealed], *rest)
            for d, attempt, url, sealed, *rest in rows
        ]

    def send(self, delivery: Delivery) -> Outcome:
        started = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        status, error, header = None, None, None
        try:
            response = self._client.post(
                delivery.url, content=delivery.body.encode(), headers=sign(delivery, started)
            )
            status = response.status_code
            header = response.headers.get("retry-after")
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000] or type(exc).__name__
        latency = (time.perf_counter() - t0) * 1000
        retry_in = None
        if error is not None and status != 410:
            backoff = self.schedule.delay(delivery.attempt)
            asked = retry_after(header, dt.datetime.now(dt.UTC))
            # Retry-After is honoured (it may shorten or lengthen the wait); never past the last attempt
            retry_in = asked if (asked is not None and backoff is not None) else backoff
        return Outcome(status, error, started, latency, retry_in)

    def record(self, conn: psycopg.Connection, delivery: Delivery, outcome: Outcome) -> None:
        conn.execute(
            *bind(
                "record_webhook_attempt",
                p_delivery_id=delivery.delivery_id,
                p_dispatcher=self.name,
                p_started_at=outcome.started_at,
                p_latency_ms=round(outcome.latency_ms, 3),
                p_status_code=outcome.status_code,
                p_error=outcome.error,
                p_retry_in=outcome.retry_in,
            )
        )

    def deliver(self, deliveries: list[Delivery]) -> int:
        """Send a leased batch concurrently, then record every attempt in one round trip."""
        outcomes = list(self._pool.map(self.send, deliveries))
        with self._conn.pipeline():
            for d, o in zip(deliveries, outcomes, strict=True):
                self.record(self._conn, d, o)
        return len(deliveries)

    def run_once(self) -> int:
        """Fan out, then send what is due until nothing is; returns the attempts made."""
        attempts = 0
        while True:
            self.fanout()
            deliveries = self.claim()
            if not deliveries:
                return attempts
            attempts += self.deliver(deliveries)

    # ------------------------------------------------------------------ the loop
    def run(self, purge_every: float = 3600.0) -> None:
        """Deliver until ``stop`` is set: after every NOTIFY hotelcore_events, and at least every
        ``poll`` seconds (retries fall due without a notification; a lost one only delays).
        Purges the log's expired events every ``purge_every`` seconds."""
        listener = psycopg.connect(self.database_url, autocommit=True)
        listener.execute("listen hotelcore_events")
        next_purge = time.monotonic() + purge_every
        try:
            while not self.stop.is_set():
                try:
                    self.run_once()
                    if time.monotonic() >= next_purge:
                        while self._conn.execute(*bind("purge_events")).fetchone()[0]:
                            pass
                        next_purge = time.monotonic() + purge_every
                except psycopg.OperationalError:
                    log.exception("database unavailable; retrying")
                    time.sleep(self.poll)
                    self._conn = psycopg.connect(self.database_url, autocommit=True)
                    continue
                # wait for a notification or the safety poll, then drain what arrived
                select.select([listener.fileno()], [], [], self.poll)
                for _ in listener.notifies(timeout=0):
                    pass
        finally:
            listener.close()


@contextlib.contextmanager
def dispatcher_process(url: str, poll: float = 0.5):
    """``hotelcore dispatch`` in a process of its own, as it runs in production (the demo's and the
    bench's); started, ready, then stopped with SIGTERM. Its output is read and dropped."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyapi.cli", "dispatch", "--poll", str(poll)],
        env=os.environ | {"DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line.startswith("dispatcher"):
            raise RuntimeError(f"the dispatcher did not start: {line}{proc.stdout.read()}")
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
