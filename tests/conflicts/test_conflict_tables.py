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


# a conflict row the life-cycle rules allow (an open conflict awaiting review), and one change per
# rule that breaks it
_VALID = {
    "before": "{}",
    "theirs": "{}",
    "ours": "{}",
    "ours_system": "member",
    "fields": "{}",
    "verdict": "needs_review",
    "rule": "needs_review",
    "status": "open",
}
_BROKEN = {
    "verdict unknown": {"verdict": "maybe"},
    "status unknown": {"status": "pending"},
    "method unknown": {
        "status": "resolved",
        "resolver": "system",
        "resolution_method": "coin_toss",
        "resolved_at": "now",
    },
    "resolved without resolver": {"status": "resolved", "resolution_method": "manual", "resolved_at": "now"},
    "open with a resolution": {"resolver": "u1", "resolution_method": "manual", "resolved_at": "now"},
    "merged yet open": {"verdict": "merged"},
    "escalated without reason": {"escalated": True},
    "reason without escalation": {"escalation_reasons": ["vip"]},
    "versions not objects": {"theirs": "[]"},
    "fields not an object": {"fields": '"applied"'},
}


def _insert_conflict(db: psycopg.Connection, entity_type: str, entity_id: int, hotel_id, **columns) -> None:
    values = {"entity_type": entity_type, "entity_id": entity_id, "hotel_id": hotel_id, "detected_at": "now"}
    values |= _VALID | columns
    names = ", ".join(values)
    db.execute(
        f"insert into core.conflicts ({names}, ours_at) values ({', '.join(['%s'] * len(values))}, now())",
        list(values.values()),
    )


@pytest.mark.parametrize("rule", list(_BROKEN))
def test_both_tables_keep_the_life_cycle_rules_in_one_check(db: psycopg.Connection, hotel, customer, rule):
    """Each rule of a conflict's life is refused on the chain-wide and the hotel table alike, by
    the check both call: core.conflict_life_cycle_holds."""
    for entity_type, entity_id, hotel_id, table in [
        ("customer", customer(), None, "customer_conflicts"),
        ("room", hotel.rooms["STD-1"], hotel.id, "hotel_conflicts"),
    ]:
        # the valid row is accepted, so each refusal below is the rule's
        _insert_conflict(db, entity_type, entity_id, hotel_id)
        db.rollback()
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            _insert_conflict(db, entity_type, entity_id, hotel_id, **_BROKEN[rule])
        assert refused.value.diag.constraint_name == f"{table}_life_cycle"
        db.rollback()


def test_the_life_cycle_rules_have_one_home(db: psycopg.Connection):
    """The two tables' checks are the entity's check and the one function's, nothing spelled twice."""
    checks = db.execute(
        """select c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
           from pg_constraint c
           where c.conrelid in ('core.customer_conflicts'::regclass, 'core.hotel_conflicts'::regclass)
             and c.contype = 'c'
           order by 1, 2"""
    ).fetchall()
    assert [(t, n) for t, n, _ in checks] == [
        ("core.customer_conflicts", "customer_conflicts_entity_is_customer"),
        ("core.customer_conflicts", "customer_conflicts_life_cycle"),
        ("core.hotel_conflicts", "hotel_conflicts_entity_is_hotel_owned"),
        ("core.hotel_conflicts", "hotel_conflicts_life_cycle"),
    ]
    life = {d for _, n, d in checks if n.endswith("_life_cycle")}
    assert len(life) == 1 and "core.conflict_life_cycle_holds(" in life.pop()
    assert (
        one(
            db,
            "select provolatile from pg_proc where oid = %s::regprocedure",
            "core.conflict_life_cycle_holds(text, text, text, timestamptz, text, boolean, text[],"
            " jsonb, jsonb, jsonb, jsonb)",
        )
        == "i"
    )
