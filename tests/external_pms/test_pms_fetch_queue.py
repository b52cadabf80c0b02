"""The follow-up fetch of a Cloudbeds notification is durable: queued (core.pms_fetch_queue) in
the transaction that accepts the notification, drained by the worker with leases (FOR UPDATE
SKIP LOCKED). An API process killed with SIGKILL while the vendor is answering the fetch loses
nothing: after a restart the reservation is fetched and mirrored. Over real HTTP: the simulated
Cloudbeds sends its notification to an API process of its own."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal

import psycopg
import pytest

from hotelcore_tools.vendor_sim import Simulator, start_simulator
from pyapi.pms import service
from pyapi.pms.connector import Resilience, Resilient
from pyapi.pms.runtime import PmsRuntime
from pyapi.pool import Database

API = textwrap.dedent(
    """
    import sys, time
    from pyapi.http import start_server

    api = start_server(sys.argv[1], pms_sync_interval=0.3)
    print(api.url, flush=True)
    while True:
        time.sleep(3600)
    """
)


def start_api(url: str) -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen(
        [sys.executable, "-c", API, url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    line = child.stdout.readline().strip()
    assert line.startswith("http://"), line
    return child, line


def wait_for(predicate, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
def vendor(db: psycopg.Connection):
    sim = Simulator()
    sim.add_property("P1", "key-1", room_types=[("RT1", "Ondol Room", 2, 3, Decimal("120000"))])
    running = start_simulator(sim)
    today = db.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
    yield sim, running, today
    running.stop()
    assert sim.violations == []


def queue(db: psycopg.Connection) -> list[tuple]:
    return db.execute(
        "select entity_id, attempts, done_at is not null, given_up_at is not null, claimed_until is not null "
        "from core.pms_fetch_queue order by id"
    ).fetchall()


def mirrored(db: psycopg.Connection, reservation_id: str) -> bool:
    return (
        db.execute(
            "select count(*) from core.pms_reservations where external_id = %s", [reservation_id]
        ).fetchone()[0]
        == 1
    )


def test_a_worker_killed_mid_fetch_fetches_the_reservation_after_restart(db, fresh_db, vendor):
    sim, running, today = vendor
    first, url = start_api(fresh_db)
    second = None
    try:
        service.import_property(
            db,
            vendor="cloudbeds",
            property_id="P1",
            base_url=running.url,
            api_key="key-1",
            webhook_base=url,
            resilient=Resilient(),
            today=today,
        )
        # the vendor hangs on the fetch: the worker is in the middle of it when it dies
        faults = sim.faults("P1")
        faults.fail_operations, faults.timeout_next, faults.hang = {"getReservation"}, 10, 8.0
        start = today + dt.timedelta(days=3)
        booked = sim.book_elsewhere("P1", "RT1", start, start + dt.timedelta(days=2))  # another channel
        wait_for(lambda: any(r[0] == "P1" and r[2] == "getReservation" for r in list(sim.requests)))
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        # the notification was accepted (200) and its fetch queued; nothing of it reached the mirror
        assert queue(db) == [(booked, 1, False, False, True)]
        assert not mirrored(db, booked)

        # a new process: once the dead worker's lease is over, its sync worker fetches the reservation
        faults.timeout_next = 0
        db.execute(
            "select internal.shift_clock(interval '200 seconds')"
        )  # past the 120 s lease, before any poll
        second, _ = start_api(fresh_db)
        wait_for(lambda: mirrored(db, booked))
        wait_for(lambda: queue(db) == [(booked, 2, True, False, False)])
        assert db.execute("select count(*) from core.pms_sync_runs").fetchone()[0] == 0  # no poll did it
    finally:
        for child in (first, second):
            if child is not None and child.poll() is None:
                child.kill()
                child.wait(timeout=30)


def test_duplicates_queue_once_failures_wait_and_retry_then_give_up(db, fresh_db, vendor):
    sim, running, today = vendor
    hotel = service.import_property(
        db,
        vendor="cloudbeds",
        property_id="P1",
        base_url=running.url,
        api_key="key-1",
        resilient=Resilient(),
        today=today,
    )["hotel_id"]
    pool = Database(fresh_db, min_size=1, max_size=4)
    pool.open()
    runtime = PmsRuntime(pool, Resilience(sleep=lambda s: None))  # tenacity's retries without waiting
    try:
        start = today + dt.timedelta(days=3)
        booked = sim.book_elsewhere("P1", "RT1", start, start + dt.timedelta(days=1))

        def enqueue(event_id: str) -> str:
            return db.execute(
                "select api.pms_enqueue_fetch('cloudbeds', %s, %s, 'reservation/created', %s)",
                [event_id, hotel, booked],
            ).fetchone()[0]

        assert [enqueue("e1"), enqueue("e1")] == ["queued", "duplicate"]  # a duplicate delivery
        sim.faults("P1").outage = True  # every try of the fetch fails (tenacity's retries included)
        assert runtime.drain_fetches() == ["retry"]
        wait = db.execute(
            "select next_attempt_at - internal.now(), last_error from core.pms_fetch_queue"
        ).fetchone()
        assert dt.timedelta(seconds=4) <= wait[0] <= dt.timedelta(seconds=8) and "503" in wait[1]
        assert runtime.drain_fetches() == []  # not due yet
        sim.faults("P1").outage = False
        db.execute("select internal.shift_clock(interval '10 seconds')")
        assert runtime.drain_fetches() == ["done"] and mirrored(db, booked)
        assert queue(db) == [(booked, 2, True, False, False)]
        # two workers draining at once never take the same row
        for i in range(6):
            enqueue(f"many-{i}")
        db.execute("select internal.shift_clock(interval '20 seconds')")
        with psycopg.connect(fresh_db, autocommit=True) as a, psycopg.connect(fresh_db) as b:
            b.execute("select * from api.pms_claim_fetches(3)").fetchall()  # holds its rows' locks
            taken = a.execute("select id from api.pms_claim_fetches(10)").fetchall()
            b.rollback()
        assert len(taken) == 3
        # a fetch that keeps failing is given up after its attempts (the next poll reads it)
        db.execute("update core.pms_fetch_queue set done_at = internal.now() where done_at is null")
        enqueue("doomed")
        sim.faults("P1").outage = True
        outcomes = []
        for i in range(8):
            db.execute("select internal.shift_clock(%s::interval)", [f"{60 + 1000 * (i + 1)} seconds"])
            outcomes += runtime.drain_fetches()
        assert outcomes == ["retry"] * 7 + ["given_up"]
    finally:
        runtime.close()
        pool.close()
