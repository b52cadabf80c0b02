"""Outbound webhooks end to end: real receivers (hotelcore_tools.receiver, verifying with the Standard
Webhooks library) on 127.0.0.1, the real dispatcher against the test's database."""

from __future__ import annotations

import datetime as dt
import json
import threading

import httpx
import psycopg
import pytest
import tenacity
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hotelcore_tools.receiver import Answer, Receiver
from pyapi.dispatch import Delivery, Dispatcher, Schedule, new_secret, retry_after, sign
from tests.support.events import (
    add_webhook,
    create_customer,
    make_hotel,
    set_status,
    touch_customer,
    wait_readable,
)

FAST = Schedule(wait=tenacity.wait_fixed(0.2), max_attempts=4)


def status_of(db: psycopg.Connection, webhook: int) -> list[tuple]:
    return db.execute(
        "select e.event_id, d.status, d.attempts from core.webhook_deliveries d join core.events e on e.id = d.event_pk"
        " where d.consumer_id = %s order by d.id",
        (webhook,),
    ).fetchall()


def drain(dispatcher: Dispatcher, until, timeout: float = 120.0) -> None:
    """run_once until ``until()`` holds: retries fall due after their wait, and an event becomes
    readable only once no older transaction of the cluster runs (the harness drops the previous
    test's database in the background)."""
    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
    while not until():
        assert dt.datetime.now() < deadline, "timed out"
        dispatcher.run_once()
        threading.Event().wait(0.05)


def test_events_arrive_signed_with_the_event_id_and_verify(db: psycopg.Connection, fresh_db: str) -> None:
    hotel = make_hotel(db)
    with Receiver([]) as rx:
        webhook, secret = add_webhook(db, rx.url, ["room.*", "customer.created"])
        rx.secrets.append(secret)
        set_status(db, hotel, hotel.room_ids[0], "dirty")
        customer = create_customer(db, 1)
        touch_customer(db, customer, "Osaka")  # not wanted by the endpoint
        with Dispatcher(fresh_db, schedule=FAST) as d:
            drain(d, lambda: len(rx.received) >= 2)
        got = rx.wait_for(2)
    assert rx.rejected == []
    events = dict(
        db.execute(
            "select type, event_id from core.events where type in ('room.status_changed', 'customer.created')"
        ).fetchall()
    )
    assert {g.event_type: g.webhook_id for g in got} == events
    room = next(g for g in got if g.event_type == "room.status_changed")
    assert room.body["data"]["data"]["to_status"] == "dirty"
    assert room.body["data"]["hotel_id"] == hotel.id
    assert status_of(db, webhook) == [
        (events["room.status_changed"], "delivered", 1),
        (events["customer.created"], "delivered", 1),
    ]
    log = db.execute(
        "select outcome, status_code, latency_ms > 0 from report.webhook_delivery_log"
    ).fetchall()
    assert log == [("delivered", 204, True)] * 2
    stats = db.execute(
        "select delivered, dead, success_rate, latency_p95_ms is not null, meets_success_target"
        " from report.webhook_delivery_stats where webhook_id = %s",
        (webhook,),
    ).fetchone()
    assert stats == (2, 0, 1, True, True)


def test_a_receiver_on_the_library_rejects_a_tampered_body_and_an_old_timestamp() -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    delivery = Delivery(
        1, 1, "http://x", [secret], "evt_" + "0" * 32, "room.status_changed", '{"type":"room.status_changed"}'
    )
    now = dt.datetime.now(dt.UTC)
    hook = Webhook(secret)
    assert hook.verify(delivery.body, sign(delivery, now)) == {"type": "room.status_changed"}
    with pytest.raises(WebhookVerificationError):
        hook.verify(delivery.body.replace("room", "r00m"), sign(delivery, now))
    with pytest.raises(WebhookVerificationError):
        hook.verify(delivery.body, sign(delivery, now - dt.timedelta(minutes=5, seconds=5)))
    # and over HTTP: the receiver answers 400 and keeps nothing
    with Receiver(secret) as rx:
        headers = sign(delivery, now)
        assert httpx.post(rx.url, content=b'{"type":"tampered"}', headers=headers).status_code == 400
        old = sign(delivery, now - dt.timedelta(minutes=6))
        assert httpx.post(rx.url, content=delivery.body.encode(), headers=old).status_code == 400
        assert httpx.post(rx.url, content=delivery.body.encode(), headers=headers).status_code == 204
        assert len(rx.received) == 1 and len(rx.rejected) == 2


