"""The demo's events: a local receiver that verifies every signature (Standard Webhooks) is
registered as a webhook endpoint for every event type, a dispatcher runs beside the season, and
the report shows events per type, delivery latency and the consumers' lag."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from rich.table import Table

from pyapi.client import bind
from pyapi.dispatch import dispatcher_process, new_secret

from ..receiver import Receiver


class EventFlow:
    """``with EventFlow(url) as flow: <the season>``; then ``flow.finish()`` waits for the last
    deliveries and ``flow.tables()`` / ``flow.invariants`` report them."""

    def __init__(self, database_url: str):
        self.url = database_url
        self.receiver = Receiver([])
        self.invariants: dict[str, int] = {}
        self.summary: dict[str, Any] = {}

    def __enter__(self) -> EventFlow:
        self.receiver.__enter__()
        with psycopg.connect(self.url, autocommit=True) as conn:
            secret, sealed = new_secret()
            (self.webhook_id,) = conn.execute(
                "select webhook_id from api.add_webhook(%s, array['*'], %s, p_description => 'demo receiver')",
                (self.receiver.url, sealed),
            ).fetchone()
        self.receiver.secrets.append(secret)
        # the dispatcher in a process of its own, as it runs in production
        self.stop = threading.Event()
        self.dispatcher = dispatcher_process(self.url)
        self.dispatcher.__enter__()
        self.pulled: dict[str, int] = {}
        self.puller = threading.Thread(target=self._pull, name="pull-consumers", daemon=True)
        self.puller.start()
        return self

    def _pull(self) -> None:
        """The three systems' pull consumers, as a system would run them: woken by NOTIFY (or a
        0.5 s poll), read a batch, acknowledge it."""
        import select

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("listen hotelcore_events")
            while not self.stop.is_set():
                busy = False
                for consumer in ("hotel-member", "hotel-pms", "hotel-saas"):
                    rows = conn.execute(
                        *bind("read_events", columns=("event_id",), p_consumer=consumer, p_limit=500)
                    ).fetchall()
                    if rows:
                        busy = True
                        conn.execute(*bind("ack_events", p_consumer=consumer, p_up_to=rows[-1][0]))
                        self.pulled[consumer] = self.pulled.get(consumer, 0) + len(rows)
                if not busy:
                    select.select([conn.fileno()], [], [], 0.5)
                    for _ in conn.notifies(timeout=0):
                        pass

    def finish(self, timeout: float = 120.0) -> None:
        """Wait until every event of the season is delivered (or the timeout), then stop."""
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                left = conn.execute("select sum(unread) from report.event_consumer_lag").fetchone()[0]
                if left == 0:
                    break
                time.sleep(0.5)
            self.stop.set()
            self.dispatcher.__exit__(None, None, None)
            self.puller.join(30)
            self.per_type = conn.execute(
                "select event_type, events from report.events_per_type order by events desc, event_type"
            ).fetchall()
            self.stats = conn.execute(
                "select delivered, dead, pending, success_rate, latency_p50_ms, latency_p95_ms, latency_p99_ms,"
                " meets_success_target, meets_delay_target from report.webhook_delivery_stats where webhook_id = %s",
                (self.webhook_id,),
            ).fetchone()
            self.lag = conn.execute(
                "select consumer, kind, unread, lag_seconds, meets_target from report.event_consumer_lag order by consumer"
            ).fetchall()
            committed = conn.execute("select count(*) from core.events").fetchone()[0]
        received = {r.webhook_id for r in self.receiver.received}
        self.invariants = {
            "webhook_signatures_rejected": len(self.receiver.rejected),
            "webhook_events_undelivered": committed - len(received),
        }
        self.summary = {"events": committed, "received": len(received)}

    def __exit__(self, *exc) -> None:
        if not self.stop.is_set():
            self.stop.set()
            self.dispatcher.__exit__(None, None, None)
        self.receiver.__exit__(*exc)

    def tables(self) -> list[Table]:
        per_type = Table("event type", "events", title="Events between the systems (the outbox)")
        for event_type, n in self.per_type:
            per_type.add_row(event_type, f"{n:,}")
        delivered, dead, pending, rate, p50, p95, p99, ok_rate, ok_delay = self.stats
        delivery = Table(
            "delivered", "dead", "pending", "success", "p50 ms", "p95 ms", "p99 ms",
            title=f"Webhook deliveries to the verifying receiver ({self.summary['received']:,} event ids verified)",
        )  # fmt: skip
        delivery.add_row(
            f"{delivered:,}", str(dead), str(pending),
            f"{rate:.4%} {'✅' if ok_rate else '❌'}" if rate is not None else "-",
            str(p50), f"{p95} {'✅' if ok_delay else '❌'}", str(p99),
        )  # fmt: skip
        lag = Table(
            "consumer",
            "kind",
            "read",
            "unread",
            "lag s",
            "≤ 10 s",
            title="Consumers' lag (seed 000: sync delay ≤ 10 s)",
        )
        for consumer, kind, unread, seconds, ok in self.lag:
            read = self.pulled.get(consumer, delivered if kind == "webhook" else 0)
            lag.add_row(consumer, kind, f"{read:,}", f"{unread:,}", str(seconds), "✅" if ok else "❌")
        return [per_type, delivery, lag]
