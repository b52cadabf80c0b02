"""Every seed 000 endpoint over HTTP: the envelope, the call it makes, and the 4xx answers for
malformed JSON, wrong types, unknown ids, oversized bodies and missing keys (never a 500)."""

from __future__ import annotations

import pytest

from tests.support.errors import raises_code


def ok(r, status=200):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is True and set(body["metadata"]) == {
        "timestamp",
        "source_system",
        "request_id",
        "version",
    }
    return body["data"]


def refused(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "details", "retry_after", "documentation_url"}
    assert body["error"]["documentation_url"] == f"/docs/errors#{code}"
    return body["error"]


@pytest.fixture
def customer(client, world) -> dict:
    return ok(
        client.post(
            "/api/v2/member/customers",
            headers=world.headers("member_a"),
            json={
                "given_name": "Taro",
                "family_name": "Tanaka",
                "email": "taro@example.com",
                "phone": "090-1234-5678",
                "phone_country": "JP",
            },
        ),
        201,
    )


def test_member_customer_endpoints(client, world, customer):
    h = world.headers("member_a")
    cid = customer["id"]
    assert customer["phone_e164"] == "+819012345678"
    got = ok(client.get(f"/api/v2/member/customers/{cid}", headers=h))
    assert got["email"] == "taro@example.com"
    upd = ok(
        client.put(
            f"/api/v2/member/customers/{cid}", headers=h, json={"version": got["version"], "city": "Tokyo"}
        )
    )
    assert upd["city"] == "Tokyo" and upd["version"] == got["version"] + 1
    refused(
        client.put(f"/api/v2/member/customers/{cid}", headers=h, json={"version": 1, "city": "Osaka"}),
        409,
        "CONFLICT_NEEDS_REVIEW",  # Tokyo -> Osaka is a large change on a field changed since version 1
    )
    refused(
        client.put(f"/api/v2/member/customers/{cid}", headers=h, json={"version": 9, "city": "Osaka"}),
        409,
        "VERSION_CONFLICT",  # a version never read
    )
    refused(client.get("/api/v2/member/customers/999999", headers=h), 404, "CUSTOMER_NOT_FOUND")
    refused(
        client.post(
            "/api/v2/member/customers",
            headers=h,
            json={"given_name": "Jiro", "family_name": "Tanaka", "email": "TARO@example.com"},
        ),
        409,
        "DUPLICATE_EMAIL",
    )


def test_member_points_and_rank(client, world, customer):
    h = world.headers("member_a")
    cid = customer["id"]
    assert ok(client.get(f"/api/v2/member/customers/{cid}/points", headers=h))["balance"] == 0
    assert (
        ok(
            client.post(
                f"/api/v2/member/customers/{cid}/points", headers=h, json={"points": 500, "reason": "welcome"}
            )
        )["balance"]
        == 500
    )
    assert (
        ok(
            client.post(
                f"/api/v2/member/customers/{cid}/points", headers=h, json={"points": 200, "kind": "redeem"}
            )
        )["balance"]
        == 300
    )
    refused(
        client.post(
            f"/api/v2/member/customers/{cid}/points", headers=h, json={"points": 999, "kind": "redeem"}
        ),
        409,
        "INSUFFICIENT_POINTS",
    )
    assert ok(client.get(f"/api/v2/member/customers/{cid}/rank", headers=h))["code"] == "bronze"
    ok(
        client.put(
            f"/api/v2/member/customers/{cid}/rank", headers=h, json={"rank_code": "gold", "reason": "VIP"}
        )
    )
    assert ok(client.get(f"/api/v2/member/customers/{cid}/rank", headers=h))["code"] == "gold"
    refused(
        client.put(
            f"/api/v2/member/customers/{cid}/rank", headers=h, json={"rank_code": "mithril", "reason": "x"}
        ),
        404,
        "RANK_NOT_FOUND",
    )


def booking(world, customer_id, hotel=None, offset=0, nights=1):
    hotel = hotel or world.a
    check_in, check_out = hotel.stay(offset, nights)
    return {
        "hotel_id": hotel.id,
        "room_type_id": hotel.room_type,
        "rate_plan_id": hotel.rate_plan,
        "check_in": str(check_in),
        "check_out": str(check_out),
        "customer_id": customer_id,
        "adults": 1,
    }


def test_member_reservations(client, world, customer):
    h = world.headers("member_a")
    res = ok(
        client.post("/api/v2/member/reservations", headers=h, json=booking(world, customer["id"], offset=2)),
        201,
    )
    assert res["origin"] == "member" and res["status"] == "confirmed"
    history = ok(client.get(f"/api/v2/member/reservations/customer/{customer['id']}", headers=h))
    assert [r["reservation_id"] for r in history] == [res["id"]]
    # the same customer's history seen by a key of another hotel holds nothing of hotel A
    assert (
        ok(
            client.get(
                f"/api/v2/member/reservations/customer/{customer['id']}", headers=world.headers("member_b")
            )
        )
        == []
    )


