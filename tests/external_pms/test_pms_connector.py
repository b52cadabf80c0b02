"""The Cloudbeds connector against the simulated Cloudbeds over real HTTP: every request valid
against Cloudbeds' OpenAPI file, import of a property, the polling sync (and its stop after five
failures), 429 with Retry-After honoured, the breaker opening on an outage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest

from hotelcore_tools.vendor_sim import Simulator, start_simulator
from hotelcore_tools.vendor_sim.spec import SpecViolation, validate_request
from pyapi.pms import service
from pyapi.pms.connector import (
    PmsCircuitOpen,
    PmsRefused,
    PmsUnavailable,
    Resilience,
    Resilient,
    get_connector,
)
from tests.support.sql import call


@pytest.fixture
def vendor():
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
    running = start_simulator(sim)
    yield running
    running.stop()
    assert sim.violations == []  # every request the connector sent was valid against the spec


def no_sleep() -> tuple[Resilient, list[float]]:
    slept: list[float] = []
    return Resilient(Resilience(sleep=slept.append)), slept


def test_the_validator_refuses_what_the_spec_does_not_allow():
    with pytest.raises(SpecViolation, match="not declared"):
        validate_request("/getRoomTypes", "GET", {"nope": "1"}, {"x-api-key": "k"}, b"", "")
    with pytest.raises(SpecViolation, match="required"):
        validate_request("/getRatePlans", "GET", {"startDate": "2026-01-01"}, {"x-api-key": "k"}, b"", "")
    with pytest.raises(SpecViolation, match="not a field"):
        validate_request(
            "/postRoomBlock",
            "POST",
            {},
            {"x-api-key": "k"},
            b"roomBlockTipe=x",
            "application/x-www-form-urlencoded",
        )
    with pytest.raises(SpecViolation, match="is not one of"):
        validate_request(
            "/postRoomBlock",
            "POST",
            {},
            {"x-api-key": "k"},
            b"roomBlockType=hold",
            "application/x-www-form-urlencoded",
        )
    with pytest.raises(SpecViolation, match="x-api-key"):
        validate_request("/getHotelDetails", "GET", {}, {}, b"", "")


def test_import_creates_the_external_hotel(db: psycopg.Connection, vendor):
    resilient, _ = no_sleep()
    today = dt.date.today()
    counts = service.import_property(
        db,
        vendor="cloudbeds",
        property_id="P1",
        base_url=vendor.url,
        api_key="key-1",
        webhook_base="http://127.0.0.1:9",
        resilient=resilient,
        today=today,
    )
    assert (counts["room_types"], counts["rooms"], counts["rate_plans"], counts["webhooks"]) == (2, 5, 2, 3)
    hotel_id = counts["hotel_id"]
    name, tz, cur = db.execute(
        "select name, time_zone, currency from core.hotels where id = %s", [hotel_id]
    ).fetchone()
    assert (name, tz, cur) == ("Hanok Stay", "Asia/Seoul", "KRW")
    rows = call(
        db,
        "search_availability",
        p_hotel_id=hotel_id,
        p_check_in=today + dt.timedelta(days=1),
        p_check_out=today + dt.timedelta(days=2),
    )
    assert [(r["room_type_name"], r["available_rooms"], r["total"], r["source"]) for r in rows] == [
        ("Ondol Room", 3, 120000, "mirror"),
        ("Garden Suite", 2, 240000, "mirror"),
    ]
    assert len(vendor.sim.properties["P1"].webhooks) == 3


def test_the_polling_sync_mirrors_reservations_made_elsewhere(db, vendor):
    resilient, _ = no_sleep()
    today = dt.date.today()
    hotel_id = service.import_property(
        db,
        vendor="cloudbeds",
        property_id="P1",
        base_url=vendor.url,
        api_key="key-1",
        resilient=resilient,
        today=today,
    )["hotel_id"]
    night = today + dt.timedelta(days=3)
    rid = vendor.sim.book_elsewhere("P1", "RT1", night, night + dt.timedelta(days=2))
    state = service.sync_hotel(db, hotel_id, resilient=resilient, today=today)
    assert state["ok"] and state["consecutive_failures"] == 0
    rows = call(
        db,
        "search_availability",
        p_hotel_id=hotel_id,
        p_check_in=night,
        p_check_out=night + dt.timedelta(days=1),
    )
    assert {r["room_type_name"]: r["available_rooms"] for r in rows}["Ondol Room"] == 2
    status = db.execute("select status from core.pms_reservations where external_id = %s", [rid]).fetchone()[
        0
    ]
    assert status == "confirmed"
    # cancelled at the front desk: the next sync gives the room back
    vendor.sim.set_status("P1", rid, "canceled")
    service.sync_hotel(db, hotel_id, resilient=resilient, trigger="manual", today=today)
    rows = call(
        db,
        "search_availability",
        p_hotel_id=hotel_id,
        p_check_in=night,
        p_check_out=night + dt.timedelta(days=1),
    )
    assert {r["room_type_name"]: r["available_rooms"] for r in rows}["Ondol Room"] == 3


def test_polling_stops_after_five_failed_runs(db, vendor):
    resilient = Resilient(Resilience(sleep=lambda s: None, fail_max=100))
    today = dt.date.today()
    hotel_id = service.import_property(
        db,
        vendor="cloudbeds",
        property_id="P1",
        base_url=vendor.url,
        api_key="key-1",
        resilient=resilient,
        today=today,
    )["hotel_id"]
    vendor.sim.faults("P1").outage = True
    states = [service.sync_hotel(db, hotel_id, resilient=resilient, today=today) for _ in range(6)]
    assert [s["stopped"] for s in states[:5]] == [False, False, False, False, True]
    assert states[5] is None  # stopped: no run until the manual trigger
    status = call(db, "pms_sync_status", p_hotel_id=hotel_id)[0]
    assert (status["sync_enabled"], status["error_count"]) == (False, 5)
    assert "HTTP 503" in status["last_error"]


def test_429_is_retried_after_its_retry_after(vendor):
    resilient, _ = no_sleep()
    vendor.sim.faults("P1").throttle_next = 2
    vendor.sim.faults("P1").retry_after = 3
    connector = get_connector("cloudbeds", property_id="P1", base_url=vendor.url, api_key="key-1")
    from pyapi.pms.connector import Bound

    details = Bound(connector, resilient).call("room_types")
    assert len(details) == 2
    assert resilient.retry_waits == [3, 3]  # the vendor's Retry-After, above the 0.5 / 1 s backoff


def test_transient_failures_back_off_500_1000_ms_and_the_breaker_opens(vendor):
    resilient, _ = no_sleep()
    connector = get_connector("cloudbeds", property_id="P1", base_url=vendor.url, api_key="key-1")
    from pyapi.pms.connector import Bound

    bound = Bound(connector, resilient)
    vendor.sim.faults("P1").fail_next = 2
    assert len(bound.call("room_types")) == 2  # third try succeeds
    assert resilient.retry_waits == [0.5, 1.0]
    vendor.sim.faults("P1").outage = True
    for _ in range(5):
        with pytest.raises(PmsUnavailable):
            bound.call("room_types")
    with pytest.raises(PmsCircuitOpen):
        bound.call("room_types")  # open: the vendor is not called
    assert resilient.breaker("cloudbeds", "P1").current_state == "open"


def test_the_rate_limit_answers_429_past_ten_requests_a_second(vendor):
    import httpx

    with httpx.Client() as client:
        codes = [
            client.get(vendor.url + "/getHotelDetails", headers={"x-api-key": "key-1"}).status_code
            for _ in range(12)
        ]
    assert codes[:10] == [200] * 10 and 429 in codes[10:]


def test_hold_confirm_and_cancel_at_the_vendor(vendor):
    from pyapi.pms.connector import Guest

    connector = get_connector("cloudbeds", property_id="P1", base_url=vendor.url, api_key="key-1")
    day = dt.date.today() + dt.timedelta(days=5)
    guest = Guest("Gil-dong", "Hong", "hong@example.com")
    hold = connector.create_hold("RT2", 2, day, day + dt.timedelta(days=2), guest, 180)
    prop = vendor.sim.properties["P1"]
    assert vendor.sim.available(prop, "RT2", day) == 0  # held: no channel can sell them
    connector.release_hold(hold)
    assert vendor.sim.available(prop, "RT2", day) == 2
    hold = connector.create_hold("RT2", 1, day, day + dt.timedelta(days=2), guest, 180)
    res = connector.confirm(hold, guest, None, "checkout-1")
    assert (res.status, res.rooms, res.room_type_id) == ("confirmed", 1, "RT2")
    assert vendor.sim.available(prop, "RT2", day) == 1
    connector.cancel(res.id)
    assert connector.reservation(res.id).status == "canceled"
    assert vendor.sim.available(prop, "RT2", day) == 2


def test_a_lost_confirmation_answer_is_settled_by_the_reference_not_booked_twice(vendor):
    """postReservation is not idempotent: Cloudbeds books, the answer is lost (504), the retry is
    refused because the first attempt took the room. The connector finds its own reservation by the
    checkout's reference instead of failing a booking the vendor holds."""
    from pyapi.pms.connector import Bound, Guest

    resilient, _ = no_sleep()
    connector = get_connector("cloudbeds", property_id="P1", base_url=vendor.url, api_key="key-1")
    day = dt.date.today() + dt.timedelta(days=6)
    guest = Guest("Gil-dong", "Hong", "hong@example.com")
    prop = vendor.sim.properties["P1"]
    # another guest's stay on the same night and room type: the lookup must not take it for ours
    vendor.sim.book_elsewhere("P1", "RT1", day, day + dt.timedelta(days=1))
    hold = connector.create_hold("RT1", 1, day, day + dt.timedelta(days=1), guest, 180)
    faults = vendor.sim.faults("P1")
    faults.fail_operations = {"postReservation"}
    faults.lose_answer_next = 1
    res = Bound(connector, resilient).call("confirm", hold, guest, None, "checkout-lost-1")
    ours = [r for r in prop.reservations.values() if r.third_party_id == "checkout-lost-1"]
    assert [r.id for r in ours] == [res.id] and res.status == "confirmed"
    assert len(prop.reservations) == 2  # booked once, not twice
    assert vendor.sim.available(prop, "RT1", day) == 1  # three rooms: the walk-in's, ours, one free

    # a refusal with no reservation of ours behind it stays a refusal
    faults.lose_answer_next = 0
    other = connector.create_hold("RT2", 1, day, day + dt.timedelta(days=1), guest, 180)
    connector.release_hold(other)
    vendor.sim.book_elsewhere("P1", "RT2", day, day + dt.timedelta(days=1))
    vendor.sim.book_elsewhere("P1", "RT2", day, day + dt.timedelta(days=1))
    with pytest.raises(PmsRefused, match="no availability"):
        connector.confirm(other, guest, None, "checkout-lost-2")


