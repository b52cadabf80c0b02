"""POST /api/booking/checkout: the saga's happy path, then a failure injected at each step; after
each, SQL shows no leaked hold, no capture without a booking, no booking without an authorisation."""

from __future__ import annotations

import psycopg

from pyapi.checkout.gateway import SimulatedGateway
from tests.support.http import assert_clean, checkout_body


def saga(db: psycopg.Connection, checkout_id: int) -> dict:
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute("select * from core.checkout_sagas where id = %s", [checkout_id]).fetchone()


def test_checkout_books_captures_and_records_every_step(client, world, db, gateway):
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("member_a"))
    assert r.status_code == 201
    body = r.json()
    assert body["success"] is True
    assert body["metadata"]["source_system"] == "hotel-booking"
    data = body["data"]
    assert data["status"] == "confirmed" and data["amount"] == 200000 and data["currency"] == "KRW"
    assert len(data["confirmationNumber"]) == 8
    s = saga(db, data["checkoutId"])
    assert (s["status"], s["step"], s["reservation_id"]) == ("succeeded", "captured", data["bookingId"])
    steps = [
        r[0]
        for r in db.execute(
            "select step from core.checkout_saga_steps where saga_id = %s and outcome = 'done' order by id",
            [s["id"]],
        )
    ]
    assert steps == ["inventory_checked", "held", "authorised", "confirmed", "captured"]
    res = db.execute(
        "select status, origin, payment_authorisation from core.reservations where id = %s",
        [data["bookingId"]],
    ).fetchone()
    assert res == ("confirmed", "member", s["authorisation_ref"])
    assert db.execute(
        "select status, captured_amount from core.payments where id = %s", [s["payment_id"]]
    ).fetchone() == ("captured", 200000)
    assert (
        db.execute("select status from core.holds where id = %s", [s["hold_id"]]).fetchone()[0] == "confirmed"
    )
    assert len(gateway.captured()) == 1
    assert_clean(db)


def test_checkout_without_rate_plan_picks_the_cheapest_and_checks_the_price(client, world, db):
    r = client.post(
        "/api/booking/checkout", json=checkout_body(world.a, amount=1), headers=world.headers("pms_a")
    )
    assert (r.status_code, r.json()["error"]["code"]) == (400, "INVALID_ARGUMENT")
    r = client.post(
        "/api/booking/checkout",
        json=checkout_body(world.a, payment={"cardToken": "tok_visa", "amount": 200000, "currency": "USD"}),
        headers=world.headers("pms_a"),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "CURRENCY_MISMATCH")
    assert db.execute("select count(*) from core.checkout_sagas").fetchone()[0] == 0


def test_inventory_unavailable_before_anything_is_held(client, world, db):
    for i in range(3):  # the hotel's three rooms
        r = client.post(
            "/api/booking/checkout",
            json=checkout_body(world.a, email=f"g{i}@example.com"),
            headers=world.headers("pms_a"),
        )
        assert r.status_code == 201
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("pms_a"))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "INVENTORY_UNAVAILABLE")
    assert (
        db.execute("select count(*) from core.checkout_sagas where status <> 'succeeded'").fetchone()[0] == 0
    )
    assert_clean(db)


def test_hold_failure_after_the_check_is_compensated(client, world, db):
    # the last rooms go to other guests between the inventory check and the hold
    def race(_saga):
        db.execute(
            "update core.inventory set overbooking_allowance = 0, capacity = booked + held "
            "where hotel_id = %s",
            [world.a.id],
        )

    client.app.state.hc.saga.hooks["hold"] = race
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("pms_a"))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "INVENTORY_UNAVAILABLE")
    s = saga(db, r.json()["error"]["details"]["checkoutId"])
    assert (s["status"], s["step"], s["hold_id"], s["error_code"]) == (
        "failed",
        "compensated",
        None,
        "INVENTORY_UNAVAILABLE",
    )
    assert_clean(db)


def test_hold_failure_of_another_kind_answers_hold_failed(client, world, db):
    def close_rate_plan(_saga):
        db.execute("update core.rate_plans set active = false where id = %s", [world.a.rate_plan])

    client.app.state.hc.saga.hooks["hold"] = close_rate_plan
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("pms_a"))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "HOLD_FAILED")
    assert_clean(db)


