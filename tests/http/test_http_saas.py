"""hotel-saas over HTTP: every seed 000 route end to end with a saas key, the probe of every route
with bad input (each answer a 4xx envelope whose documentation_url names an entry of the error
page), the routes closed to other systems, hotel scope, and the error page itself."""

from __future__ import annotations

import datetime as dt
import re

import psycopg
import pytest

SAAS = "/api/v2/saas"


def ok(r, status=200):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is True and body["metadata"]["source_system"] == "hotel-saas"
    return body["data"]


@pytest.fixture
def stay(db: psycopg.Connection, world) -> dict:
    """A guest checked in at hotel A, a catalog there, and one in hotel B."""
    customer = db.execute("select (api.create_customer('Mina', 'Kim')) ->> 'id'").fetchone()[0]
    reservation = db.execute(
        "select (api.book_reservation(%s, %s, %s, %s, %s, %s::bigint)) ->> 'id'",
        [
            world.a.id,
            world.a.room_type,
            world.a.rate_plan,
            world.a.today,
            world.a.today + dt.timedelta(days=2),
            customer,
        ],
    ).fetchone()[0]
    db.execute("select * from api.check_in(%s)", [int(reservation)])
    items = {}
    for hotel, suffix in ((world.a, "a"), (world.b, "b")):
        items[f"bibimbap_{suffix}"] = db.execute(
            "select api.create_service_item(%s, 'room_service', 'bibimbap', 'Bibimbap', 15000)", [hotel.id]
        ).fetchone()[0]
    items["spa_a"] = db.execute(
        "select api.create_service_item(%s, 'spa', 'massage', 'Massage', 90000, p_stock => 3)", [world.a.id]
    ).fetchone()[0]
    return {"customer": int(customer), "reservation": int(reservation), **items}


def test_an_order_from_ordered_to_delivered_reaches_the_folio(client, world, stay, db):
    h = world.headers("saas_a", **{"X-App-User": "app:room-tablet"})
    body = {
        "reservation_id": stay["reservation"],
        "client_order_key": "tablet-0001",
        "items": [{"service_item_id": stay["bibimbap_a"], "quantity": 2}],
        "notes": "mild",
    }
    order = ok(client.post(f"{SAAS}/orders", headers=h, json=body), 201)
    assert order["status"] == "ordered" and order["total_amount"] == 30000 and order["replayed"] is False
    again = ok(client.post(f"{SAAS}/orders", headers=h, json=body), 200)
    assert again["id"] == order["id"] and again["replayed"] is True
    ok(client.put(f"{SAAS}/orders/{order['id']}/status", headers=h, json={"status": "accepted"}))
    delivered = ok(client.put(f"{SAAS}/orders/{order['id']}/status", headers=h, json={"status": "delivered"}))
    assert delivered["charged_amount"] == 30000
    history = ok(client.get(f"{SAAS}/orders/customer/{stay['customer']}", headers=h))
    assert [o["id"] for o in history] == [order["id"]]
    posted_by = db.execute(
        "select l.posted_by from core.service_order_postings p join core.folio_lines l on l.id = p.folio_line_id"
        " where p.order_id = %s limit 1",
        [order["id"]],
    ).fetchone()[0]
    # the application user as the API key vouched for it
    assert posted_by.startswith("key-") and posted_by.endswith(":app:room-tablet")
    err = client.put(f"{SAAS}/orders/{order['id']}/status", headers=h, json={"status": "accepted"})
    assert err.status_code == 409 and err.json()["error"]["code"] == "INVALID_ORDER_TRANSITION"
    fb = ok(
        client.post(
            f"{SAAS}/feedback",
            headers=h,
            json={"reservation_id": stay["reservation"], "order_id": order["id"], "scores": {"food": 5}},
        ),
        201,
    )
    assert fb["created"] is True
    summary = ok(client.get(f"{SAAS}/feedback/summary/{stay['customer']}", headers=h))
    assert summary["feedback_count"] == 1 and summary["aspects"][0]["aspect"] == "food"


def test_concierge_services_and_requests(client, world, stay):
    h = world.headers("saas_a")
    services = ok(client.get(f"{SAAS}/concierge/services", headers=h, params={"hotel_id": world.a.id}))
    assert {s["code"] for s in services} == {"bibimbap", "massage"}
    assert all(s["currency"] == "KRW" and s["time_zone"] == "Asia/Seoul" for s in services)
    spa = ok(
        client.get(
            f"{SAAS}/concierge/services", headers=h, params={"hotel_id": world.a.id, "category": "spa"}
        )
    )
    assert [s["code"] for s in spa] == ["massage"]
    when = dt.datetime.combine(world.a.today + dt.timedelta(days=1), dt.time(8, 0)).isoformat() + "+09:00"
    req = ok(
        client.post(
            f"{SAAS}/concierge/requests",
            headers=h,
            json={"reservation_id": stay["reservation"], "request_type": "taxi", "requested_for": when},
        ),
        201,
    )
    assert req["status"] == "open" and req["room_number"].startswith("HA-")