def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(
    db: psycopg.Connection, fresh_db: str
) -> None:
    hotel = make_hotel(db)
    with Receiver([]) as old_rx, Receiver([]) as new_rx:
        webhook, old_secret = add_webhook(db, old_rx.url, ["room.*"])
        second, sealed = new_secret()
        until = db.execute("select api.rotate_webhook_secret(%s, %s)", (webhook, sealed)).fetchone()[0]
        assert until > dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)
        old_rx.secrets.append(old_secret)
        new_rx.secrets.append(second)
        set_status(db, hotel, hotel.room_ids[0], "dirty")
        with Dispatcher(fresh_db, schedule=FAST) as d:
            drain(d, lambda: len(old_rx.received) >= 1)
            got = old_rx.wait_for(1)
            assert len(got[0].signatures.split(" ")) == 2
            # the new receiver accepts the same delivery: point the endpoint at it and replay
            db.execute(
                "update core.webhook_endpoints set url = %s where consumer_id = %s", (new_rx.url, webhook)
            )
            event = got[0].webhook_id
            assert db.execute("select api.replay_webhook(%s, %s)", (webhook, event)).fetchone()[0] == 1
            drain(d, lambda: len(new_rx.received) >= 1)
            assert new_rx.wait_for(1)[0].webhook_id == event
            # the overlap ends: only the new secret signs, the old receiver rejects
            newest, sealed = new_secret()
            assert db.execute(
                "select api.rotate_webhook_secret(%s, %s, interval '0')", (webhook, sealed)
            ).fetchone() == (None,)
            new_rx.secrets[:] = [newest]
            old_rx.secrets[:] = [old_secret, second]
            db.execute(
                "update core.webhook_endpoints set url = %s where consumer_id = %s", (old_rx.url, webhook)
            )
            set_status(db, hotel, hotel.room_ids[0], "clean")
            drain(d, lambda: len(old_rx.rejected) >= 1)
    assert len(old_rx.received) == 1 and len(old_rx.rejected) == 1


def test_failures_are_retried_with_the_same_webhook_id_until_delivered(
    db: psycopg.Connection, fresh_db: str
) -> None:
    answers = iter([Answer(500), Answer(502), Answer(204)])
    with Receiver([], script=lambda item: next(answers)) as rx:
        webhook, secret = add_webhook(db, rx.url, ["customer.*"])
        rx.secrets.append(secret)
        create_customer(db, 1)
        with Dispatcher(fresh_db, schedule=FAST) as d:
            drain(d, lambda: [s for _, s, _ in status_of(db, webhook)] == ["delivered"])
        ids = {r.webhook_id for r in rx.received}
        stamps = [r.timestamp for r in rx.received]
    assert len(rx.received) == 3 and len(ids) == 1 and stamps == sorted(stamps)
    log = db.execute(
        "select attempt, status_code, outcome from report.webhook_delivery_log order by attempt_id"
    ).fetchall()
    assert log == [(1, 500, "failed"), (2, 502, "failed"), (3, 204, "delivered")]


def test_retry_after_is_honoured(db: psycopg.Connection, fresh_db: str) -> None:
    with Receiver([], script=lambda item: Answer(503, headers={"Retry-After": "120"})) as rx:
        webhook, secret = add_webhook(db, rx.url, ["customer.*"])
        rx.secrets.append(secret)
        create_customer(db, 1)
        with Dispatcher(fresh_db, schedule=FAST) as d:
            drain(d, lambda: len(rx.received) >= 1)
    wait = db.execute(
        "select extract(epoch from next_attempt_at - clock_timestamp()) from core.webhook_deliveries where consumer_id = %s",
        (webhook,),
    ).fetchone()[0]
    assert 100 < wait <= 120  # not FAST's 0.2 s
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == dt.timedelta(minutes=1)
    assert retry_after("9999999", now) == dt.timedelta(days=1)
    assert retry_after("soon", now) is None


def test_the_last_failure_is_a_dead_letter_and_replay_sends_it_again(
    db: psycopg.Connection, fresh_db: str
) -> None:
    healthy = threading.Event()
    with Receiver([], script=lambda item: Answer(204 if healthy.is_set() else 500)) as rx:
        webhook, secret = add_webhook(db, rx.url, ["customer.*"])
        rx.secrets.append(secret)
        create_customer(db, 1)
        with Dispatcher(fresh_db, schedule=FAST) as d:
            drain(d, lambda: [s for _, s, _ in status_of(db, webhook)] == ["dead"])
            dead = db.execute(
                "select event_id, attempts, last_status from report.webhook_dead_letters"
            ).fetchall()
            assert len(dead) == 1 and dead[0][1:] == (4, 500)
            healthy.set()
            assert db.execute("select api.replay_webhook(%s, %s)", (webhook, dead[0][0])).fetchone()[0] == 1
            drain(d, lambda: len(rx.received) >= 5)
    assert [r.webhook_id for r in rx.received] == [dead[0][0]] * 5
    assert [s for _, s, _ in status_of(db, webhook)] == ["dead", "delivered"]


