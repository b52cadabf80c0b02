"""Seed 000's conflict rules on reservations (api.modify_reservation with a stale version), one
table row per rule, each in both orders of arrival.

Each case is two changes hotel-pms made on version 1 of a booking (STD, nights 2..4, 2 adults),
each at its own time on the database clock. The first to arrive is applied; the second is stale
and judged by the same rules as a customer write (internal.judge_write). For the rules that
resolve automatically the booking ends the same whatever the order; for the review cases the
second change is kept out and an open conflict records before / theirs / ours. Escalation: a VIP,
a high-value booking or a special event day sends even a disjoint change to a person, flagged,
with reservation.conflict_escalated emitted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import psycopg
import pytest

from tests.support.factories import PIN, Clock, RoomType, make_hotel, seq
from tests.support.sql import call, one


@dataclass
class Change:
    minutes: float
    kw: dict  # modify_reservation parameters without p_, days as hotel.day offsets for check_in/out


@dataclass
class Case:
    name: str
    a: Change
    b: Change
    verdict: str  # of the second arrival
    rule: str
    final: dict | None = None  # document fields after both (auto rules), the same in both orders
    setup: dict = field(default_factory=dict)


CASES = [
    Case(
        "disjoint fields are both applied",
        Change(0, {"special_requests": "late arrival around 23:00"}),
        Change(30, {"check_out": 5}),
        "merged",
        "disjoint_fields",
        {"special_requests": "late arrival around 23:00", "stay": (2, 5)},
    ),
    Case(
        "within 5 minutes on a non-critical field the later timestamp wins",
        Change(0, {"special_requests": "late arrival around 22:00"}),
        Change(4, {"special_requests": "late arrival around 23:00"}),
        "merged",
        "later_timestamp_wins",
        {"special_requests": "late arrival around 23:00"},
    ),
    Case(
        "the same field changed more than 5 minutes apart is reviewed",
        Change(0, {"special_requests": "late arrival around 22:00"}),
        Change(6, {"special_requests": "late arrival around 23:00"}),
        "needs_review",
        "changed_by_both_beyond_window",
    ),
    Case(
        "a date clash is reviewed, however close",
        Change(0, {"check_out": 5}),
        Change(1, {"check_in": 1}),
        "needs_review",
        "critical_field_clash",
    ),
    Case(
        "a room type clash is reviewed",
        Change(0, {"room_type": "STD2"}),
        Change(1, {"room_type": "SUITE"}),
        "needs_review",
        "critical_field_clash",
    ),
    Case(
        "a rate clash (money) is reviewed",
        Change(0, {"rate_plan": "nr"}),
        Change(1, {"rate_plan": "bb"}),
        "needs_review",
        "money_field_clash",
    ),
    Case(
        "a change of half the text or more is reviewed",
        Change(0, {"special_requests": "late arrival"}),
        Change(1, {"special_requests": "vegan breakfast, twin beds"}),
        "needs_review",
        "large_change",
    ),
    Case(
        "a VIP's booking is escalated, even for disjoint fields",
        Change(0, {"special_requests": "late arrival around 23:00"}),
        Change(1, {"check_out": 5}),
        "needs_review",
        "escalated",
        setup={"rank": "gold"},
    ),
    Case(
        "a high-value booking is escalated",
        Change(0, {"special_requests": "late arrival around 23:00"}),
        Change(1, {"adults": 1}),
        "needs_review",
        "escalated",
        setup={"room_type": "SUITE", "nights": 4},
    ),
    Case(
        "a booking with a night on a special event day is escalated",
        Change(0, {"special_requests": "late arrival around 23:00"}),
        Change(1, {"adults": 1}),
        "needs_review",
        "escalated",
        setup={"event_day": 3},
    ),
]


@pytest.fixture
def hotel(db: psycopg.Connection):
    """JPY: STD (10,000, 2 rooms, 2 guests), STD2, SUITE (90,000, 4 guests); plans flex, nr, bb."""
    n = seq()
    return make_hotel(
        db,
        code=f"RR{n}",
        name=f"Reservation rules {n}",
        room_types=(
            RoomType("STD", 2, 10000, rooms=2),
            RoomType("STD2", 2, 11000, rooms=1),
            RoomType("SUITE", 4, 90000, rooms=1),
        ),
        plans=("flex", "nr", "bb"),
        room_number="{type}-{i}",
        days=30,
    )


def modify(db: psycopg.Connection, hotel, rid: int, change: Change) -> dict:
    """hotel-pms changes version 1 of the booking at ``change.minutes`` after the test's clock."""
    Clock(db).at(PIN + dt.timedelta(hours=1, minutes=change.minutes))
    params: dict = {"p_reservation_id": rid, "p_version": 1}
    room_type = change.kw.get("room_type")
    for key, value in change.kw.items():
        if key in ("check_in", "check_out"):
            params[f"p_{key}"] = hotel.day(value)
        elif key == "room_type":
            params["p_room_type_id"] = hotel.room_types[value]
        elif key == "rate_plan":
            params["p_rate_plan_id"] = hotel.plan(room_type or "STD", value)
        else:
            params[f"p_{key}"] = value
    db.execute("set role hotelcore_pms")
    try:
        return call(db, "modify_reservation", **params)[0]
    finally:
        db.execute("reset role")


