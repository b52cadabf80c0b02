"""Reservation conflicts (seed 000 予約競合): one room, the same nights. The exclusion constraint
keeps it impossible; the refusal names the stay holding the room and suggests free rooms of the
same or a similar type; a claim through POST /conflicts/detect is decided by booking time (the
earlier booking keeps or takes the room, the later one moves), and escalated when a VIP or a
high-value booking is involved."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.conflicts import detect, resolve, update
from tests.support.errors import raises_code, sqlstate
from tests.support.sql import call, one


@pytest.fixture
def two_stays(db, hotel, customer, book):
    """R1 booked first, R2 second, same STD nights; R1 sits in STD-1."""
    r1 = book(hotel, customer())
    r2 = book(hotel, customer())
    call(db, "assign_room", p_reservation_id=r1, p_room_id=hotel.rooms["STD-1"])
    return r1, r2


def room_of(db, reservation_id: int) -> str | None:
    return one(
        db,
        "select r.number from core.room_assignments a join core.rooms r on r.id = a.room_id "
        "join core.reservation_rooms l on l.id = a.reservation_room_id where l.reservation_id = %s and a.active",
        reservation_id,
    )


def test_assigning_a_taken_room_names_the_stay_and_suggests_free_rooms(db, hotel, two_stays):
    r1, r2 = two_stays
    code = one(db, "select confirmation_code from core.reservations where id = %s", r1)
    with pytest.raises(psycopg.Error) as info:
        call(db, "assign_room", p_reservation_id=r2, p_room_id=hotel.rooms["STD-1"])
    err = info.value
    assert err.sqlstate == sqlstate("ROOM_UNAVAILABLE")
    assert f"reservation {code} ({r1})" in err.diag.message_detail
    hint = err.diag.message_hint
    # the same room type first, then a similar one; never the taken room
    assert hint.index("room STD-2 (STD)") < hint.index("room STD2-1 (STD2, another room type)")
    assert "STD-1 " not in hint
    assert room_of(db, r2) is None


def test_a_later_booking_claiming_the_room_gets_suggestions(db, hotel, two_stays):
    r1, r2 = two_stays
    out = detect(db, "reservation", r2, [update("pms", 0, room_number="STD-1")])
    r = out["results"][0]
    assert (r["verdict"], r["rule"], r["conflicting_reservation_id"]) == (
        "merged",
        "earlier_booking_wins",
        r1,
    )
    assert r["fields"]["room_id"]["outcome"] == "kept_theirs"
    numbers = [s["room_number"] for s in r["suggestions"]]
    assert numbers[0] == "STD-2" and "STD2-1" in numbers and "STD-1" not in numbers
    assert [s["same_room_type"] for s in r["suggestions"]][:1] == [True]
    assert room_of(db, r1) == "STD-1" and room_of(db, r2) is None
    assert one(db, "select status from core.conflicts where id = %s", r["conflict_id"]) == "resolved"


def test_an_earlier_booking_claiming_the_room_takes_it_and_the_later_one_moves(db, hotel, customer, book):
    r1 = book(hotel, customer())
    r2 = book(hotel, customer())
    call(db, "assign_room", p_reservation_id=r2, p_room_id=hotel.rooms["STD-1"])
    out = detect(db, "reservation", r1, [update("member", 0, room_id=hotel.rooms["STD-1"])])
    r = out["results"][0]
    assert (r["verdict"], r["rule"]) == ("merged", "earlier_booking_wins")
    assert r["fields"]["room_id"]["moved_reservation_id"] == r2
    assert room_of(db, r1) == "STD-1" and room_of(db, r2) == "STD-2"


@pytest.mark.parametrize("who", ["vip_holder", "vip_claimant", "high_value"])
def test_vip_or_high_value_conflicts_are_escalated_and_nothing_moves(db, hotel, customer, book, who):
    vip = customer()
    db.execute(
        "update core.customers set rank_code = %s where id = %s",
        ("platinum" if who != "vip_claimant" else "gold", vip),
    )
    if who == "high_value":
        # the threshold is configurable per currency: every JPY booking of 20,000 or more is high-value
        db.execute("update core.conflict_escalation_amounts set amount = 20000 where currency = 'JPY'")
        holder, claimant = customer(), customer()
    elif who == "vip_holder":
        holder, claimant = vip, customer()
    else:
        holder, claimant = customer(), vip
    r2 = book(hotel, claimant)
    r1 = book(hotel, holder)
    call(db, "assign_room", p_reservation_id=r1, p_room_id=hotel.rooms["STD-1"])
    out = detect(db, "reservation", r2, [update("pms", 0, room_number="STD-1")])  # r2 booked earlier
    r = out["results"][0]
    assert r["verdict"] == "needs_review" and r["escalated"] is True
    reasons = " ".join(r["escalation_reasons"])
    assert ("high_value" in reasons) if who == "high_value" else ("vip" in reasons)
    assert room_of(db, r1) == "STD-1" and room_of(db, r2) is None  # nothing moved
    conflict = one(db, "select to_jsonb(f) from core.conflicts f where id = %s", r["conflict_id"])
    assert conflict["status"] == "open" and conflict["escalated"] and conflict["hotel_id"] == hotel.id
    assert (
        one(
            db,
            "select count(*) from core.events where type = 'reservation.conflict_escalated' and aggregate_id = %s",
            str(r2),
        )
        == 1
    )


def test_resolving_a_room_conflict(db, hotel, customer, book, two_stays):
    r1, r2 = two_stays
    db.execute("update core.conflict_escalation_amounts set amount = 1 where currency = 'JPY'")
    out = detect(db, "reservation", r2, [update("pms", 0, room_number="STD-1")])
    conflict_id = out["results"][0]["conflict_id"]
    for method, data, error in (
        ("priority_based", {}, "INVALID_RESOLUTION"),
        ("manual", {"adults": 3, "resolution_reason": "x"}, "INVALID_RESOLUTION"),
        ("manual", {"room_number": "STD-1", "resolution_reason": "x"}, "ROOM_UNAVAILABLE"),
        ("manual", {"room_number": "NOPE", "resolution_reason": "x"}, "ROOM_NOT_FOUND"),
        # a room of a similar type needs the booking's room type changed first
        ("manual", {"room_number": "STD2-1", "resolution_reason": "x"}, "ROOM_TYPE_MISMATCH"),
    ):
        with raises_code(error):
            resolve(db, conflict_id, method, data)
    done = resolve(db, conflict_id, "manual", {"room_number": "STD-2", "resolution_reason": "guest accepts"})
    assert (
        done["conflict"]["status"] == "resolved"
        and done["conflict"]["resolved_data"]["room_id"] == hotel.rooms["STD-2"]
    )
    assert room_of(db, r2) == "STD-2" and room_of(db, r1) == "STD-1"
    assert [r["room_number"] for r in done["entity"]["rooms"]] == ["STD-2"]


def test_claims_of_a_reservation_in_house_are_refused(db, hotel, customer, book):
    r = book(hotel, customer(), start=0)
    call(db, "check_in", p_reservation_id=r)
    with raises_code("INVALID_STATE_TRANSITION"):
        detect(db, "reservation", r, [update("pms", 0, room_number="STD-2")])