def test_paged_lists_are_read_to_their_end_and_no_further(vendor):
    sim = vendor.sim
    sim.add_property("P2", "key-2", room_types=[("RT9", "Dorm", 4, 130, Decimal("30000"))])
    connector = get_connector("cloudbeds", property_id="P2", base_url=vendor.url, api_key="key-2")
    before = len(sim.requests)
    rooms = connector.rooms()
    assert len(rooms) == 130 and len({r["external_id"] for r in rooms}) == 130
    assert len(sim.requests) - before == 2  # pages of 100: two requests


def test_the_room_list_is_read_again_after_its_ttl(db, vendor):
    resilient, _ = no_sleep()
    today = dt.date.today()
    hotel_id = service.import_property(
        db,
        vendor="cloudbeds",
        property_id="P1",
        base_url=vendor.url,
        api_key="key-1",
        resilient=resilient,
        today=today,
    )["hotel_id"]
    prop = vendor.sim.properties["P1"]
    # the property adds a room type with two rooms and closes a room of another
    from hotelcore_tools.vendor_sim import Rate, RoomType

    prop.room_types["RT3"] = RoomType("RT3", "Hanok Loft", "LOF", 3)
    for i in (1, 2):
        prop.rooms[f"RT3-{i}"] = "RT3"
        prop.room_names[f"RT3-{i}"] = f"LOF0{i}"
    prop.rates["RRT3"] = Rate("RRT3", "RT3", "Loft best rate", Decimal("300000"))
    del prop.rooms["RT1-3"]
    service.sync_hotel(db, hotel_id, resilient=resilient, today=today)
    assert (
        db.execute("select count(*) from core.pms_room_types where hotel_id = %s", [hotel_id]).fetchone()[0]
        == 2
    )
    db.execute("select internal.shift_clock(interval '3601 seconds')")  # past the room list's TTL
    db.execute("update core.pms_properties set next_sync_at = internal.now()")
    state = service.sync_hotel(db, hotel_id, resilient=resilient, today=today)
    assert state["ok"], state
    rows = call(
        db,
        "search_availability",
        p_hotel_id=hotel_id,
        p_check_in=today + dt.timedelta(days=1),
        p_check_out=today + dt.timedelta(days=2),
    )
    assert {r["room_type_name"]: r["available_rooms"] for r in rows} == {
        "Ondol Room": 2,
        "Garden Suite": 2,
        "Hanok Loft": 2,
    }
    active = db.execute(
        "select count(*) from core.rooms where hotel_id = %s and active", [hotel_id]
    ).fetchone()[0]
    assert active == 6
