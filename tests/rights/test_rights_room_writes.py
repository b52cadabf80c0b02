"""api.update_room and room conflicts (detect, resolve) in the hotel scope: a hotel-pms login
limited to hotel A performs each call on hotel B's room and B's room conflict, and is answered
exactly as for a room or conflict that does not exist; B's room is unchanged. A system outside
rooms (hotel-saas, hotel-member) is refused the write."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.errors import DENIED, raises_code
from tests.support.rights import World
from tests.support.sql import one, scalar

GHOST = 9_000_000_000


@pytest.fixture
def pms_of_a(db: psycopg.Connection, world: World, logins, connect_as) -> psycopg.Connection:
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (logins["pms"], world.a.id)
    )
    return connect_as("pms")


def b_room_conflict(db: psycopg.Connection, world: World) -> tuple[int, int]:
    room = world.b.room_ids[4]
    out = scalar(
        db,
        "detect_conflicts",
        p_entity_type="room",
        p_entity_id=room,
        p_updates=Jsonb(
            [
                {"system": "hotel-pms", "timestamp": "2024-12-01T10:00:00Z", "fields": {"status": "dirty"}},
                {
                    "system": "hotel-pms",
                    "timestamp": "2024-12-01T10:01:00Z",
                    "fields": {"status": "out_of_order"},
                },
            ]
        ),
    )
    return room, out["results"][1]["conflict_id"]


def test_another_hotels_room_reads_as_not_found(db: psycopg.Connection, world: World, pms_of_a) -> None:
    room, conflict = b_room_conflict(db, world)
    version = one(db, "select version from core.rooms where id = %s", room)
    for target in (room, GHOST):
        with raises_code("ROOM_NOT_FOUND"):
            scalar(
                pms_of_a,
                "update_room",
                p_hotel_id=world.a.id,
                p_room_id=target,
                p_expected_version=1,
                p_changes=Jsonb({"status": "clean"}),
            )
        pms_of_a.rollback()
        with raises_code("ROOM_NOT_FOUND"):
            scalar(
                pms_of_a,
                "detect_conflicts",
                p_entity_type="room",
                p_entity_id=target,
                p_updates=Jsonb(
                    [
                        {
                            "system": "hotel-pms",
                            "timestamp": "2024-12-01T10:00:00Z",
                            "fields": {"status": "clean"},
                        }
                    ]
                ),
            )
        pms_of_a.rollback()
    with raises_code("HOTEL_NOT_FOUND"):
        scalar(
            pms_of_a,
            "update_room",
            p_hotel_id=world.b.id,
            p_room_id=room,
            p_expected_version=1,
            p_changes=Jsonb({"status": "clean"}),
        )
    pms_of_a.rollback()
    for target in (conflict, GHOST):
        with raises_code("CONFLICT_NOT_FOUND"):
            scalar(
                pms_of_a,
                "resolve_conflict",
                p_conflict_id=target,
                p_resolution_method="priority_based",
                p_resolved_data=Jsonb({}),
                p_resolver_user_id="frontdesk-a",
            )
        pms_of_a.rollback()
    assert one(db, "select version from core.rooms where id = %s", room) == version
    assert one(db, "select status from core.conflicts where id = %s", conflict) == "open"
    # the own hotel's room is written
    mine = scalar(
        pms_of_a,
        "update_room",
        p_hotel_id=world.a.id,
        p_room_id=world.a.room_ids[4],
        p_expected_version=1,
        p_changes=Jsonb({"status": "dirty"}),
    )
    assert mine["version"] == 2


@pytest.mark.parametrize("system", ["saas", "member"])
def test_a_system_outside_rooms_cannot_write_or_settle_one(
    db: psycopg.Connection, world: World, connect_as, system: str
) -> None:
    room, conflict = b_room_conflict(db, world)
    conn = connect_as(system)
    calls = [
        lambda: scalar(
            conn,
            "update_room",
            p_hotel_id=world.b.id,
            p_room_id=room,
            p_expected_version=1,
            p_changes=Jsonb({"status": "clean"}),
        ),
        lambda: scalar(
            conn,
            "resolve_conflict",
            p_conflict_id=conflict,
            p_resolution_method="priority_based",
            p_resolved_data=Jsonb({}),
            p_resolver_user_id="someone",
        ),
        lambda: scalar(
            conn,
            "detect_conflicts",
            p_entity_type="room",
            p_entity_id=room,
            p_updates=Jsonb(
                [{"system": "hotel-pms", "timestamp": "2024-12-01T10:00:00Z", "fields": {"status": "clean"}}]
            ),
        ),
    ]
    for run in calls:
        with pytest.raises(psycopg.Error) as excinfo:
            run()
        assert excinfo.value.sqlstate in DENIED, excinfo.value
        conn.rollback()
    assert one(db, "select status from core.conflicts where id = %s", conflict) == "open"