def test_declined_preauthorisation_releases_the_hold(client, world, db, gateway):
    r = client.post(
        "/api/booking/checkout",
        json=checkout_body(world.a, token="tok_decline"),
        headers=world.headers("pms_a"),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (402, "PAYMENT_PREAUTH_FAILED")
    s = saga(db, r.json()["error"]["details"]["checkoutId"])
    assert (s["status"], s["reservation_id"], s["authorisation_ref"]) == ("failed", None, None)
    assert (
        db.execute("select status from core.holds where id = %s", [s["hold_id"]]).fetchone()[0] == "released"
    )
    assert gateway.captured() == []
    assert_clean(db)


def test_preauthorisation_timeouts_are_retried_then_compensated(client, world, db, gateway):
    r = client.post(
        "/api/booking/checkout",
        json=checkout_body(world.a, token="tok_timeout"),
        headers=world.headers("pms_a"),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (402, "PAYMENT_PREAUTH_FAILED")
    assert [op for op, _ in gateway.calls].count("preauthorise") == 3  # three tries
    assert_clean(db)


def test_a_flaky_gateway_succeeds_on_retry(client, world, db, gateway):
    r = client.post(
        "/api/booking/checkout",
        json=checkout_body(world.a, token="tok_flaky"),
        headers=world.headers("pms_a"),
    )
    assert r.status_code == 201
    assert [op for op, _ in gateway.calls].count("preauthorise") == 2
    assert_clean(db)


def test_confirm_failure_voids_the_authorisation(client, world, db, gateway):
    # the hold expires between the pre-authorisation and the confirmation
    client.app.state.hc.saga.hooks["confirm"] = lambda _s: db.execute(
        "select internal.shift_clock(interval '181 seconds')"
    )
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("pms_a"))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "BOOKING_CONFIRM_FAILED")
    assert r.json()["error"]["details"]["cause"] == "HOLD_EXPIRED"
    s = saga(db, r.json()["error"]["details"]["checkoutId"])
    assert (s["status"], s["reservation_id"], s["authorisation_voided"]) == ("failed", None, True)
    assert [a.status for a in gateway.authorisations.values()] == ["voided"]
    assert_clean(db)


def test_capture_failure_cancels_the_booking_and_voids(client, world, db, gateway):
    r = client.post(
        "/api/booking/checkout",
        json=checkout_body(world.a, token="tok_capture_fail"),
        headers=world.headers("pms_a"),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (502, "PAYMENT_CAPTURE_FAILED")
    s = saga(db, r.json()["error"]["details"]["checkoutId"])
    assert (s["status"], s["booking_cancelled"], s["authorisation_voided"], s["capture_ref"]) == (
        "failed",
        True,
        True,
        None,
    )
    assert (
        db.execute("select status from core.reservations where id = %s", [s["reservation_id"]]).fetchone()[0]
        == "cancelled"
    )
    assert (
        db.execute("select status from core.payments where id = %s", [s["payment_id"]]).fetchone()[0]
        == "voided"
    )
    assert gateway.captured() == []
    # the night is sellable again
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("pms_a"))
    assert r.status_code == 201
    assert_clean(db)


def test_unexpected_error_answers_internal_error_and_recovery_compensates(make_client, world, db):
    gw = SimulatedGateway()
    client = make_client(gw)

    def boom(_saga):
        raise RuntimeError("bug between steps")

    client.app.state.hc.saga.hooks["confirm"] = boom
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("pms_a"))
    assert (r.status_code, r.json()["error"]["code"]) == (500, "INTERNAL_ERROR")
    assert r.json()["success"] is False
    (saga_id,) = db.execute("select id from core.checkout_sagas").fetchone()
    done = client.app.state.hc.saga.recover(stale_after=0)
    assert [d["status"] for d in done] == ["failed"]
    assert saga(db, saga_id)["error_code"] == "INTERNAL_ERROR"
    assert [a.status for a in gw.authorisations.values()] == ["voided"]
    assert_clean(db)


def _refuse_holds(db: psycopg.Connection) -> None:
    """Every hold insert fails (a fault after the inventory check, inside api.checkout_start's one call)."""
    db.execute(
        "create function public.refuse_hold() returns trigger language plpgsql as"
        " $$ begin raise exception 'hold store down'; end $$"
    )
    db.execute(
        "create trigger refuse_hold before insert on core.holds for each row execute function public.refuse_hold()"
    )


def test_a_hold_refused_inside_the_one_call_start_is_compensated(client, world, db):
    # no hook: the check and the hold run in the one call of the first transaction
    _refuse_holds(db)
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("pms_a"))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "HOLD_FAILED")
    s = saga(db, r.json()["error"]["details"]["checkoutId"])
    assert (s["status"], s["step"], s["hold_id"], s["error_code"]) == (
        "failed",
        "compensated",
        None,
        "HOLD_FAILED",
    )
    assert "hold store down" in s["error_detail"]
    assert_clean(db)


def test_a_hold_refused_inside_the_one_call_start_is_stored_and_replayed(client, world, db):
    _refuse_holds(db)
    headers = world.headers("pms_a", **{"Idempotency-Key": "hold-refused-1"})
    first = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=headers)
    again = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=headers)
    assert (first.status_code, first.json()["error"]["code"]) == (409, "HOLD_FAILED")
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert db.execute("select count(*) from core.checkout_sagas").fetchone()[0] == 1
    assert_clean(db)