def test_pms_reservation_lifecycle(client, world, customer, db):
    h = world.headers("pms_a")
    res = ok(client.post("/api/v2/pms/reservations", headers=h, json=booking(world, customer["id"])), 201)
    rid = res["id"]
    assert res["origin"] == "pms"
    assert [
        r["reservation_id"]
        for r in ok(client.get(f"/api/v2/pms/reservations?hotel_id={world.a.id}", headers=h))
    ] == [rid]
    assert ok(client.get(f"/api/v2/pms/reservations?hotel_id={world.a.id}&status=cancelled", headers=h)) == []
    assert (
        ok(client.get(f"/api/v2/pms/reservations/{rid}", headers=h))["confirmation_code"]
        == res["confirmation_code"]
    )
    moved = ok(
        client.put(
            f"/api/v2/pms/reservations/{rid}",
            headers=h,
            json={"version": res["version"], "special_requests": "high floor"},
        )
    )
    assert moved["version"] == res["version"] + 1
    # a stale write clashing with the newer one (a large change of the requests): recorded for
    # review, not applied, answered with the conflict id
    r = client.put(
        f"/api/v2/pms/reservations/{rid}",
        headers=h,
        json={"version": res["version"], "special_requests": "vegan breakfast, twin beds"},
    )
    refused(r, 409, "CONFLICT_NEEDS_REVIEW")
    details = r.json()["error"]["details"]
    assert details["rule"] == "large_change" and details["conflict_id"] > 0
    assert db.execute("select special_requests from core.reservations where id = %s", [rid]).fetchone()[
        0
    ] == ("high floor")
    refused(
        client.put(f"/api/v2/pms/reservations/{rid}", headers=h, json={"version": 99, "adults": 2}),
        409,
        "VERSION_CONFLICT",  # a version never read
    )
    # arrival today: check in, settle, check out
    stay = ok(client.post(f"/api/v2/pms/reservations/{rid}/checkin", headers=h, json={}))
    assert len(stay["rooms"]) == 1
    refused(
        client.post(f"/api/v2/pms/reservations/{rid}/checkin", headers=h), 409, "INVALID_STATE_TRANSITION"
    )
    r = client.post(f"/api/v2/pms/reservations/{rid}/checkout", headers=h)
    if r.status_code == 409:  # the folio has an open balance: settle it in cash, then check out
        refused(r, 409, "FOLIO_UNBALANCED")
        total = db.execute("select total_amount from core.reservations where id = %s", [rid]).fetchone()[0]
        db.execute("select api.authorise_payment(%s, 'cash', %s, null, null, true)", [rid, total])
        r = client.post(f"/api/v2/pms/reservations/{rid}/checkout", headers=h)
    assert ok(r)["folio_id"] > 0
    refused(client.delete(f"/api/v2/pms/reservations/{rid}", headers=h), 409, "NOT_CANCELLABLE")


def test_pms_cancel_and_availability(client, world, customer):
    h = world.headers("pms_a")
    check_in, check_out = world.a.stay(5, 2)
    q = f"hotel_id={world.a.id}&check_in={check_in}&check_out={check_out}"
    before = ok(client.get(f"/api/v2/pms/rooms/availability?{q}", headers=h))
    assert before[0]["available_rooms"] == 3 and before[0]["total"] == 200000
    res = ok(
        client.post(
            "/api/v2/pms/reservations", headers=h, json=booking(world, customer["id"], offset=5, nights=2)
        ),
        201,
    )
    assert ok(client.get(f"/api/v2/pms/rooms/availability?{q}", headers=h))[0]["available_rooms"] == 2
    cancelled = ok(client.delete(f"/api/v2/pms/reservations/{res['id']}?reason=changed+plans", headers=h))
    assert cancelled["reservation_id"] == res["id"]
    assert ok(client.get(f"/api/v2/pms/rooms/availability?{q}", headers=h))[0]["available_rooms"] == 3
    refused(
        client.get(
            f"/api/v2/pms/rooms/availability?hotel_id={world.a.id}&check_in={check_out}&check_out={check_in}",
            headers=h,
        ),
        400,
        "INVALID_DATES",
    )


def test_pms_rooms_and_status(client, world):
    h = world.headers("pms_a")
    rooms = ok(client.get(f"/api/v2/pms/rooms?hotel_id={world.a.id}", headers=h))
    assert [r["room_id"] for r in rooms] == world.a.room_ids and {r["status"] for r in rooms} == {"clean"}
    room = world.a.room_ids[0]
    assert (
        ok(client.put(f"/api/v2/pms/rooms/{room}/status", headers=h, json={"status": "dirty"}))["status"]
        == "dirty"
    )
    assert ok(client.get(f"/api/v2/pms/rooms?hotel_id={world.a.id}", headers=h))[0]["status"] == "dirty"
    refused(
        client.put(f"/api/v2/pms/rooms/{room}/status", headers=h, json={"status": "sparkling"}),
        400,
        "INVALID_ARGUMENT",
    )
    refused(
        client.put("/api/v2/pms/rooms/999999/status", headers=h, json={"status": "clean"}),
        404,
        "ROOM_NOT_FOUND",
    )


