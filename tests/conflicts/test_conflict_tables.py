"""Where a conflict is kept (db/schema/conflicts--chain-and-hotel-tables.sql): a customer conflict in
the chain-wide core.customer_conflicts, a reservation or room conflict in core.hotel_conflicts with
its hotel; one id space, one view core.conflicts over both, and a write through the view changes
the resolution only."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.conflicts import detect, resolve, update
from tests.support.errors import raises_code
from tests.support.sql import one, scalar


def test_each_conflict_lives_with_its_entity(db: psycopg.Connection, hotel, customer):
    cid = customer()
    customer_conflict = detect(
        db,
        "customer",
        cid,
        [update("member", 0, phone="090-1234-5678"), update("pms", 2, phone="080-9876-5432")],
    )["results"][1]["conflict_id"]
    room = hotel.rooms["STD-1"]
    room_conflict = detect(
        db, "room", room, [update("pms", 0, status="dirty"), update("pms", 1, status="out_of_order")]
    )["results"][1]["conflict_id"]
    assert customer_conflict != room_conflict
    assert one(db, "select count(*) from core.customer_conflicts where id = %s", customer_conflict) == 1
    assert one(db, "select count(*) from core.hotel_conflicts where id = %s", customer_conflict) == 0
    assert one(db, "select hotel_id from core.hotel_conflicts where id = %s", room_conflict) == hotel.id
    assert one(db, "select count(*) from core.customer_conflicts where id = %s", room_conflict) == 0
    # one surface: the view has both, the hotel only for the room's
    seen = dict(
        db.execute(
            "select id, hotel_id from core.conflicts where id in (%s, %s)", (customer_conflict, room_conflict)
        ).fetchall()
    )
    assert seen == {customer_conflict: None, room_conflict: hotel.id}
    # resolving writes through the view into the right table
    resolve(db, room_conflict, "priority_based", {})
    assert one(db, "select status from core.hotel_conflicts where id = %s", room_conflict) == "resolved"
    resolve(db, customer_conflict, "manual", {"phone": "080-9876-5432", "resolution_reason": "called"})
    assert (
        one(db, "select status from core.customer_conflicts where id = %s", customer_conflict) == "resolved"
    )


def test_the_record_of_detection_never_changes(db: psycopg.Connection, hotel):
    room = hotel.rooms["STD-1"]
    conflict = detect(
        db, "room", room, [update("pms", 0, status="dirty"), update("pms", 1, status="out_of_order")]
    )["results"][1]["conflict_id"]
    with raises_code("INVALID_ARGUMENT"):
        db.execute("update core.conflicts set ours = '{}' where id = %s", (conflict,))
    db.rollback()
    # a customer conflict cannot carry a hotel, nor a room conflict lose it
    with raises_code("INVALID_ARGUMENT"):
        db.execute("update core.conflicts set hotel_id = null where id = %s", (conflict,))
    db.rollback()
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "insert into core.conflicts (entity_type, entity_id, hotel_id, before, theirs, ours, ours_system,"
            " ours_at, fields, verdict, rule, status, detected_at)"
            " values ('customer', 1, %s, '{}', '{}', '{}', 'member', now(), '{}', 'needs_review', 'x', 'open', now())",
            (hotel.id,),
        )
    db.rollback()
    assert (
        scalar(
            db,
            "update_room",
            p_hotel_id=hotel.id,
            p_room_id=room,
            p_expected_version=2,
            p_changes=Jsonb({"status": "clean"}),
        )["version"]
        == 3
    )