def test_410_gone_disables_the_endpoint(db: psycopg.Connection, fresh_db: str) -> None:
    with Receiver([], script=lambda item: Answer(410)) as rx:
        webhook, secret = add_webhook(db, rx.url, ["customer.*"])
        rx.secrets.append(secret)
        create_customer(db, 1)
        with Dispatcher(fresh_db, schedule=FAST) as d:
            drain(d, lambda: len(rx.received) >= 1)
            create_customer(db, 2)
            wait_readable(db)
            d.run_once()
    assert len(rx.received) == 1
    reason = db.execute(
        "select disabled_reason from api.list_webhooks() where webhook_id = %s", (webhook,)
    ).fetchone()[0]
    assert "410" in reason
    # a disabled endpoint's cursor waits: the second event is not queued until it is enabled
    assert [s for _, s, _ in status_of(db, webhook)] == ["dead"]


def test_an_aggregates_events_wait_behind_its_failing_one(db: psycopg.Connection, fresh_db: str) -> None:
    """Per endpoint, an aggregate's events go out in sequence order: the second waits while the
    first is retried; another aggregate's event is not held up."""
    first_fails = {"left": 2}

    def script(item):
        if item.event_type == "customer.created" and item.body["data"]["aggregate"]["id"] == str(slow):
            if first_fails["left"]:
                first_fails["left"] -= 1
                return Answer(500)
        return Answer(204)

    with Receiver([], script=script) as rx:
        webhook, secret = add_webhook(db, rx.url, ["customer.*"])
        rx.secrets.append(secret)
        slow = create_customer(db, 1)
        touch_customer(db, slow, "Kobe")
        other = create_customer(db, 2)
        with Dispatcher(fresh_db, schedule=FAST) as d:
            drain(
                d,
                lambda: (
                    bool(status_of(db, webhook))
                    and all(s == "delivered" for _, s, _ in status_of(db, webhook))
                ),
            )
    order = [(r.body["data"]["aggregate"]["id"], r.body["data"]["aggregate"]["seq"]) for r in rx.received]
    mine = [seq for agg, seq in order if agg == str(slow)]
    assert mine == [1, 1, 1, 2]  # two failures of seq 1, then 1, then 2
    assert order.index((str(other), 1)) < order.index((str(slow), 2))


@pytest.mark.slow
def test_several_dispatchers_never_send_one_delivery_twice_and_keep_aggregate_order(
    db: psycopg.Connection, fresh_db: str
) -> None:
    in_flight: set[str] = set()
    overlaps: list[str] = []
    lock = threading.Lock()

    def script(item):
        key = f"{item.webhook_id}"
        with lock:
            if key in in_flight:
                overlaps.append(key)
            in_flight.add(key)
        threading.Event().wait(0.01)
        with lock:
            in_flight.discard(key)
        return Answer(204)

    with Receiver([], script=script) as rx:
        webhook, secret = add_webhook(db, rx.url, ["customer.*"])
        rx.secrets.append(secret)
        customers = [create_customer(db, i) for i in range(10)]
        for round_ in range(8):
            for c in customers:
                touch_customer(db, c, f"City {round_}")
        total = db.execute("select count(*) from core.events where type like 'customer.%'").fetchone()[0]
        dispatchers = [
            Dispatcher(fresh_db, name=f"d{i}", schedule=FAST, workers=4, batch=8) for i in range(3)
        ]
        try:

            def done() -> bool:
                with psycopg.connect(fresh_db) as conn:
                    states = [s for _, s, _ in status_of(conn, webhook)]
                return len(states) == total and set(states) == {"delivered"}

            threads = [threading.Thread(target=drain, args=(d, done, 60)) for d in dispatchers]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert done()
        finally:
            for d in dispatchers:
                d.close()
    assert overlaps == []
    assert len(rx.received) == total == len({r.webhook_id for r in rx.received})
    seen: dict[str, int] = {}
    for r in rx.received:
        agg, seq = r.body["data"]["aggregate"]["id"], r.body["data"]["aggregate"]["seq"]
        assert seq == seen.get(agg, 0) + 1, f"customer {agg}: {seq} after {seen.get(agg)}"
        seen[agg] = seq
    used = {r[0] for r in db.execute("select distinct dispatcher from report.webhook_delivery_log")}
    assert len(used) >= 2, used
    body = json.loads(json.dumps(rx.received[0].body))
    assert body["type"].startswith("customer.")
