"""One API key can never read or change another hotel's or another system's objects by id: an
id of another hotel answers exactly like an unknown id (404), another system's route 403, and SQL
shows nothing changed."""

from __future__ import annotations

import pytest

from tests.support.http import checkout_body


@pytest.fixture
def booked_in_a(client, world):
    """A reservation and a checkout in hotel A."""
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("pms_a"))
    assert r.status_code == 201
    return r.json()["data"]


def code(r):
    return r.status_code, r.json()["error"]["code"]


def test_another_hotels_reservation_is_not_found_for_every_verb(client, world, db, booked_in_a):
    rid = booked_in_a["bookingId"]
    h = world.headers("pms_b")
    before = db.execute(
        "select status, version, updated_at from core.reservations where id = %s", [rid]
    ).fetchone()
    assert code(client.get(f"/api/v2/pms/reservations/{rid}", headers=h)) == (404, "RESERVATION_NOT_FOUND")
    assert code(
        client.put(f"/api/v2/pms/reservations/{rid}", headers=h, json={"version": 1, "adults": 1})
    ) == (404, "RESERVATION_NOT_FOUND")
    assert code(client.delete(f"/api/v2/pms/reservations/{rid}", headers=h)) == (404, "RESERVATION_NOT_FOUND")
    assert code(client.post(f"/api/v2/pms/reservations/{rid}/checkin", headers=h)) == (
        404,
        "RESERVATION_NOT_FOUND",
    )
    assert code(client.post(f"/api/v2/pms/reservations/{rid}/checkout", headers=h)) == (
        404,
        "RESERVATION_NOT_FOUND",
    )
    # exactly what an id that does not exist answers
    assert code(client.get("/api/v2/pms/reservations/987654", headers=h)) == (404, "RESERVATION_NOT_FOUND")
    assert (
        db.execute(
            "select status, version, updated_at from core.reservations where id = %s", [rid]
        ).fetchone()
        == before
    )


def test_another_hotels_rooms_lists_and_availability_are_not_found(client, world, db, booked_in_a):
    h = world.headers("pms_b")
    room = world.a.room_ids[0]
    assert code(client.put(f"/api/v2/pms/rooms/{room}/status", headers=h, json={"status": "dirty"})) == (
        404,
        "ROOM_NOT_FOUND",
    )
    assert db.execute("select status from core.rooms where id = %s", [room]).fetchone()[0] == "clean"
    assert code(client.get(f"/api/v2/pms/rooms?hotel_id={world.a.id}", headers=h)) == (404, "HOTEL_NOT_FOUND")
    assert code(client.get(f"/api/v2/pms/reservations?hotel_id={world.a.id}", headers=h)) == (
        404,
        "HOTEL_NOT_FOUND",
    )
    ci, co = world.a.stay()
    assert code(
        client.get(
            f"/api/v2/pms/rooms/availability?hotel_id={world.a.id}&check_in={ci}&check_out={co}", headers=h
        )
    ) == (404, "HOTEL_NOT_FOUND")
    # a room of hotel B cannot be given to a stay of hotel A and vice versa
    assert code(
        client.post(
            f"/api/v2/pms/reservations/{booked_in_a['bookingId']}/checkin",
            headers=world.headers("pms_a"),
            json={"room_id": world.b.room_ids[0]},
        )
    ) == (404, "ROOM_NOT_FOUND")


def test_another_hotels_bookings_and_checkouts(client, world, db, booked_in_a):
    r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("member_b"))
    assert code(r) == (404, "HOTEL_NOT_FOUND")
    cid = booked_in_a["checkoutId"]
    assert code(client.get(f"/api/booking/checkout/{cid}", headers=world.headers("member_b"))) == (
        404,
        "RESERVATION_NOT_FOUND",
    )
    # a checkout belongs to the API key that started it: another key of the same hotel finds nothing
    assert code(client.get(f"/api/booking/checkout/{cid}", headers=world.headers("member_a"))) == (
        404,
        "RESERVATION_NOT_FOUND",
    )
    assert client.get(f"/api/booking/checkout/{cid}", headers=world.headers("pms_a")).status_code == 200
    body = {
        "hotel_id": world.a.id,
        "room_type_id": world.a.room_type,
        "rate_plan_id": world.a.rate_plan,
        "check_in": str(world.a.stay()[0]),
        "check_out": str(world.a.stay()[1]),
        "customer_id": 1,
    }
    assert code(client.post("/api/v2/pms/reservations", headers=world.headers("pms_b"), json=body)) == (
        404,
        "HOTEL_NOT_FOUND",
    )
    assert db.execute("select count(*) from core.reservations").fetchone()[0] == 1


@pytest.mark.parametrize(
    "who, method, path",
    [
        ("member_a", "get", "/api/v2/pms/reservations/1"),
        ("member_a", "delete", "/api/v2/pms/reservations/1"),
        ("saas_a", "get", "/api/v2/pms/reservations/1"),
        ("saas_a", "get", "/api/v2/member/customers/1"),
        ("pms_a", "get", "/api/v2/member/customers/1/points"),
        ("pms_a", "put", "/api/v2/member/customers/1/rank"),
        ("saas_a", "post", "/api/booking/checkout"),
    ],
)
def test_another_systems_routes_are_forbidden(client, world, db, booked_in_a, who, method, path):
    json = {"rank_code": "gold", "reason": "x"} if path.endswith("/rank") else None
    if path == "/api/booking/checkout":
        json = checkout_body(world.a)
    r = client.request(method, path, headers=world.headers(who), json=json)
    assert code(r) == (403, "PERMISSION_DENIED")
    assert db.execute("select count(*) from core.reservations where status = 'confirmed'").fetchone()[0] == 1
    assert db.execute("select count(*) from core.customers where rank_code <> 'bronze'").fetchone()[0] == 0


def test_request_settings_do_not_leak_between_pooled_requests(make_client, world, db):
    client = make_client(pool_min=1, pool_max=1)  # every request on the same connection
    assert (
        client.get(f"/api/v2/pms/rooms?hotel_id={world.a.id}", headers=world.headers("pms_a")).status_code
        == 200
    )
    hc = client.app.state.hc
    with hc.db.connection() as conn:
        leftovers = conn.execute(
            "select current_setting('hotelcore.request', true), current_setting('hotelcore.app_user', true),"
            " current_user = session_user"
        ).fetchone()
    assert leftovers == ("", "", True)
