"""POST /conflicts/detect and /conflicts/{conflict_id}/resolve over HTTP: customers under
hotel-member, room claims under hotel-pms, seed 000's bodies, the envelope, and the refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from test_http_endpoints import booking, ok, refused


@pytest.fixture
def customer(client, world) -> dict:
    """A member whose phone neither of seed 000's example updates has."""
    body = {"given_name": "Taro", "family_name": "Tanaka", "phone": "090-5555-6666", "phone_country": "JP"}
    return ok(client.post("/api/v2/member/customers", headers=world.headers("member_a"), json=body), 201)


def stamp(minutes_ago: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)).isoformat()


def seed_example(customer_id: int) -> dict:
    """Seed 000's detect body, with the customer's own field names."""
    return {
        "entity_type": "customer",
        "entity_id": customer_id,
        "conflicting_updates": [
            {
                "system": "hotel-member",
                "timestamp": stamp(10),
                "fields": {"given_name": "太郎", "phone": "090-1234-5678"},
            },
            {
                "system": "hotel-pms",
                "timestamp": stamp(8),
                "fields": {"given_name": "太郎", "phone": "080-9876-5432"},
            },
        ],
    }


def test_customer_conflicts_under_hotel_member(client, world, customer):
    h = world.headers("member_a")
    out = ok(client.post("/api/v2/member/conflicts/detect", headers=h, json=seed_example(customer["id"])))
    first, second = out["results"]
    assert first["verdict"] == "applied" and first["conflict_id"] is None
    assert second["verdict"] == "needs_review" and second["rule"] == "critical_field_clash"
    assert second["fields"]["given_name"]["outcome"] == "agreed"  # the same name from both: no clash
    conflict_id = second["conflict_id"]

    body = {
        "resolution_method": "manual",
        "resolved_data": {"phone": "080-9876-5432", "resolution_reason": "顧客から電話で新番号確認済み"},
        "resolver_user_id": "admin-user-123",
    }
    done = ok(client.post(f"/api/v2/member/conflicts/{conflict_id}/resolve", headers=h, json=body))
    assert done["entity"]["phone_e164"] == "+818098765432"
    assert done["entity"]["version"] == out["version"] + 1
    assert done["conflict"]["status"] == "resolved" and done["conflict"]["resolver"] == "admin-user-123"

    refused(
        client.post(f"/api/v2/member/conflicts/{conflict_id}/resolve", headers=h, json=body),
        409,
        "CONFLICT_ALREADY_RESOLVED",
    )
    refused(
        client.post("/api/v2/member/conflicts/999999/resolve", headers=h, json=body),
        404,
        "CONFLICT_NOT_FOUND",
    )
    refused(
        client.post(
            f"/api/v2/member/conflicts/{conflict_id}/resolve",
            headers=h,
            json=body | {"resolution_method": "vote"},
        ),
        400,
        "INVALID_ARGUMENT",
    )
    # the member owns customers, not room claims
    refused(
        client.post(
            "/api/v2/member/conflicts/detect",
            headers=h,
            json={
                "entity_type": "reservation",
                "entity_id": 1,
                "conflicting_updates": seed_example(1)["conflicting_updates"],
            },
        ),
        403,
        "PERMISSION_DENIED",
    )


def test_the_pms_and_saas_may_not_settle_customer_conflicts(client, world, customer):
    refused(
        client.post(
            "/api/v2/pms/conflicts/detect", headers=world.headers("pms_a"), json=seed_example(customer["id"])
        ),
        403,
        "PERMISSION_DENIED",
    )
    # hotel-member's routes refuse other systems' keys
    refused(
        client.post(
            "/api/v2/member/conflicts/detect",
            headers=world.headers("saas_a"),
            json=seed_example(customer["id"]),
        ),
        403,
        "PERMISSION_DENIED",
    )


def test_a_stale_customer_write_kept_for_review_is_a_409_with_the_conflict(client, world, customer, db):
    h = world.headers("member_a")
    cid = customer["id"]
    # the guest books at hotel A, so hotel A's PMS may change their basic fields
    ok(
        client.post(
            "/api/v2/pms/reservations",
            headers=world.headers("pms_a"),
            json=booking(world, cid, offset=3, nights=2),
        ),
        201,
    )
    ok(
        client.put(
            f"/api/v2/member/customers/{cid}", headers=h, json={"version": 1, "phone": "090-2222-3333"}
        )
    )
    err = refused(
        client.put(
            f"/api/v2/pms/customers/{cid}/basic",
            headers=world.headers("pms_a"),
            json={"version": 1, "phone": "080-4444-5555"},
        ),
        409,
        "CONFLICT_NEEDS_REVIEW",
    )
    conflict_id = err["details"]["conflict_id"]
    # committed: the conflict is recorded, the master kept the member's phone
    assert db.execute(
        "select status, ours_system from core.conflicts where id = %s", [conflict_id]
    ).fetchone() == ("open", "pms")
    assert (
        db.execute("select phone_e164 from core.customers where id = %s", [cid]).fetchone()[0]
        == "+819022223333"
    )


def test_room_claims_under_hotel_pms(client, world, customer):
    h = world.headers("pms_a")
    first = ok(
        client.post(
            "/api/v2/pms/reservations", headers=h, json=booking(world, customer["id"], offset=3, nights=2)
        ),
        201,
    )
    later = ok(
        client.post(
            "/api/v2/pms/reservations", headers=h, json=booking(world, customer["id"], offset=3, nights=2)
        ),
        201,
    )
    room = world.a.room_ids[0]
    claim = {"system": "hotel-pms", "timestamp": stamp(1), "fields": {"room_id": room}}
    out = ok(
        client.post(
            "/api/v2/pms/conflicts/detect",
            headers=h,
            json={
                "entity_type": "reservation",
                "entity_id": first["id"],
                "conflicting_updates": [claim],
            },
        )
    )
    assert out["results"][0]["verdict"] == "applied"
    out = ok(
        client.post(
            "/api/v2/pms/conflicts/detect",
            headers=h,
            json={
                "entity_type": "reservation",
                "entity_id": later["id"],
                "conflicting_updates": [claim],
            },
        )
    )
    r = out["results"][0]
    assert (r["verdict"], r["rule"], r["conflicting_reservation_id"]) == (
        "merged",
        "earlier_booking_wins",
        first["id"],
    )
    assert [s["room_id"] for s in r["suggestions"]] == world.a.room_ids[1:]
    # another hotel's key: the reservation does not exist for it
    refused(
        client.post(
            "/api/v2/pms/conflicts/detect",
            headers=world.headers("pms_b"),
            json={
                "entity_type": "reservation",
                "entity_id": later["id"],
                "conflicting_updates": [claim],
            },
        ),
        404,
        "RESERVATION_NOT_FOUND",
    )
