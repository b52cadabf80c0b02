"""Seed 000's conflict rules on rooms (entity_type room), one table row per rule, each in both orders
of arrival.

Each case is two hotel-pms writes of one room (front desk and housekeeping) made on the same
version, with their own timestamps (POST /conflicts/detect). The first to arrive is applied; the
second is stale and judged by the shared rules (internal.judge_write) with a PMS's view of the
room's fields: out of order / out of service and the room's identity are critical, the
housekeeping status is a state (the later observation wins within 5 minutes), floor and notes
are ordinary fields. For the automatic rules the room ends the same whatever the order; for the
review cases the second write is kept out and an open conflict of the room's hotel records it."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.conflicts import detect, resolve, update
from tests.support.errors import raises_code
from tests.support.sql import one, scalar

NOTE = "Carpet stain near the window"


@dataclass
class Case:
    name: str
    a: dict
    b: dict
    verdict: str  # of the second arrival
    rule: str
    final: dict | None  # the room after both, the same in both orders (automatic rules)
    start: dict | None = None  # written (up to date) before the two


CASES = [
    Case(
        "disjoint fields are both applied",
        update("pms", 0, status="dirty"),
        update("pms", 30, housekeeping_notes=NOTE),
        "merged",
        "disjoint_fields",
        {"status": "dirty", "housekeeping_notes": NOTE},
    ),
    Case(
        "two housekeeping states within 5 minutes: the later observation wins",
        update("pms", 0, status="dirty"),
        update("pms", 4, status="inspected"),
        "merged",
        "later_timestamp_wins",
        {"status": "inspected"},
    ),
    Case(
        "two housekeeping states more than 5 minutes apart are reviewed",
        update("pms", 0, status="dirty"),
        update("pms", 6, status="inspected"),
        "needs_review",
        "changed_by_both_beyond_window",
        None,
    ),
    Case(
        "out of order against a housekeeping state is reviewed, however close",
        update("pms", 0, status="out_of_order"),
        update("pms", 1, status="dirty"),
        "needs_review",
        "critical_field_clash",
        None,
    ),
    Case(
        "out of service against out of order is reviewed",
        update("pms", 0, status="out_of_service"),
        update("pms", 0.5, status="out_of_order"),
        "needs_review",
        "critical_field_clash",
        None,
    ),
    Case(
        "a small edit of the notes within 5 minutes: the later timestamp wins",
        update("pms", 0, housekeeping_notes=NOTE + "."),
        update("pms", 2, housekeeping_notes=NOTE + "s"),
        "merged",
        "later_timestamp_wins",
        {"housekeeping_notes": NOTE + "s"},
        start={"housekeeping_notes": NOTE},
    ),
    Case(
        "rewriting half the notes or more is reviewed",
        update("pms", 0, housekeeping_notes=NOTE + "!"),
        update("pms", 1, housekeeping_notes="Broken lamp"),
        "needs_review",
        "large_change",
        None,
        start={"housekeeping_notes": NOTE},
    ),
    Case(
        "a floor moved by one within 5 minutes: the later timestamp wins",
        update("pms", 0, floor=11),
        update("pms", 3, floor=12),
        "merged",
        "later_timestamp_wins",
        {"floor": 12},
        start={"floor": 10},
    ),
]


def room_row(db: psycopg.Connection, room_id: int) -> dict:
    return one(db, "select to_jsonb(r) from core.rooms r where id = %s", room_id)


@pytest.mark.parametrize("order", ["a_first", "b_first"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(db: psycopg.Connection, hotel, case: Case, order: str):
    room_id = hotel.rooms["STD-1"]
    if case.start:
        scalar(
            db,
            "update_room",
            p_hotel_id=hotel.id,
            p_room_id=room_id,
            p_expected_version=1,
            p_changes=Jsonb(case.start),
        )
    before = room_row(db, room_id)
    first, second = (case.a, case.b) if order == "a_first" else (case.b, case.a)
    r1, r2 = detect(db, "room", room_id, [first, second])["results"]
    assert r1["verdict"] == "applied" and r1["conflict_id"] is None
    assert r2["verdict"] == case.verdict, r2
    assert r2["rule"] == case.rule, r2
    conflict = one(db, "select to_jsonb(f) from core.conflicts f where id = %s", r2["conflict_id"])
    assert conflict["entity_type"] == "room" and conflict["entity_id"] == room_id
    assert conflict["hotel_id"] == hotel.id, "a room conflict belongs to the room's hotel"
    assert conflict["ours_system"] == conflict["theirs_system"] == "pms"
    assert conflict["base_version"] == before["version"]
    room = room_row(db, room_id)
    if case.verdict == "merged":
        assert conflict["status"] == "resolved" and conflict["resolver"] == "system"
        for key, value in case.final.items():
            assert room[key] == value, (key, room[key])
    else:
        # kept out of the room: it is what the first write made it, one version on
        assert conflict["status"] == "open" and conflict["resolved_at"] is None
        assert room["version"] == before["version"] + 1
        for key, value in first["fields"].items():
            assert room[key] == value
        assert set(conflict["ours"]) == set(second["fields"])
        assert set(conflict["before"]) >= set(conflict["ours"])
    assert (
        one(
            db,
            "select count(*) from core.events where type = 'room.conflict_detected'"
            " and payload ->> 'conflict_id' = %s and hotel_id = %s",
            str(r2["conflict_id"]),
            hotel.id,
        )
        == 1
    )


def test_a_blind_write_makes_a_version_that_a_stale_write_is_judged_against(db: psycopg.Connection, hotel):
    """api.set_room_status carries no version, but its change is a new version with its history
    row: a notes write based on the version before is merged (disjoint), a status write reviewed."""
    room_id = hotel.rooms["STD-1"]
    scalar(
        db,
        "set_room_status",
        p_hotel_id=hotel.id,
        p_room_id=room_id,
        p_status="out_of_order",
        p_reason="leak",
    )
    assert room_row(db, room_id)["version"] == 2
    changes = one(db, "select changes from core.room_changes where room_id = %s and version = 2", room_id)
    assert changes == {"status": {"old": "clean", "new": "out_of_order"}}
    merged = scalar(
        db,
        "update_room",
        p_hotel_id=hotel.id,
        p_room_id=room_id,
        p_expected_version=1,
        p_changes=Jsonb({"housekeeping_notes": "ceiling leak, plumber booked"}),
    )
    assert merged["conflict"]["verdict"] == "merged" and merged["version"] == 3
    reviewed = scalar(
        db,
        "update_room",
        p_hotel_id=hotel.id,
        p_room_id=room_id,
        p_expected_version=1,
        p_changes=Jsonb({"status": "dirty"}),
    )
    assert reviewed["conflict"]["verdict"] == "needs_review" and reviewed["status"] == "out_of_order"
    # the same value written again makes no version
    same = scalar(
        db,
        "update_room",
        p_hotel_id=hotel.id,
        p_room_id=room_id,
        p_expected_version=3,
        p_changes=Jsonb({"status": "out_of_order"}),
    )
    assert same["version"] == 3 and "conflict" not in same


def review_conflict(db: psycopg.Connection, hotel) -> tuple[int, int]:
    """Housekeeping marks the room dirty; maintenance, on the same version, takes it out of order."""
    room_id = hotel.rooms["STD-1"]
    r = detect(
        db, "room", room_id, [update("pms", 0, status="dirty"), update("pms", 1, status="out_of_order")]
    )["results"][1]
    assert r["verdict"] == "needs_review"
    return room_id, r["conflict_id"]


def test_priority_based_applies_the_pms_write(db: psycopg.Connection, hotel):
    room_id, conflict_id = review_conflict(db, hotel)
    out = resolve(db, conflict_id, "priority_based", {})
    assert (
        out["conflict"]["status"] == "resolved" and out["conflict"]["resolution_method"] == "priority_based"
    )
    assert out["entity"]["status"] == "out_of_order" and out["entity"]["version"] == 3
    assert out["conflict"]["resolved_version"] == 3
    assert (
        one(db, "select conflict_id from core.room_changes where room_id = %s and version = 3", room_id)
        == conflict_id
    )
    assert (
        one(
            db,
            "select to_status::text from core.room_status_log where room_id = %s order by id desc limit 1",
            room_id,
        )
        == "out_of_order"
    )
    assert (
        one(
            db,
            "select count(*) from core.events where type = 'room.conflict_resolved'"
            " and payload ->> 'conflict_id' = %s",
            str(conflict_id),
        )
        == 1
    )
    with raises_code("CONFLICT_ALREADY_RESOLVED"):
        resolve(db, conflict_id, "priority_based", {})


def test_manual_writes_the_chosen_value_and_auto_merge_keeps_the_room(db: psycopg.Connection, hotel):
    room_id, conflict_id = review_conflict(db, hotel)
    out = resolve(
        db, conflict_id, "manual", {"status": "out_of_service", "resolution_reason": "checked on site"}
    )
    assert out["entity"]["status"] == "out_of_service" and out["conflict"]["resolved_data"] == {
        "status": "out_of_service"
    }

    hotel_room = hotel.rooms["STD-2"]
    r = detect(
        db, "room", hotel_room, [update("pms", 0, status="dirty"), update("pms", 1, status="out_of_order")]
    )
    cid = r["results"][1]["conflict_id"]
    out = resolve(db, cid, "auto_merge", {})
    # nothing of the stale write was free of the clash: the room stays as the first write left it
    assert out["conflict"]["status"] == "resolved" and out["entity"]["status"] == "dirty"
    assert out["entity"]["version"] == 2


def test_resolving_a_room_conflict_with_bad_input_is_refused(db: psycopg.Connection, hotel):
    _, conflict_id = review_conflict(db, hotel)
    with raises_code("INVALID_RESOLUTION"):
        resolve(db, conflict_id, "manual", {"number": "999", "resolution_reason": "x"})
    with raises_code("INVALID_RESOLUTION"):
        resolve(db, conflict_id, "manual", {"status": "clean"})  # no reason
    with raises_code("INVALID_ARGUMENT"):
        resolve(db, conflict_id, "manual", {"status": "broken", "resolution_reason": "x"})
    with raises_code("CONFLICT_NOT_FOUND"):
        resolve(db, 2**62, "auto_merge", {})
    assert one(db, "select status from core.conflicts where id = %s", conflict_id) == "open"


def test_room_writes_with_bad_input_are_refused(db: psycopg.Connection, hotel):
    room_id = hotel.rooms["STD-1"]

    def write(version, changes):
        return scalar(
            db,
            "update_room",
            p_hotel_id=hotel.id,
            p_room_id=room_id,
            p_expected_version=version,
            p_changes=Jsonb(changes),
        )

    with raises_code("VERSION_CONFLICT"):
        write(2, {"status": "dirty"})  # a version never read
    with raises_code("VERSION_CONFLICT"):
        write(None, {"status": "dirty"})
    with raises_code("INVALID_ARGUMENT"):
        write(1, {"active": False})  # through api.set_room_active only
    with raises_code("INVALID_ARGUMENT"):
        write(1, {"status": "sparkling"})
    with raises_code("INVALID_ARGUMENT"):
        write(1, {"floor": 2.5})
    with raises_code("INVALID_ARGUMENT"):
        write(1, {"housekeeping_notes": "x" * 2001})
    with raises_code("INVALID_ARGUMENT"):
        write(1, {})
    with raises_code("ROOM_NOT_FOUND"):
        scalar(
            db,
            "update_room",
            p_hotel_id=hotel.id,
            p_room_id=2**62,
            p_expected_version=1,
            p_changes=Jsonb({"status": "dirty"}),
        )
    with raises_code("ROOM_NOT_FOUND"):
        detect(db, "room", 2**62, [update("pms", 0, status="dirty")])
    # rooms are hotel-pms's: hotel-member's writes of a room are not a conflict to judge
    with raises_code("INVALID_ARGUMENT"):
        detect(db, "room", room_id, [update("member", 0, status="dirty")])
    assert room_row(db, room_id)["version"] == 1


def test_the_version_is_the_databases(db: psycopg.Connection, hotel):
    """A writer cannot set the version: it moves by one with the document, and not otherwise."""
    room_id = hotel.rooms["STD-1"]
    db.execute("update core.rooms set version = 40 where id = %s", (room_id,))
    assert room_row(db, room_id)["version"] == 1
    db.execute("update core.rooms set version = 40, floor = 7 where id = %s", (room_id,))
    assert room_row(db, room_id)["version"] == 2
    assert one(db, "select changes from core.room_changes where room_id = %s and version = 2", room_id) == {
        "floor": {"old": None, "new": 7}
    }