def document(db: psycopg.Connection, rid: int) -> dict:
    return one(db, "select internal.reservation_document(%s)", rid)


@pytest.mark.parametrize("order", ["a_first", "b_first"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(db: psycopg.Connection, hotel, customer, book, case: Case, order: str):
    cid = customer()
    if "rank" in case.setup:
        db.execute("select api.set_customer_rank(%s, %s, 'vip guest')", (cid, case.setup["rank"]))
    if "event_day" in case.setup:
        call(
            db,
            "set_special_event_days",
            p_hotel_id=hotel.id,
            p_days=[hotel.day(case.setup["event_day"])],
            p_names=["Snow Festival"],
        )
    rid = book(hotel, cid, 2, case.setup.get("nights", 2), case.setup.get("room_type", "STD"))
    first, second = (case.a, case.b) if order == "a_first" else (case.b, case.a)
    out1 = modify(db, hotel, rid, first)
    assert out1["conflict"] is None and out1["version"] == 2
    after_first = document(db, rid)
    out2 = modify(db, hotel, rid, second)
    conflict = out2["conflict"]
    assert (conflict["verdict"], conflict["rule"]) == (case.verdict, case.rule), conflict
    row = one(db, "select to_jsonb(f) from core.conflicts f where id = %s", conflict["conflict_id"])
    assert (row["entity_type"], row["entity_id"], row["hotel_id"]) == ("reservation", rid, hotel.id)
    assert (row["base_version"], row["entity_version"], row["ours_system"], row["theirs_system"]) == (
        1,
        2,
        "pms",
        "pms",
    )
    doc = document(db, rid)
    if case.verdict == "merged":
        assert row["status"] == "resolved" and row["resolver"] == "system"
        for key, value in case.final.items():
            if key == "stay":
                value = f"[{hotel.day(value[0])},{hotel.day(value[1])})"
            assert doc[key] == value, (key, doc[key])
    else:
        # kept out of the master: the booking is what the first change made it, version 2
        assert row["status"] == "open" and row["resolved_at"] is None
        assert doc == after_first and out2["version"] == 2
        assert set(row["before"]) >= set(row["ours"]) and row["ours"]
    escalated = case.rule == "escalated"
    assert row["escalated"] is escalated and conflict["escalated"] is escalated
    events = db.execute(
        "select type from core.events where payload ->> 'conflict_id' = %s order by id",
        (str(conflict["conflict_id"]),),
    ).fetchall()
    assert [t for (t,) in events] == ["reservation.conflict_detected"] + (
        ["reservation.conflict_escalated"] if escalated else []
    )
    if "event_day" in case.setup:
        assert row["escalation_reasons"] == [f"special_event: night {hotel.day(3)} is Snow Festival"]
    if "rank" in case.setup:
        assert row["escalation_reasons"][0].startswith("vip: ")
    if case.setup.get("room_type") == "SUITE":
        assert any(r.startswith("high_value: ") for r in row["escalation_reasons"])


def test_a_stale_change_moving_the_stay_onto_an_event_day_is_escalated(db, hotel, customer, book):
    """The nights asked count as well as the nights booked."""
    rid = book(hotel, customer(), 2, 2)
    call(db, "set_special_event_days", p_hotel_id=hotel.id, p_days=[hotel.day(6)], p_names=["Marathon"])
    modify(db, hotel, rid, Change(0, {"special_requests": "quiet room"}))
    out = modify(db, hotel, rid, Change(1, {"check_out": 7}))
    assert out["conflict"]["escalated"] and out["conflict"]["verdict"] == "needs_review"
    assert out["conflict"]["escalation_reasons"] == [f"special_event: night {hotel.day(6)} is Marathon"]
    # an up-to-date change onto the event day is no conflict at all
    out = call(db, "modify_reservation", p_reservation_id=rid, p_version=2, p_check_out=hotel.day(7))[0]
    assert out["conflict"] is None and out["version"] == 3


def test_a_version_before_the_history_began_is_reviewed(db, hotel, customer, book):
    """A booking older than its history (written before the rules logged reservations): a write
    based on a version without its row cannot be judged and goes to a person."""
    rid = book(hotel, customer(), 2, 2)
    modify(db, hotel, rid, Change(0, {"special_requests": "quiet room"}))
    db.execute("delete from core.reservation_changes where reservation_id = %s and version = 1", (rid,))
    out = modify(db, hotel, rid, Change(1, {"adults": 1}))
    assert (out["conflict"]["verdict"], out["conflict"]["rule"]) == ("needs_review", "history_unavailable")


def test_a_merged_change_is_a_logged_version_naming_its_conflict(db, hotel, customer, book):
    rid = book(hotel, customer(), 2, 2)
    modify(db, hotel, rid, Change(0, {"special_requests": "quiet room"}))
    out = modify(db, hotel, rid, Change(1, {"check_out": 5}))
    cid = out["conflict"]["conflict_id"]
    assert out["version"] == 3 and out["total_amount"] == one(
        db, "select total_amount from core.reservations where id = %s", rid
    )
    logged = db.execute(
        "select version, conflict_id, changes ? 'stay', system from core.reservation_changes"
        " where reservation_id = %s order by version",
        (rid,),
    ).fetchall()
    # (version 1 was booked by the test's superuser)
    assert logged[0][:3] == (1, None, False) and logged[1:] == [
        (2, None, False, "pms"),
        (3, cid, True, "pms"),
    ]
    assert one(db, "select resolved_version from core.conflicts where id = %s", cid) == 3
    # the inventory moved with it: the third night is booked
    assert (
        one(
            db,
            "select booked from core.inventory where hotel_id = %s and room_type_id = %s and night = %s",
            hotel.id,
            hotel.room_types["STD"],
            hotel.day(4),
        )
        == 1
    )


def test_bad_stale_changes_are_refused_and_record_nothing(db, hotel, customer, book):
    from tests.support.errors import raises_code

    rid = book(hotel, customer(), 2, 2)
    modify(db, hotel, rid, Change(0, {"special_requests": "quiet room"}))
    for kw, error in [
        ({"adults": 3}, "OCCUPANCY_EXCEEDED"),
        ({"check_out": 1}, "INVALID_DATES"),
        ({"room_type_id": 999999}, "ROOM_TYPE_NOT_FOUND"),
    ]:
        with raises_code(error):
            modify(db, hotel, rid, Change(1, kw))
    assert one(db, "select count(*) from core.conflicts where entity_id = %s", rid) == 0


def test_resolving_a_stale_reservation_change(db, hotel, customer, book):
    from tests.support.conflicts import resolve
    from tests.support.errors import raises_code

    def clash(start: int) -> tuple[int, int]:
        """Nights start..start+2 moved to end a night later, then (stale) to begin a night earlier."""
        rid = book(hotel, customer(), start, 2)
        modify(db, hotel, rid, Change(0, {"check_out": start + 3}))
        out = modify(db, hotel, rid, Change(1, {"check_in": start - 1, "special_requests": "quiet room"}))
        assert out["conflict"]["verdict"] == "needs_review"
        return rid, out["conflict"]["conflict_id"]

    # manual: the person's stay, on the current version
    rid, cid = clash(2)
    for data in ({"room_id": 1, "resolution_reason": "x"}, {"stay": "soon", "resolution_reason": "x"}):
        with raises_code("INVALID_RESOLUTION"):
            resolve(db, cid, "manual", data)
    stay = f"[{hotel.day(1)},{hotel.day(5)})"
    out = resolve(db, cid, "manual", {"stay": stay, "resolution_reason": "guest confirmed by phone"})
    assert out["conflict"]["status"] == "resolved" and out["entity"]["version"] == 3
    assert document(db, rid)["stay"] == stay
    assert (
        one(
            db,
            "select conflict_id from core.reservation_changes where reservation_id = %s and version = 3",
            rid,
        )
        == cid
    )
    with raises_code("CONFLICT_ALREADY_RESOLVED"):
        resolve(db, cid, "manual", {"resolution_reason": "again"})

    # auto_merge: what did not clash (the requests); priority_based: all of the stale change
    rid, cid = clash(8)
    resolve(db, cid, "auto_merge", {})
    assert (document(db, rid)["special_requests"], document(db, rid)["stay"]) == (
        "quiet room",
        f"[{hotel.day(8)},{hotel.day(11)})",
    )
    rid, cid = clash(14)
    resolve(db, cid, "priority_based", {})
    assert document(db, rid)["stay"] == f"[{hotel.day(13)},{hotel.day(16)})"
    # manual with nothing chosen dismisses it
    rid, cid = clash(20)
    assert (
        resolve(db, cid, "manual", {"resolution_reason": "kept as is"})["conflict"]["status"] == "dismissed"
    )
