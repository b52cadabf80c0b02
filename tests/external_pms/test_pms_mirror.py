"""External-PMS hotels in SQL: import, search from the mirror with its age, the ledger functions
refused with EXTERNAL_PMS_HOTEL, webhooks applied once and converging, the booking decrement,
the polling sync's stop after five failures."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.errors import raises_code
from tests.support.external_pms import import_property, property_document, today
from tests.support.sql import call, scalar


@pytest.fixture
def hotel(db: psycopg.Connection) -> tuple[int, dt.date]:
    start = today(db)
    return import_property(db, property_document(start)), start


def test_import_creates_the_hotel_and_its_mirror(db, hotel):
    hotel_id, start = hotel
    name, tz, currency = db.execute(
        "select name, time_zone, currency from core.hotels where id = %s", [hotel_id]
    ).fetchone()
    assert (name, tz, currency) == ("Cloudbeds Seoul", "Asia/Seoul", "KRW")
    assert db.execute("select count(*) from core.rooms where hotel_id = %s", [hotel_id]).fetchone()[0] == 5
    assert (
        db.execute("select count(*) from core.pms_inventory where hotel_id = %s", [hotel_id]).fetchone()[0]
        == 60
    )
    assert (
        db.execute("select count(*) from core.inventory where hotel_id = %s", [hotel_id]).fetchone()[0] == 0
    )
    with raises_code("PMS_PROPERTY_ALREADY_IMPORTED"):
        import_property(db, property_document(start, code="cb-other"))


def test_search_answers_from_the_mirror_with_its_age(db, hotel):
    hotel_id, start = hotel
    rows = call(
        db,
        "search_availability",
        p_hotel_id=hotel_id,
        p_check_in=start + dt.timedelta(days=1),
        p_check_out=start + dt.timedelta(days=3),
    )
    assert [(r["room_type_name"], r["available_rooms"], r["total"], r["source"]) for r in rows] == [
        ("Standard", 3, 220000, "mirror"),  # 2 nights x 100,000 + 10 % tax
        ("Deluxe", 2, 396000, "mirror"),
    ]
    imported = db.execute(
        "select imported_at from core.pms_properties where hotel_id = %s", [hotel_id]
    ).fetchone()[0]
    assert all(r["as_of"] == imported for r in rows)
    city = call(
        db,
        "search_city_availability",
        p_city="Seoul",
        p_check_in=start + dt.timedelta(days=1),
        p_check_out=start + dt.timedelta(days=3),
    )
    assert [(r["hotel_id"], r["lowest_total"], r["source"]) for r in city] == [(hotel_id, 220000, "mirror")]
    # three guests fit only the deluxe; a night missing from the mirror sells nothing
    rows = call(
        db,
        "search_availability",
        p_hotel_id=hotel_id,
        p_check_in=start + dt.timedelta(days=1),
        p_check_out=start + dt.timedelta(days=3),
        p_adults=3,
    )
    assert [r["room_type_name"] for r in rows] == ["Deluxe"]
    assert (
        call(
            db,
            "search_availability",
            p_hotel_id=hotel_id,
            p_check_in=start + dt.timedelta(days=29),
            p_check_out=start + dt.timedelta(days=31),
        )
        == []
    )


def test_the_ledger_functions_refuse_an_external_hotel(db, hotel):
    hotel_id, start = hotel
    rt, rp = db.execute(
        "select rate_plans.room_type_id, rate_plans.id from core.rate_plans where hotel_id = %s order by id limit 1",
        [hotel_id],
    ).fetchone()
    customer = db.execute(
        "insert into core.customers (given_name, family_name) values ('Min', 'Kim') returning id"
    ).fetchone()[0]
    stay = {"p_check_in": start + dt.timedelta(days=2), "p_check_out": start + dt.timedelta(days=4)}
    calls = [
        ("create_hold", dict(p_hotel_id=hotel_id, p_room_type_id=rt, p_rate_plan_id=rp, **stay)),
        (
            "book_reservation",
            dict(p_hotel_id=hotel_id, p_room_type_id=rt, p_rate_plan_id=rp, p_customer_id=customer, **stay),
        ),
        ("open_inventory", dict(p_hotel_id=hotel_id, p_from=stay["p_check_in"], p_until=stay["p_check_out"])),
    ]
    for function, args in calls:
        with raises_code("EXTERNAL_PMS_HOTEL") as exc:
            call(db, function, **args)
        assert "/api/booking/checkout" in exc.value.diag.message_hint
    # a ledger row written around the functions is refused too
    with raises_code("EXTERNAL_PMS_HOTEL"):
        db.execute(
            "insert into core.inventory (hotel_id, room_type_id, night, capacity) values (%s, %s, %s, 1)",
            [hotel_id, rt, start],
        )
    assert db.execute("select count(*) from core.holds where hotel_id = %s", [hotel_id]).fetchone()[0] == 0


def reservation(rid: str, status: str, modified: str, start: dt.date, *, rooms: int = 1) -> dict:
    return {
        "external_id": rid,
        "status": status,
        "modified_at": modified,
        "check_in": (start + dt.timedelta(days=5)).isoformat(),
        "check_out": (start + dt.timedelta(days=7)).isoformat(),
        "room_type_external_id": "RT1",
        "rooms": rooms,
    }


def available(db, hotel_id: int, night: dt.date) -> int:
    return db.execute(
        "select i.available from core.pms_inventory i join core.pms_room_types t using (hotel_id, room_type_id)"
        " where i.hotel_id = %s and t.external_id = 'RT1' and i.night = %s",
        [hotel_id, night],
    ).fetchone()[0]


def test_webhooks_apply_once_and_converge_out_of_order(db, hotel):
    hotel_id, start = hotel
    night = start + dt.timedelta(days=5)
    far = "2999-01-01T00:00:00Z"  # versions newer than the import's snapshot
    later = "2999-01-01T00:05:00Z"

    def event(event_id: str, kind: str, doc: dict) -> str:
        return scalar(
            db,
            "pms_apply_webhook",
            p_vendor="cloudbeds",
            p_event_id=event_id,
            p_hotel_id=hotel_id,
            p_kind=kind,
            p_document=Jsonb(doc),
        )

    # the cancellation (newer) arrives before the confirmation (older): the older one is stale
    assert event("e2", "booking_cancel", reservation("R9", "canceled", later, start)) == "applied"
    assert event("e1", "booking_confirm", reservation("R9", "confirmed", far, start)) == "stale"
    assert event("e1", "booking_confirm", reservation("R9", "confirmed", far, start)) == "duplicate"
    status = db.execute("select status from core.pms_reservations where external_id = 'R9'").fetchone()[0]
    assert status == "canceled"
    assert available(db, hotel_id, night) == 3  # nothing taken: the reservation ends cancelled
    # in order, a confirmation takes its rooms and its cancellation gives them back
    assert event("e3", "booking_confirm", reservation("R10", "confirmed", far, start, rooms=2)) == "applied"
    assert available(db, hotel_id, night) == 1
    assert event("e4", "booking_cancel", reservation("R10", "canceled", later, start, rooms=2)) == "applied"
    assert available(db, hotel_id, night) == 3
    assert db.execute("select count(*) from core.pms_webhook_events").fetchone()[0] == 4


def test_a_snapshot_older_than_the_mirror_changes_nothing(db, hotel):
    hotel_id, start = hotel
    doc = {
        "inventory": [
            {"room_type_external_id": "RT1", "night": start.isoformat(), "total": 3, "available": 0}
        ]
    }
    assert (
        scalar(
            db,
            "pms_apply_snapshot",
            p_hotel_id=hotel_id,
            p_document=Jsonb(doc),
            p_source="fetch",
            p_as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        )
        == 0
    )
    assert available(db, hotel_id, start) == 3
    assert scalar(db, "pms_apply_snapshot", p_hotel_id=hotel_id, p_document=Jsonb(doc), p_source="fetch") == 1
    assert available(db, hotel_id, start) == 0


def test_polling_stops_after_five_consecutive_failures(db, hotel):
    hotel_id, _ = hotel
    for i in range(5):
        assert scalar(db, "pms_claim_sync", p_hotel_id=hotel_id)
        assert not scalar(db, "pms_claim_sync", p_hotel_id=hotel_id)  # one runner at a time
        state = scalar(
            db,
            "pms_record_sync",
            p_hotel_id=hotel_id,
            p_trigger="poll",
            p_started_at=db.execute("select internal.now()").fetchone()[0],
            p_ok=False,
            p_error="boom",
        )
        assert state["stopped"] == (i == 4)
    assert not scalar(db, "pms_claim_sync", p_hotel_id=hotel_id)
    # the ops event of the stop, once
    events = db.execute(
        "select payload ->> 'last_error' from core.events where type = 'pms_sync.stopped'"
    ).fetchall()
    assert events == [("boom",)]
    status = call(db, "pms_sync_status", p_hotel_id=hotel_id)[0]
    assert (status["sync_enabled"], status["consecutive_failures"], status["error_count"]) == (False, 5, 5)
    scalar(db, "pms_request_sync", p_hotel_id=hotel_id)  # the manual trigger restarts it
    assert scalar(db, "pms_claim_sync", p_hotel_id=hotel_id)


def test_lookup_counts_hits_and_misses(db, hotel):
    hotel_id, start = hotel
    fresh = call(
        db, "pms_lookup", p_hotel_id=hotel_id, p_check_in=start, p_check_out=start + dt.timedelta(days=2)
    )[0]
    assert fresh["fresh"] is True
    missing = call(
        db,
        "pms_lookup",
        p_hotel_id=hotel_id,
        p_check_in=start + dt.timedelta(days=29),
        p_check_out=start + dt.timedelta(days=31),
    )[0]
    assert missing["fresh"] is False
    db.execute("select internal.shift_clock(interval '91 seconds')")
    stale = call(
        db, "pms_lookup", p_hotel_id=hotel_id, p_check_in=start, p_check_out=start + dt.timedelta(days=2)
    )[0]
    assert stale["fresh"] is False
    assert db.execute("select sum(hits), sum(misses) from core.pms_cache_lookups").fetchone() == (1, 2)


def test_racing_deliveries_apply_once_and_converge(db, hotel, hammer):
    """Eight connections deliver, at once, the same booking event and the reservation's versions
    in every order: one event row, the newest version wins, its rooms counted once."""
    hotel_id, start = hotel
    night = start + dt.timedelta(days=5)
    versions = [
        reservation("R77", "confirmed", "2999-01-01T00:00:00Z", start, rooms=2),
        reservation("R77", "confirmed", "2999-01-01T00:01:00Z", start, rooms=1),
        reservation("R77", "checked_in", "2999-01-01T00:02:00Z", start, rooms=1),
    ]

    def deliver(conn, i):
        outcomes = [
            scalar(
                conn,
                "pms_apply_webhook",
                p_vendor="cloudbeds",
                p_event_id="same-event",
                p_hotel_id=hotel_id,
                p_kind="booking_confirm",
                p_document=Jsonb(versions[0]),
            )
        ]
        for v in versions if i % 2 else list(reversed(versions)):
            outcomes.append(
                scalar(
                    conn, "pms_apply_reservation", p_hotel_id=hotel_id, p_document=Jsonb(v), p_source="poll"
                )
            )
        return outcomes

    results = hammer.run(8, deliver)
    assert sorted(r[0] for r in results).count("duplicate") == 7
    assert (
        db.execute("select count(*) from core.pms_webhook_events where event_id = 'same-event'").fetchone()[0]
        == 1
    )
    status, rooms = db.execute(
        "select status, rooms from core.pms_reservations where external_id = 'R77'"
    ).fetchone()
    assert (status, rooms) == ("checked_in", 1)
    assert available(db, hotel_id, night) == 2  # 3 rooms, the newest version takes 1