def test_pms_customer_basic_fields_only(client, world, customer):
    h = world.headers("pms_a")
    cid = customer["id"]
    # a customer who never booked at hotel A is hotel-member's to change, not hotel A's front desk's
    refused(
        client.put(
            f"/api/v2/pms/customers/{cid}/basic",
            headers=h,
            json={"version": customer["version"], "city": "Kyoto"},
        ),
        403,
        "PERMISSION_DENIED",
    )
    ok(client.post("/api/v2/pms/reservations", headers=h, json=booking(world, cid)), 201)
    upd = ok(
        client.put(
            f"/api/v2/pms/customers/{cid}/basic",
            headers=h,
            json={"version": customer["version"], "city": "Kyoto", "phone": "+81 90 1111 2222"},
        )
    )
    assert (upd["city"], upd["phone_e164"]) == ("Kyoto", "+819011112222")
    # e-mail is not a basic field: refused by the request model (extra field) before the database
    refused(
        client.put(
            f"/api/v2/pms/customers/{cid}/basic", headers=h, json={"version": 2, "email": "x@example.com"}
        ),
        400,
        "INVALID_ARGUMENT",
    )


def test_pms_basic_update_refuses_other_fields_in_sql(db):

    cid = db.execute("select (api.create_customer('A', 'B')) ->> 'id'").fetchone()[0]
    with raises_code("PERMISSION_DENIED"):
        db.execute('select api.update_customer_basic(%s, null, \'{"email": "a@example.com"}\')', [int(cid)])


def test_health_docs_and_openapi(client):
    assert ok(client.get("/health"))["status"] == "ok"
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert (
        "/api/booking/checkout" in spec["paths"] and "/api/v2/member/customers/{customer_id}" in spec["paths"]
    )


def test_bad_input_is_a_4xx_envelope_never_a_500(client, world):
    h = world.headers("member_a")
    refused(
        client.post(
            "/api/v2/member/customers",
            headers={**h, "content-type": "application/json"},
            content=b'{"given_name": ',
        ),
        400,
        "INVALID_ARGUMENT",
    )
    refused(
        client.post("/api/v2/member/customers", headers=h, json={"given_name": 5, "family_name": []}),
        400,
        "INVALID_ARGUMENT",
    )
    refused(client.post("/api/v2/member/customers", headers=h, json=[1, 2]), 400, "INVALID_ARGUMENT")
    refused(client.get("/api/v2/member/customers/abc", headers=h), 400, "INVALID_ARGUMENT")
    refused(client.get(f"/api/v2/member/customers/{2**70}", headers=h), 400, "INVALID_ARGUMENT")
    refused(
        client.post("/api/v2/member/customers", headers=h, json={"given_name": "a\x00b", "family_name": "c"}),
        400,
        "INVALID_ARGUMENT",
    )
    refused(
        client.post(
            "/api/v2/member/customers",
            headers={**h, "content-type": "application/json"},
            content=b"[" + b"1," * 40000 + b"1]",
        ),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    refused(client.get("/api/v2/member/nowhere", headers=h), 404, "NOT_FOUND")
    refused(client.delete("/api/v2/member/customers/1", headers=h), 405, "METHOD_NOT_ALLOWED")


def test_streamed_oversized_body_is_refused(client, world):
    def chunks():
        for _ in range(100):
            yield b" " * 1024

    r = client.post(
        "/api/v2/member/customers",
        headers={**world.headers("member_a"), "content-type": "application/json"},
        content=chunks(),
    )
    refused(r, 413, "PAYLOAD_TOO_LARGE")


def test_keys_are_required_and_checked(client, world, db):
    refused(client.get("/api/v2/member/customers/1"), 401, "AUTHENTICATION_FAILED")
    refused(
        client.get("/api/v2/member/customers/1", headers={"X-API-Key": "hc_member_nope"}),
        401,
        "AUTHENTICATION_FAILED",
    )
    token = world.keys["member_a"]
    assert (
        client.get("/api/v2/member/customers/1", headers={"Authorization": f"Bearer {token}"}).status_code
        == 404
    )
    key_id = db.execute(
        "select id from core.api_keys where key_hash = sha256(convert_to(%s, 'UTF8'))", [token]
    ).fetchone()[0]
    assert db.execute("select api.revoke_api_key(%s)", [key_id]).fetchone()[0] is True
    refused(
        client.get("/api/v2/member/customers/1", headers={"X-API-Key": token}), 401, "AUTHENTICATION_FAILED"
    )


def test_request_id_is_echoed(client, world):
    r = client.get(
        "/api/v2/member/customers/1", headers=world.headers("member_a", **{"X-Request-ID": "req-abc"})
    )
    assert r.json()["metadata"]["request_id"] == "req-abc" and r.headers["X-Request-ID"] == "req-abc"
