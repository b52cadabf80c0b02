"""Kill-and-recover: the API process is killed (SIGKILL) in the middle of a checkout; the recovery
job then finishes the saga (a confirmed booking is captured) or compensates it (a hold and an
authorisation the database never heard of are released and voided), and stores the answer the
client's retry with the same Idempotency-Key reads."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import httpx
import pytest

from pyapi.checkout.gateway import SimulatedGateway
from tests.support.http import assert_clean, checkout_body

SERVER = textwrap.dedent(
    """
    import sys, time
    from pyapi.http.app import serve
    from pyapi.checkout.gateway import SimulatedGateway

    class Hanging(SimulatedGateway):
        # authorises, then hangs before answering (when asked to), or hangs in capture
        def preauthorise(self, **kw):
            ref = super().preauthorise(**kw)
            if sys.argv[3] == "after-authorise":
                time.sleep(600)
            return ref

        def capture(self, **kw):
            if sys.argv[3] == "in-capture":
                time.sleep(600)
            return super().capture(**kw)

    serve("127.0.0.1", int(sys.argv[2]), database_url=sys.argv[1], log_level="warning",
          gateway=Hanging(), recovery_interval=0)
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_until_killed(world, db, stage: str, wait_sql: str) -> None:
    """Start the API in a child process, send a checkout, kill -9 the child once ``wait_sql`` is true."""
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, world.url, str(port), stage],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert child.poll() is None and time.monotonic() < deadline, "the API did not start"
            time.sleep(0.05)

        def send():
            try:
                httpx.post(
                    base + "/api/booking/checkout",
                    json=checkout_body(world.a),
                    headers=world.headers("pms_a", **{"Idempotency-Key": "crash-1"}),
                    timeout=120,
                )
            except httpx.TransportError:
                pass  # the server died under the request

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        deadline = time.monotonic() + 60
        while not db.execute(wait_sql).fetchone()[0]:
            assert child.poll() is None, "the API stopped by itself"
            assert sender.is_alive() and time.monotonic() < deadline, (
                "the checkout never reached the awaited step"
            )
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        sender.join(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.slow
def test_killed_during_capture_recovery_finishes_the_booking(make_client, world, db):
    run_until_killed(
        world, db, "in-capture", "select exists (select 1 from core.checkout_sagas where step = 'confirmed')"
    )
    assert db.execute("select status, step from core.checkout_sagas").fetchone() == ("running", "confirmed")
    gw = SimulatedGateway()
    client = make_client(gw)
    done = client.app.state.hc.saga.recover(stale_after=0)
    assert [(d["status"], d["step"]) for d in done] == [("succeeded", "captured")]
    assert len(gw.captured()) == 1
    assert db.execute("select status from core.payments").fetchone()[0] == "captured"
    # the client's retry reads the answer recovery stored
    retry = client.post(
        "/api/booking/checkout",
        json=checkout_body(world.a),
        headers=world.headers("pms_a", **{"Idempotency-Key": "crash-1"}),
    )
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["data"]["bookingId"] == done[0]["reservationId"]
    assert_clean(db)


@pytest.mark.slow
def test_killed_after_the_gateway_authorised_recovery_compensates(make_client, world, db):
    run_until_killed(
        world, db, "after-authorise", "select exists (select 1 from core.checkout_sagas where step = 'held')"
    )
    saga_id, hold_id = db.execute("select id, hold_id from core.checkout_sagas").fetchone()
    gw = SimulatedGateway()
    client = make_client(gw)
    # nothing is stale yet: a live runner's saga is left alone
    assert client.app.state.hc.saga.recover(stale_after=3600) == []
    db.execute("select internal.shift_clock(interval '5 minutes')")
    done = client.app.state.hc.saga.recover(stale_after=120)
    assert [(d["status"], d["errorCode"]) for d in done] == [("failed", "INTERNAL_ERROR")]
    assert ("void", f"checkout-{saga_id}") in gw.calls  # voided by reference: its id was never recorded
    assert db.execute("select status from core.holds where id = %s", [hold_id]).fetchone()[0] in (
        "released",
        "expired",
    )
    retry = client.post(
        "/api/booking/checkout",
        json=checkout_body(world.a),
        headers=world.headers("pms_a", **{"Idempotency-Key": "crash-1"}),
    )
    assert (retry.status_code, retry.json()["error"]["code"]) == (500, "INTERNAL_ERROR")
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert_clean(db)


def test_a_runner_taken_over_by_recovery_stops(make_client, world, db):
    client = make_client(SimulatedGateway())
    hc = client.app.state.hc

    def take_over(_saga):
        hc.saga.recover(stale_after=0)  # recovery claims the saga while its runner is between steps

    hc.saga.hooks["confirm"] = take_over
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("pms_a"))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "CHECKOUT_TAKEN_OVER")
    assert db.execute("select status, attempt from core.checkout_sagas").fetchone() == ("failed", 2)
    assert_clean(db)
