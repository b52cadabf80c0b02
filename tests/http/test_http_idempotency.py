"""Idempotency-Key on the checkout: the first answer replayed byte for byte, 422 for the same key
with another body, 409 while the first request still runs, and 100 identical requests at once
giving one capture and 99 identical replays."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from pyapi.checkout.gateway import SimulatedGateway
from tests.support.http import assert_clean, checkout_body


def test_a_retry_gets_the_first_answer_byte_for_byte(client, world, db, gateway):
    headers = world.headers("member_a", **{"Idempotency-Key": "order-1"})
    first = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=headers)
    again = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.execute("select count(*) from core.checkout_sagas").fetchone()[0] == 1
    assert len(gateway.captured()) == 1
    row = db.execute("select status, response_status, response_body from core.idempotency_keys").fetchone()
    assert row == ("completed", 201, first.content)


def test_a_failed_checkout_is_replayed_too(client, world, db):
    headers = world.headers("pms_a", **{"Idempotency-Key": "declined-1"})
    body = checkout_body(world.a, token="tok_decline")
    first = client.post("/api/booking/checkout", json=body, headers=headers)
    again = client.post("/api/booking/checkout", json=body, headers=headers)
    assert first.status_code == again.status_code == 402
    assert again.content == first.content


def test_the_same_key_with_another_body_is_refused(client, world, db):
    headers = world.headers("pms_a", **{"Idempotency-Key": "order-2"})
    assert (
        client.post("/api/booking/checkout", json=checkout_body(world.a), headers=headers).status_code == 201
    )
    other = client.post("/api/booking/checkout", json=checkout_body(world.a, offset=5), headers=headers)
    assert (other.status_code, other.json()["error"]["code"]) == (422, "IDEMPOTENCY_MISMATCH")
    assert db.execute("select count(*) from core.checkout_sagas").fetchone()[0] == 1


def test_keys_belong_to_their_api_key(client, world, db):
    body = checkout_body(world.a)
    a = client.post(
        "/api/booking/checkout", json=body, headers=world.headers("pms_a", **{"Idempotency-Key": "k"})
    )
    b = client.post(
        "/api/booking/checkout", json=body, headers=world.headers("member_a", **{"Idempotency-Key": "k"})
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["data"]["bookingId"] != b.json()["data"]["bookingId"]


def test_a_second_request_while_the_first_runs_gets_409(make_client, world, db):
    client = make_client(SimulatedGateway(), idempotency_wait=0)
    release = threading.Event()
    client.app.state.hc.saga.hooks["capture"] = lambda _s: release.wait(30)
    headers = world.headers("pms_a", **{"Idempotency-Key": "slow-1"})
    body = checkout_body(world.a)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, "/api/booking/checkout", json=body, headers=headers)
        deadline = time.monotonic() + 30
        while (
            db.execute("select count(*) from core.checkout_sagas where step = 'confirmed'").fetchone()[0] == 0
        ):
            assert not first.done(), f"the first checkout ended before capture: {first.result().text}"
            assert time.monotonic() < deadline, "the first checkout never reached its capture step"
            time.sleep(0.01)
        second = client.post("/api/booking/checkout", json=body, headers=headers)
        assert (second.status_code, second.json()["error"]["code"]) == (409, "IDEMPOTENCY_IN_PROGRESS")
        release.set()
        first = first.result()
    assert first.status_code == 201
    third = client.post("/api/booking/checkout", json=body, headers=headers)
    assert third.content == first.content


def test_one_hundred_identical_requests_at_once_capture_once(make_client, world, db):
    gw = SimulatedGateway()
    client = make_client(gw, pool_max=10)
    headers = world.headers("member_a", **{"Idempotency-Key": "storm-1"})
    body = checkout_body(world.a)
    barrier = threading.Barrier(100)

    def send(_):
        barrier.wait()
        return client.post("/api/booking/checkout", json=body, headers=headers)

    with ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(send, range(100)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 99
    assert len(gw.captured()) == 1
    assert db.execute("select count(*) from core.checkout_sagas").fetchone()[0] == 1
    assert db.execute("select count(*) from core.payments where status = 'captured'").fetchone()[0] == 1
    assert db.execute("select count(*) from core.reservations").fetchone()[0] == 1
    assert_clean(db)


def test_a_refusal_at_the_inventory_check_is_stored_and_replayed(client, world, db):
    # the amount is not the quote: refused before any saga exists, in the transaction that
    # recorded the key, whose answer is the refusal
    headers = world.headers("pms_a", **{"Idempotency-Key": "wrong-amount-1"})
    body = checkout_body(world.a, amount=1)
    first = client.post("/api/booking/checkout", json=body, headers=headers)
    again = client.post("/api/booking/checkout", json=body, headers=headers)
    assert (first.status_code, first.json()["error"]["code"]) == (400, "INVALID_ARGUMENT")
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert db.execute("select count(*) from core.checkout_sagas").fetchone()[0] == 0
    assert db.execute("select status, response_status from core.idempotency_keys").fetchone() == (
        "completed",
        400,
    )


def test_a_hold_failure_is_stored_and_replayed(client, world, db):
    def race(_saga):  # the rooms go between the inventory check and the hold
        db.execute(
            "update core.inventory set overbooking_allowance = 0, capacity = booked + held where hotel_id = %s",
            [world.a.id],
        )

    client.app.state.hc.saga.hooks["hold"] = race
    headers = world.headers("pms_a", **{"Idempotency-Key": "hold-race-1"})
    first = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=headers)
    again = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=headers)
    assert (first.status_code, first.json()["error"]["code"]) == (409, "INVENTORY_UNAVAILABLE")
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert db.execute("select status, step from core.checkout_sagas").fetchone() == ("failed", "compensated")
    assert_clean(db)


def test_a_checkout_commits_three_times(client, world, db):
    # the steps between two gateway calls share a transaction (so its start time): key + check +
    # hold, authorisation + confirmation, capture + the stored answer
    headers = world.headers("member_a", **{"Idempotency-Key": "three-commits"})
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=headers)
    assert r.status_code == 201
    at = dict(
        db.execute(
            "select step, at from core.checkout_saga_steps where saga_id = %s and outcome = 'done'",
            [r.json()["data"]["checkoutId"]],
        ).fetchall()
    )
    assert at["inventory_checked"] == at["held"]
    assert at["authorised"] == at["confirmed"]
    assert len(set(at.values())) == 3
    created, completed = db.execute("select created_at, completed_at from core.idempotency_keys").fetchone()
    assert (created, completed) == (at["held"], at["captured"])
