"""hotel-pms's room writes with their version and room conflicts (PUT /rooms/{room_id}, POST
/conflicts/detect with entity_type room, resolve), and the special event days (GET / PUT / DELETE
/special-event-days) over HTTP: the envelope, the refusals mapped to their status, a forbidden
system and another hotel's key."""

from __future__ import annotations

import datetime as dt

from test_http_endpoints import ok, refused

PMS = "/api/v2/pms"


def stamp(minutes_ago: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)).isoformat()


def room_of(client, world, key: str = "pms_a") -> dict:
    rooms = ok(client.get(f"{PMS}/rooms", params={"hotel_id": world.a.id}, headers=world.headers(key)))
    return rooms[0]


def test_a_stale_room_write_is_merged_or_kept_for_review(client, world):
    h = world.headers("pms_a")
    room = room_of(client, world)
    assert room["version"] == 1 and room["housekeeping_notes"] is None
    url = f"{PMS}/rooms/{room['room_id']}"
    done = ok(client.put(url, headers=h, json={"version": 1, "status": "dirty", "reason": "checked out"}))
    assert done["status"] == "dirty" and done["version"] == 2 and "conflict" not in done
    # on the same version: a note is disjoint (merged), out of order clashes (409, recorded)
    merged = ok(client.put(url, headers=h, json={"version": 1, "housekeeping_notes": "minibar empty"}))
    assert merged["conflict"]["verdict"] == "merged" and merged["version"] == 3
    err = refused(
        client.put(url, headers=h, json={"version": 1, "status": "out_of_order"}),
        409,
        "CONFLICT_NEEDS_REVIEW",
    )
    assert err["details"]["rule"] == "critical_field_clash" and err["details"]["version"] == 3
    conflict_id = err["details"]["conflict_id"]
    # the status route takes the version too
    refused(
        client.put(f"{url}/status", headers=h, json={"version": 1, "status": "out_of_service"}),
        409,
        "CONFLICT_NEEDS_REVIEW",
    )

    body = {"resolution_method": "priority_based", "resolved_data": {}, "resolver_user_id": "duty-manager"}
    out = ok(client.post(f"{PMS}/conflicts/{conflict_id}/resolve", headers=h, json=body))
    assert out["entity"]["status"] == "out_of_order" and out["entity"]["version"] == 4
    refused(
        client.post(f"{PMS}/conflicts/{conflict_id}/resolve", headers=h, json=body),
        409,
        "CONFLICT_ALREADY_RESOLVED",
    )
    refused(client.put(url, headers=h, json={"version": 9, "status": "dirty"}), 409, "VERSION_CONFLICT")
    refused(client.put(url, headers=h, json={"version": 4, "active": False}), 400, "INVALID_ARGUMENT")
    # hotel-member and hotel-saas have no room write; hotel B's key does not see hotel A's room
    for key in ("member_a", "saas_a"):
        refused(
            client.put(url, headers=world.headers(key), json={"version": 4, "status": "dirty"}),
            403,
            "PERMISSION_DENIED",
        )
    refused(
        client.put(url, headers=world.headers("pms_b"), json={"version": 4, "status": "dirty"}),
        404,
        "ROOM_NOT_FOUND",
    )


def test_room_conflicts_detected_under_hotel_pms(client, world):
    h = world.headers("pms_a")
    room = room_of(client, world)
    body = {
        "entity_type": "room",
        "entity_id": room["room_id"],
        "conflicting_updates": [
            {"system": "hotel-pms", "timestamp": stamp(4), "fields": {"status": "dirty"}},
            {"system": "hotel-pms", "timestamp": stamp(2), "fields": {"status": "inspected"}},
        ],
    }
    out = ok(client.post(f"{PMS}/conflicts/detect", headers=h, json=body))
    assert [r["verdict"] for r in out["results"]] == ["applied", "merged"]
    assert out["results"][1]["rule"] == "later_timestamp_wins" and out["version"] == 3
    refused(
        client.post("/api/v2/member/conflicts/detect", headers=world.headers("member_a"), json=body),
        403,
        "PERMISSION_DENIED",
    )
    refused(
        client.post(f"{PMS}/conflicts/detect", headers=world.headers("pms_b"), json=body),
        404,
        "ROOM_NOT_FOUND",
    )


def test_special_event_days(client, world):
    h = world.headers("pms_a")
    day = world.a.day(10)
    body = {
        "hotel_id": world.a.id,
        "days": [
            {"day": day.isoformat(), "name": "Snow Festival"},
            {"day": world.a.day(11).isoformat(), "name": "Snow Festival"},
        ],
    }
    assert ok(client.put(f"{PMS}/special-event-days", headers=h, json=body)) == {
        "hotel_id": world.a.id,
        "written": 2,
    }
    window = {
        "hotel_id": world.a.id,
        "from": world.a.day(0).isoformat(),
        "until": world.a.day(30).isoformat(),
    }
    listed = ok(client.get(f"{PMS}/special-event-days", headers=h, params=window))
    assert [(d["day"], d["name"]) for d in listed] == [
        (day.isoformat(), "Snow Festival"),
        (world.a.day(11).isoformat(), "Snow Festival"),
    ]
    assert listed[0]["created_by"].startswith("pms")
    removed = ok(
        client.delete(
            f"{PMS}/special-event-days", headers=h, params={"hotel_id": world.a.id, "day": [day.isoformat()]}
        )
    )
    assert removed == {"hotel_id": world.a.id, "removed": 1}
    assert len(ok(client.get(f"{PMS}/special-event-days", headers=h, params=window))) == 1

    # refusals in the envelope: the database's rules, the body's shape
    refused(
        client.get(
            f"{PMS}/special-event-days", headers=h, params=window | {"until": world.a.day(0).isoformat()}
        ),
        400,
        "INVALID_DATES",
    )
    twice = {
        "hotel_id": world.a.id,
        "days": [{"day": day.isoformat(), "name": "A"}, {"day": day.isoformat(), "name": "B"}],
    }
    refused(client.put(f"{PMS}/special-event-days", headers=h, json=twice), 400, "INVALID_ARGUMENT")
    refused(
        client.put(f"{PMS}/special-event-days", headers=h, json={"hotel_id": world.a.id, "days": []}),
        400,
        "INVALID_ARGUMENT",
    )
    # a forbidden system, and another hotel's key
    for key in ("saas_a", "member_a"):
        refused(
            client.put(f"{PMS}/special-event-days", headers=world.headers(key), json=body),
            403,
            "PERMISSION_DENIED",
        )
        refused(
            client.get(f"{PMS}/special-event-days", headers=world.headers(key), params=window),
            403,
            "PERMISSION_DENIED",
        )
    b = world.headers("pms_b")
    refused(client.put(f"{PMS}/special-event-days", headers=b, json=body), 404, "HOTEL_NOT_FOUND")
    refused(client.get(f"{PMS}/special-event-days", headers=b, params=window), 404, "HOTEL_NOT_FOUND")
    refused(
        client.delete(
            f"{PMS}/special-event-days",
            headers=b,
            params={"hotel_id": world.a.id, "day": [world.a.day(11).isoformat()]},
        ),
        404,
        "HOTEL_NOT_FOUND",
    )
    assert len(ok(client.get(f"{PMS}/special-event-days", headers=h, params=window))) == 1
