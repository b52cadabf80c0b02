"""External-PMS hotels over real HTTP: the API (uvicorn) and the simulated Cloudbeds, each a
server of its own. Checkout through the connector and the compensation at each failure point,
degraded mode while the vendor's breaker is open and its recovery, inbound webhooks (signed
seed events and Cloudbeds notifications): authenticity, idempotency, convergence."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from decimal import Decimal

import httpx
import psycopg
import pytest

from hotelcore_tools.vendor_sim import Simulator, start_simulator
from pyapi.checkout.gateway import SimulatedGateway
from pyapi.http import start_server
from pyapi.pms import service
from pyapi.pms.connector import Resilience, Resilient


@dataclass
class Env:
    api: str
    vendor: object  # RunningSimulator
    sim: Simulator
    gateway: SimulatedGateway
    hotel_id: int
    room_type: int  # the Ondol Room's id here
    keys: dict[str, str]
    secret: str
    today: dt.date
    app: object

    def headers(self, who: str = "member") -> dict[str, str]:
        return {"X-API-Key": self.keys[who]}


FAST = Resilience(sleep=lambda s: None, fail_max=5, reset_timeout=3.0, success_threshold=2)


@pytest.fixture
def env(db: psycopg.Connection, fresh_db: str):
    sim = Simulator()
    sim.add_property(
        "P1",
        "key-1",
        name="Hanok Stay",
        room_types=[
            ("RT1", "Ondol Room", 2, 3, Decimal("120000")),
            ("RT2", "Garden Suite", 4, 2, Decimal("240000")),
        ],
    )
    vendor = start_simulator(sim)
    gateway = SimulatedGateway()
    api = start_server(fresh_db, gateway=gateway, pms_resilience=FAST)
    today = db.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
    counts = service.import_property(
        db,
        vendor="cloudbeds",
        property_id="P1",
        base_url=vendor.url,
        api_key="key-1",
        webhook_base=api.url,
        # real waits: a 429 under a loaded machine waits its Retry-After instead of failing the set-up
        resilient=Resilient(),
        today=today,
    )
    hotel_id = counts["hotel_id"]
    room_type = db.execute(
        "select room_type_id from core.pms_room_types where external_id = 'RT1'"
    ).fetchone()[0]
    keys = {
        s: db.execute("select token from api.issue_api_key(%s, %s, 't')", [s, [hotel_id]]).fetchone()[0]
        for s in ("member", "pms")
    }
    yield Env(
        api.url, vendor, sim, gateway, hotel_id, room_type, keys, counts["webhook_secret"], today, api.app
    )
    api.stop()
    vendor.stop()
    assert sim.violations == []


def body(
    env: Env, *, token: str = "tok_visa", offset: int = 3, nights: int = 2, amount: int | None = None
) -> dict:
    check_in = env.today + dt.timedelta(days=offset)
    return {
        "vendor": "cloudbeds",
        "hotelId": env.hotel_id,
        "roomTypeId": env.room_type,
        "checkIn": check_in.isoformat(),
        "checkOut": (check_in + dt.timedelta(days=nights)).isoformat(),
        "guestInfo": {"firstName": "Gildong", "lastName": "Hong", "email": "hong@example.com"},
        "adults": 2,
        "children": 0,
        "payment": {
            "cardToken": token,
            "amount": amount if amount is not None else 120000 * nights * 1,
            "currency": "KRW",
        },
    }


def ondol_left(env: Env, offset: int = 3) -> tuple[int | None, httpx.Response]:
    check_in = env.today + dt.timedelta(days=offset)
    r = httpx.get(
        f"{env.api}/api/v2/pms/rooms/availability",
        headers=env.headers("pms"),
        params={
            "hotel_id": env.hotel_id,
            "check_in": check_in.isoformat(),
            "check_out": (check_in + dt.timedelta(days=1)).isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    rows = {row["room_type_name"]: row for row in r.json()["data"]}
    return (rows["Ondol Room"]["available_rooms"] if "Ondol Room" in rows else None), r


def checkout(env: Env, payload: dict) -> httpx.Response:
    return httpx.post(f"{env.api}/api/booking/checkout", json=payload, headers=env.headers(), timeout=30)


def vendor_state(env: Env) -> tuple[int, list[str]]:
    prop = env.sim.properties["P1"]
    live = [r.status for r in prop.reservations.values()]
    return len(prop.blocks), live


def test_checkout_books_at_the_vendor_and_the_mirror_sells_no_more(env, db):
    r = checkout(env, body(env))
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["vendor"] == "cloudbeds" and data["status"] == "confirmed"
    assert vendor_state(env) == (0, ["confirmed"])  # the hold's block is gone, the booking is there
    assert len(env.gateway.captured()) == 1
    left, _ = ondol_left(env)
    assert left == 2  # decremented at once, before any sync
    row = db.execute("select status, step, vendor_reservation_id from core.pms_checkouts").fetchone()
    assert row == ("succeeded", "captured", data["confirmationNumber"])
    steps = [s for (s,) in db.execute("select step from core.pms_checkout_steps order by id")]
    assert steps == ["started", "held", "authorised", "confirmed", "captured"]
    # nothing of it in hotelcore's own ledger
    assert db.execute("select count(*) from core.reservations").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("point", "token", "fault", "status", "code", "compensation"),
    [
        (
            "hold",
            "tok_visa",
            {"fail_operations": ["postRoomBlock"], "fail_next": 1, "fail_status": 400},
            409,
            "HOLD_FAILED",
            ["failed"],
        ),
        (
            "preauth",
            "tok_decline",
            {},
            402,
            "PAYMENT_PREAUTH_FAILED",
            ["authorisation_voided", "hold_released", "failed"],
        ),
        (
            "confirm",
            "tok_visa",
            {"fail_operations": ["postReservation"], "fail_next": 3},
            409,
            "BOOKING_CONFIRM_FAILED",
            ["authorisation_voided", "hold_released", "failed"],
        ),
        (
            "capture",
            "tok_capture_fail",
            {},
            502,
            "PAYMENT_CAPTURE_FAILED",
            ["cancelled_at_vendor", "authorisation_voided", "failed"],
        ),
    ],
)
def test_each_failure_point_is_compensated(env, db, point, token, fault, status, code, compensation):
    httpx.post(f"{env.vendor.url.rsplit('/api/', 1)[0]}/_sim/faults/P1", json=fault)
    r = checkout(env, body(env, token=token))
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    blocks, reservations = vendor_state(env)
    assert blocks == 0  # no room left held at the vendor
    assert all(s == "canceled" for s in reservations)  # nothing sold without a capture
    assert env.gateway.captured() == [] if point != "capture" else True
    assert all(a.status != "authorised" for a in env.gateway.authorisations.values())  # every pre-auth voided
    steps = [s for (s,) in db.execute("select step from core.pms_checkout_steps order by id")]
    assert steps[-len(compensation) :] == compensation
    assert db.execute("select status, error_code from core.pms_checkouts").fetchone() == ("failed", code)
    left, _ = ondol_left(env)
    assert left == 3  # the mirror gives back what the failed checkout took


def test_an_outage_opens_the_breaker_degraded_mode_then_recovery(env, db):
    faults = env.sim.faults("P1")
    faults.outage = True
    for _ in range(5):
        r = checkout(env, body(env))
        assert r.status_code in (409, 503), r.text
    r = checkout(env, body(env))
    assert r.status_code == 503 and r.json()["error"]["code"] == "PMS_DEGRADED"
    assert r.json()["error"]["retry_after"] >= 1000 and "Retry-After" in r.headers
    # searches go on from the mirror, with its age, while the PMS is down
    db.execute("select internal.shift_clock(interval '100 seconds')")  # the mirror is now stale
    left, resp = ondol_left(env)
    assert left == 3 and resp.headers.get("X-PMS-Degraded") == "true"
    row = resp.json()["data"][0]
    assert row["source"] == "mirror" and row["as_of"]
    states = [s for (s,) in db.execute("select state from core.pms_breaker_events order by id")]
    assert states[:1] == ["open"]
    # recovery: after the open period a trial call goes through, two successes close the breaker
    faults.outage = False
    time.sleep(3.2)
    r = checkout(env, body(env))
    assert r.status_code == 201, r.text
    states = [s for (s,) in db.execute("select state from core.pms_breaker_events order by id")]
    assert states == ["open", "half_open", "closed"]
    # the report views: the breaker's history with durations, the hit rate of the searches
    history = db.execute(
        "select state, until is null from report.pms_breaker_history order by since"
    ).fetchall()
    assert history == [("open", False), ("half_open", False), ("closed", True)]
    assert db.execute("select sum(hits), sum(misses) from report.pms_cache_hit_rate").fetchone() == (0, 1)
    env.sim.wait_webhooks()  # the booking's notification and its follow-up fetch are done
    time.sleep(0.5)
    db.execute("select internal.shift_clock(interval '200 seconds')")  # the clock is now() + 200 s
    assert ondol_left(env)[0] == 2  # stale again: refreshed from the PMS, which is up
    assert ondol_left(env)[0] == 2  # fresh: answered by the mirror
    hits, misses = db.execute("select sum(hits), sum(misses) from report.pms_cache_hit_rate").fetchone()
    assert (hits, misses) == (1, 2)


def signed(env: Env, event: dict, *, secret: str | None = None) -> httpx.Response:
    raw = json.dumps(event).encode()
    sig = hmac.new((secret or env.secret).encode(), raw, hashlib.sha256).hexdigest()
    return httpx.post(
        f"{env.api}/api/webhooks/pms/cloudbeds",
        content=raw,
        headers={"X-PMS-Signature": f"sha256={sig}", "Content-Type": "application/json"},
    )


def inventory_event(env: Env, event_id: str, available: int, *, at: dt.datetime | None = None) -> dict:
    return {
        "id": event_id,
        "type": "inventory_update",
        "hotelId": "P1",
        "timestamp": (at or dt.datetime.now(dt.UTC)).isoformat(),
        "data": {
            "roomTypeId": "RT1",
            "date": (env.today + dt.timedelta(days=3)).isoformat(),
            "available": available,
            "total": 3,
        },
    }


def test_signed_events_apply_once_and_attacks_write_nothing(env, db):
    def events() -> int:
        return db.execute("select count(*) from core.pms_webhook_events").fetchone()[0]

    r = signed(env, inventory_event(env, "ev-1", 1))
    assert r.status_code == 200 and r.json()["data"]["outcome"] == "applied"
    assert ondol_left(env)[0] == 1
    r = signed(env, inventory_event(env, "ev-1", 1))  # the same event again
    assert r.status_code == 200 and r.json()["data"]["outcome"] == "duplicate"
    # an older state arriving later does not overwrite the newer one
    r = signed(env, inventory_event(env, "ev-0", 3, at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)))
    assert r.json()["data"]["outcome"] == "stale" and ondol_left(env)[0] == 1
    before = events()
    # a wrong secret, a tampered body, a timestamp outside 300 s (replay): 401, nothing written
    assert signed(env, inventory_event(env, "ev-2", 0), secret="guess").status_code == 401
    raw = json.dumps(inventory_event(env, "ev-3", 0)).encode()
    sig = hmac.new(env.secret.encode(), raw, hashlib.sha256).hexdigest()
    tampered = raw.replace(b'"available": 0', b'"available": 2')
    r = httpx.post(
        f"{env.api}/api/webhooks/pms/cloudbeds", content=tampered, headers={"X-PMS-Signature": sig}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
    old = inventory_event(env, "ev-4", 0, at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=301))
    assert signed(env, old).status_code == 401
    # malformed 400, unknown vendor 404, all in the envelope
    r = httpx.post(
        f"{env.api}/api/webhooks/pms/cloudbeds", content=b"{not json", headers={"X-PMS-Signature": "x"}
    )
    assert r.status_code == 400 and r.json()["success"] is False
    bad = inventory_event(env, "ev-5", 0)
    bad["type"] = "nonsense"
    assert signed(env, bad).status_code == 400
    r = httpx.post(f"{env.api}/api/webhooks/pms/opera", content=b"{}", headers={"X-PMS-Signature": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "PMS_VENDOR_UNKNOWN"
    assert events() == before and ondol_left(env)[0] == 1
    counts = db.execute("select outcome, events from report.pms_webhooks_daily order by outcome").fetchall()
    assert counts == [("applied", 1), ("stale", 1)]


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_cloudbeds_notifications_are_fetched_and_converge(env, db):
    def status(rid: str):
        row = db.execute("select status from core.pms_reservations where external_id = %s", [rid]).fetchone()
        return row[0] if row else None

    faults = env.sim.faults("P1")
    faults.webhook_duplicate = True
    night = env.today + dt.timedelta(days=3)
    rid = env.sim.book_elsewhere("P1", "RT1", night, night + dt.timedelta(days=1))
    wait_for(lambda: status(rid) == "confirmed")
    wait_for(lambda: ondol_left(env)[0] == 2)
    # created then cancelled, delivered newest first: the mirror ends on the vendor's state
    faults.webhook_duplicate = False
    faults.webhook_reorder = True
    rid2 = env.sim.book_elsewhere("P1", "RT1", night, night + dt.timedelta(days=1))
    env.sim.set_status("P1", rid2, "canceled")
    assert env.sim.flush_webhooks("P1") == 2
    wait_for(lambda: status(rid2) == "canceled")
    env.sim.wait_webhooks()
    time.sleep(0.5)
    assert status(rid2) == "canceled" and ondol_left(env)[0] == 2
    # a notification without the endpoint's token is refused
    r = httpx.post(
        f"{env.api}/api/webhooks/pms/cloudbeds?token=wrong",
        json={"event": "reservation/created", "propertyID": "P1", "reservationID": rid},
    )
    assert r.status_code == 401


def test_sync_status_and_manual_trigger_over_http(env, db):
    r = httpx.get(f"{env.api}/api/v2/pms/external/{env.hotel_id}/sync", headers=env.headers("pms"))
    assert r.status_code == 200 and r.json()["data"]["vendor"] == "cloudbeds"
    r = httpx.post(f"{env.api}/api/v2/pms/external/{env.hotel_id}/sync", headers=env.headers("pms"))
    assert r.status_code == 202
    wait_for(lambda: db.execute("select count(*) from core.pms_sync_runs").fetchone()[0] == 1)
    lag, runs = db.execute("select lag_seconds, runs_24h from report.pms_sync").fetchone()
    assert runs == 1 and lag is not None and lag >= 0
    # another hotel's key sees nothing of it
    other = db.execute("select api.create_hotel('X1', 'Other', 'Asia/Seoul', 'KRW')").fetchone()[0]
    key = db.execute("select token from api.issue_api_key('pms', %s, 't')", [[other]]).fetchone()[0]
    r = httpx.get(f"{env.api}/api/v2/pms/external/{env.hotel_id}/sync", headers={"X-API-Key": key})
    assert r.status_code == 404


class Crash(BaseException):
    """Ends a checkout like a dead process: no compensation runs."""


@pytest.mark.parametrize(
    ("dies_before", "outcome"),
    [("preauthorise", "HOLD_EXPIRED"), ("confirm", "HOLD_EXPIRED"), ("capture", "captured")],
)
def test_recovery_finishes_or_compensates_a_crashed_checkout(env, db, dies_before, outcome):
    from pyapi.checkout.pms import ExternalCheckout
    from pyapi.checkout.saga import Order

    hc = env.app.state.hc
    co = ExternalCheckout(hc)

    def die():
        raise Crash()

    co.hooks[dies_before] = die
    check_in = env.today + dt.timedelta(days=3)
    order = Order(
        env.hotel_id,
        env.room_type,
        check_in,
        check_in + dt.timedelta(days=2),
        2,
        0,
        1,
        None,
        {"given_name": "Gil", "family_name": "Hong", "email": None, "phone": None},
        "tok_visa",
        Decimal(240000),
        "KRW",
        request={},
    )
    with pytest.raises(Crash):
        co.run(None, order, request_id="crash")
    assert ExternalCheckout(hc).recover() == []  # not stale yet: its runner may still be alive
    db.execute("select internal.shift_clock(interval '200 seconds')")
    assert [o for _, o in ExternalCheckout(hc).recover()] == [outcome]
    blocks, reservations = vendor_state(env)
    assert blocks == 0
    if outcome == "captured":
        assert reservations == ["confirmed"] and len(env.gateway.captured()) == 1
        assert db.execute("select status from core.pms_checkouts").fetchone()[0] == "succeeded"
    else:
        assert reservations == [] and env.gateway.captured() == []
        assert all(a.status == "voided" for a in env.gateway.authorisations.values())
        assert db.execute("select status, error_code from core.pms_checkouts").fetchone() == (
            "failed",
            "HOLD_EXPIRED",
        )
    assert ExternalCheckout(hc).recover() == []  # done once


def test_a_retried_checkout_with_its_idempotency_key_books_once(env, db):
    headers = {**env.headers(), "Idempotency-Key": "retry-1"}
    first = httpx.post(f"{env.api}/api/booking/checkout", json=body(env), headers=headers, timeout=30)
    again = httpx.post(f"{env.api}/api/booking/checkout", json=body(env), headers=headers, timeout=30)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.content == first.content
    assert vendor_state(env) == (0, ["confirmed"])
    assert len(env.gateway.captured()) == 1