def test_an_order_for_a_guest_not_in_house_is_refused(client, world, stay, db):
    arriving = db.execute(
        "select (api.book_reservation(%s, %s, %s, %s, %s, %s::bigint)) ->> 'id'",
        [
            world.a.id,
            world.a.room_type,
            world.a.rate_plan,
            world.a.today + dt.timedelta(days=5),
            world.a.today + dt.timedelta(days=6),
            stay["customer"],
        ],
    ).fetchone()[0]
    r = client.post(
        f"{SAAS}/orders",
        headers=world.headers("saas_a"),
        json={
            "reservation_id": int(arriving),
            "client_order_key": "k1",
            "items": [{"service_item_id": stay["bibimbap_a"]}],
        },
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "STAY_NOT_IN_HOUSE"
    assert r.json()["error"]["documentation_url"] == "/docs/errors#STAY_NOT_IN_HOUSE"


# every saas route with bad input: (method, path, json body)
def bad_requests(world, stay) -> list[tuple[str, str, object]]:
    r, item = stay["reservation"], stay["bibimbap_a"]
    return [
        ("post", f"{SAAS}/orders", None),
        ("post", f"{SAAS}/orders", "not json"),
        ("post", f"{SAAS}/orders", {"reservation_id": r, "client_order_key": "k", "items": []}),
        (
            "post",
            f"{SAAS}/orders",
            {"reservation_id": r, "client_order_key": "", "items": [{"service_item_id": item}]},
        ),
        (
            "post",
            f"{SAAS}/orders",
            {
                "reservation_id": r,
                "client_order_key": "k",
                "items": [{"service_item_id": item, "quantity": 0}],
            },
        ),
        (
            "post",
            f"{SAAS}/orders",
            {
                "reservation_id": r,
                "client_order_key": "k",
                "items": [{"service_item_id": item}, {"service_item_id": item}],
            },
        ),
        (
            "post",
            f"{SAAS}/orders",
            {"reservation_id": r, "client_order_key": "k", "items": [{"service_item_id": 987654321}]},
        ),
        (
            "post",
            f"{SAAS}/orders",
            {"reservation_id": -1, "client_order_key": "k", "items": [{"service_item_id": item}]},
        ),
        (
            "post",
            f"{SAAS}/orders",
            {"reservation_id": 987654321, "client_order_key": "k", "items": [{"service_item_id": item}]},
        ),
        (
            "post",
            f"{SAAS}/orders",
            {
                "reservation_id": r,
                "client_order_key": "k",
                "items": [{"service_item_id": stay["bibimbap_b"]}],
            },
        ),
        (
            "post",
            f"{SAAS}/orders",
            {
                "reservation_id": r,
                "client_order_key": "k",
                "items": [{"service_item_id": stay["spa_a"], "quantity": 4}],
            },
        ),
        (
            "post",
            f"{SAAS}/orders",
            {"reservation_id": r, "client_order_key": "k", "items": [{"service_item_id": item}], "extra": 1},
        ),
        ("get", f"{SAAS}/orders/customer/0", None),
        ("get", f"{SAAS}/orders/customer/abc", None),
        ("get", f"{SAAS}/orders/customer/987654321", None),
        ("get", f"{SAAS}/orders/customer/{stay['customer']}?limit=0", None),
        ("put", f"{SAAS}/orders/987654321/status", {"status": "accepted"}),
        ("put", f"{SAAS}/orders/1/status", {"status": "shipped"}),
        ("put", f"{SAAS}/orders/1/status", {}),
        ("put", f"{SAAS}/orders/-5/status", {"status": "accepted"}),
        ("post", f"{SAAS}/concierge/requests", {"reservation_id": r, "request_type": "teleport"}),
        (
            "post",
            f"{SAAS}/concierge/requests",
            {"reservation_id": r, "request_type": "taxi", "requested_for": "1900-01-01T00:00:00Z"},
        ),
        (
            "post",
            f"{SAAS}/concierge/requests",
            {"reservation_id": r, "request_type": "taxi", "requested_for": "tomorrow"},
        ),
        ("post", f"{SAAS}/concierge/requests", {"reservation_id": 987654321, "request_type": "taxi"}),
        (
            "post",
            f"{SAAS}/concierge/requests",
            {"reservation_id": r, "request_type": "taxi", "details": "x" * 2001},
        ),
        ("get", f"{SAAS}/concierge/services", None),
        ("get", f"{SAAS}/concierge/services?hotel_id=0", None),
        ("get", f"{SAAS}/concierge/services?hotel_id={world.b.id}", None),
        ("get", f"{SAAS}/concierge/services?hotel_id={world.a.id}&category=casino", None),
        ("post", f"{SAAS}/feedback", {"reservation_id": r, "scores": {}}),
        ("post", f"{SAAS}/feedback", {"reservation_id": r, "scores": {"food": 6}}),
        ("post", f"{SAAS}/feedback", {"reservation_id": r, "scores": {"taste": 3}}),
        ("post", f"{SAAS}/feedback", {"reservation_id": r, "order_id": 987654321, "scores": {"food": 3}}),
        ("post", f"{SAAS}/feedback", {"reservation_id": 987654321, "scores": {"food": 3}}),
        ("get", f"{SAAS}/feedback/summary/0", None),
        ("get", f"{SAAS}/feedback/summary/987654321", None),
        ("get", f"{SAAS}/feedback/summary/x", None),
    ]


def test_every_saas_route_answers_bad_input_with_a_4xx_envelope(client, world, stay):
    page = client.get("/docs/errors").text
    anchors = set(re.findall(r'<section id="([A-Z_]+)"', page))
    h = world.headers("saas_a")
    seen_routes = set()
    for method, path, body in bad_requests(world, stay):
        kwargs = {"content": body} if isinstance(body, str) else {"json": body} if body is not None else {}
        r = client.request(method, path, headers={**h, "Content-Type": "application/json"}, **kwargs)
        assert 400 <= r.status_code < 500, (method, path, body, r.status_code, r.text)
        err = r.json()["error"]
        assert r.json()["success"] is False and err["code"] and err["message"]
        assert err["documentation_url"] == f"/docs/errors#{err['code']}"
        assert err["code"] in anchors, err["code"]
        seen_routes.add((method, re.sub(r"/(-?\d+|abc|x)(?=/|$|\?)", "/{id}", path.split("?")[0])))
    assert len(seen_routes) == 7, seen_routes


@pytest.mark.parametrize("who", ["pms_a", "member_a"])
def test_other_systems_keys_are_refused_on_every_saas_route(client, world, stay, who):
    r_id = stay["reservation"]
    for method, path, body in [
        (
            "post",
            f"{SAAS}/orders",
            {
                "reservation_id": r_id,
                "client_order_key": "k",
                "items": [{"service_item_id": stay["bibimbap_a"]}],
            },
        ),
        ("get", f"{SAAS}/orders/customer/{stay['customer']}", None),
        ("put", f"{SAAS}/orders/1/status", {"status": "accepted"}),
        ("post", f"{SAAS}/concierge/requests", {"reservation_id": r_id, "request_type": "taxi"}),
        ("get", f"{SAAS}/concierge/services?hotel_id={world.a.id}", None),
        ("post", f"{SAAS}/feedback", {"reservation_id": r_id, "scores": {"overall": 4}}),
        ("get", f"{SAAS}/feedback/summary/{stay['customer']}", None),
    ]:
        r = client.request(method, path, headers=world.headers(who), json=body)
        assert r.status_code in (401, 403), (who, method, path, r.status_code, r.text)


def test_another_hotels_order_reads_as_not_found(client, world, stay, db):
    key_b = db.execute("select token from api.issue_api_key('saas', %s, 'b')", [[world.b.id]]).fetchone()[0]
    order = ok(
        client.post(
            f"{SAAS}/orders",
            headers=world.headers("saas_a"),
            json={
                "reservation_id": stay["reservation"],
                "client_order_key": "x",
                "items": [{"service_item_id": stay["bibimbap_a"]}],
            },
        ),
        201,
    )
    r = client.put(
        f"{SAAS}/orders/{order['id']}/status", headers={"X-API-Key": key_b}, json={"status": "accepted"}
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "ORDER_NOT_FOUND"
    history = ok(client.get(f"{SAAS}/orders/customer/{stay['customer']}", headers={"X-API-Key": key_b}))
    assert history == []


def test_the_error_page_has_an_entry_for_every_registered_code(client, db):
    page = client.get("/docs/errors")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    names = [r[0] for r in db.execute("select name from api.error_codes")]
    for name in names + ["NOT_FOUND", "PAYLOAD_TOO_LARGE"]:
        assert f'<section id="{name}">' in page.text, name
    # an error of another system points at it too
    r = client.get("/api/v2/pms/reservations/987654321", headers={"X-API-Key": "nope"})
    assert r.json()["error"]["documentation_url"] == "/docs/errors#AUTHENTICATION_FAILED"
