"""Concierge requests, facility bookings and feedback (with the summary that joins the loyalty
domain's stay reviews)."""

from __future__ import annotations

import datetime as dt

from psycopg.types.json import Jsonb

from tests.support.errors import raises_code
from tests.support.services import check_out
from tests.support.sql import call, one, scalar

TOKYO = dt.timezone(dt.timedelta(hours=9))


# ------------------------------------------------------------------------------------- concierge


def test_a_concierge_request_is_worked_and_closed(db, hotel, checked_in):
    stay = checked_in(hotel)
    wanted = dt.datetime.combine(hotel.day(1), dt.time(19, 0), tzinfo=TOKYO)
    req = scalar(
        db,
        "create_concierge_request",
        p_reservation_id=stay,
        p_request_type="restaurant_booking",
        p_requested_for=wanted,
        p_details="sushi for two",
    )
    assert req["status"] == "open" and req["room_number"] is not None and req["handled_by"] is None
    worked = scalar(
        db, "update_concierge_request", p_request_id=req["id"], p_status="in_progress", p_handled_by="aiko"
    )
    assert worked["handled_by"] == "aiko"
    done = scalar(
        db,
        "update_concierge_request",
        p_request_id=req["id"],
        p_status="done",
        p_staff_notes="booked 19:00 Sushi Sho",
    )
    assert done["status"] == "done" and done["staff_notes"] == "booked 19:00 Sushi Sho"
    with raises_code("INVALID_ORDER_TRANSITION"):
        call(db, "update_concierge_request", p_request_id=req["id"], p_status="open")


def test_concierge_requests_need_a_live_stay(db, hotel, book, checked_in):
    # confirmed (an airport pickup before arrival) is fine; a departed stay is not
    assert scalar(
        db, "create_concierge_request", p_reservation_id=book(hotel, 3, 2), p_request_type="airport_transfer"
    )
    stay = checked_in(hotel, nights=1)
    check_out(db, stay)
    with raises_code("STAY_NOT_IN_HOUSE"):
        call(db, "create_concierge_request", p_reservation_id=stay, p_request_type="taxi")
    with raises_code("INVALID_ARGUMENT"):
        call(db, "create_concierge_request", p_reservation_id=stay, p_request_type="teleport")


def test_the_service_list_shows_what_can_be_ordered_now(db, hotel, catalog, clock):
    items = catalog(hotel)
    listed = {i["code"]: i for i in scalar(db, "list_service_items", p_hotel_id=hotel.id)}
    assert set(listed) == {"sandwich", "water", "massage", "laundry"}
    assert listed["massage"]["available_now"] is True and listed["massage"]["time_zone"] == "Asia/Tokyo"
    assert listed["water"]["stock"] == 5 and listed["water"]["price_includes_tax"] is True
    clock.at(dt.datetime.combine(hotel.today, dt.time(12, 30), tzinfo=dt.UTC))  # 21:30 in Tokyo
    listed = {i["code"]: i for i in scalar(db, "list_service_items", p_hotel_id=hotel.id)}
    assert listed["massage"]["available_now"] is False and listed["sandwich"]["available_now"] is True
    call(db, "update_service_item", p_hotel_id=hotel.id, p_service_item_id=items["laundry"], p_active=False)
    spa_only = scalar(db, "list_service_items", p_hotel_id=hotel.id, p_category="spa")
    assert [i["code"] for i in spa_only] == ["massage"]
    assert "laundry" not in {i["code"] for i in scalar(db, "list_service_items", p_hotel_id=hotel.id)}


# ------------------------------------------------------------------------------------ facilities


def _spa(db, hotel, capacity=2):
    return scalar(
        db,
        "create_facility",
        p_hotel_id=hotel.id,
        p_code=f"spa{capacity}",
        p_name="Treatment room",
        p_kind="spa_room",
        p_capacity=capacity,
        p_slot_minutes=30,
        p_opens_at="09:00",
        p_closes_at="21:00",
    )


def at(hotel, day: int, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(hotel.day(day), dt.time.fromisoformat(hhmm), tzinfo=TOKYO)


def test_facility_bookings_do_not_overlap(db, hotel, checked_in):
    spa = _spa(db, hotel)
    stay = checked_in(hotel, nights=3)
    first = scalar(
        db,
        "book_facility",
        p_facility_id=spa,
        p_reservation_id=stay,
        p_starts_at=at(hotel, 1, "10:00"),
        p_ends_at=at(hotel, 1, "11:00"),
        p_guests=2,
    )
    with raises_code("FACILITY_UNAVAILABLE"):
        call(
            db,
            "book_facility",
            p_facility_id=spa,
            p_reservation_id=stay,
            p_starts_at=at(hotel, 1, "10:30"),
            p_ends_at=at(hotel, 1, "11:30"),
        )
    # [10:00, 11:00) and [11:00, 12:00) touch, they do not overlap
    assert scalar(
        db,
        "book_facility",
        p_facility_id=spa,
        p_reservation_id=stay,
        p_starts_at=at(hotel, 1, "11:00"),
        p_ends_at=at(hotel, 1, "12:00"),
    )
    assert scalar(db, "cancel_facility_booking", p_booking_id=first) is True
    assert scalar(db, "cancel_facility_booking", p_booking_id=first) is False
    assert scalar(
        db,
        "book_facility",
        p_facility_id=spa,
        p_reservation_id=stay,
        p_starts_at=at(hotel, 1, "10:30"),
        p_ends_at=at(hotel, 1, "11:00"),
    )


def test_facility_rules(db, hotel, book, checked_in):
    spa = _spa(db, hotel)
    stay = checked_in(hotel, nights=2)
    with raises_code("CAPACITY_EXCEEDED"):
        call(
            db,
            "book_facility",
            p_facility_id=spa,
            p_reservation_id=stay,
            p_starts_at=at(hotel, 1, "10:00"),
            p_ends_at=at(hotel, 1, "11:00"),
            p_guests=3,
        )
    with raises_code("FACILITY_UNAVAILABLE"):  # closes at 21:00
        call(
            db,
            "book_facility",
            p_facility_id=spa,
            p_reservation_id=stay,
            p_starts_at=at(hotel, 1, "20:30"),
            p_ends_at=at(hotel, 1, "21:30"),
        )
    with raises_code("INVALID_ARGUMENT"):  # not on a slot boundary
        call(
            db,
            "book_facility",
            p_facility_id=spa,
            p_reservation_id=stay,
            p_starts_at=at(hotel, 1, "10:10"),
            p_ends_at=at(hotel, 1, "11:10"),
        )
    with raises_code("INVALID_ARGUMENT"):  # empty period
        call(
            db,
            "book_facility",
            p_facility_id=spa,
            p_reservation_id=stay,
            p_starts_at=at(hotel, 1, "10:00"),
            p_ends_at=at(hotel, 1, "10:00"),
        )
    with raises_code("INVALID_ARGUMENT"):  # after the stay
        call(
            db,
            "book_facility",
            p_facility_id=spa,
            p_reservation_id=stay,
            p_starts_at=at(hotel, 5, "10:00"),
            p_ends_at=at(hotel, 5, "11:00"),
        )
    with raises_code("STAY_NOT_IN_HOUSE"):
        call(
            db,
            "book_facility",
            p_facility_id=spa,
            p_reservation_id=book(hotel, 1, 2),
            p_starts_at=at(hotel, 1, "10:00"),
            p_ends_at=at(hotel, 1, "11:00"),
        )


def test_the_period_can_never_be_empty_or_unbounded(db, hotel, checked_in):
    spa = _spa(db, hotel)
    stay = checked_in(hotel)
    customer = one(db, "select customer_id from core.reservations where id = %s", stay)
    for period in (
        "empty",
        "[2030-01-01 10:00Z,)",
        "(,2030-01-01 10:00Z)",
        "[2030-01-01 10:00Z,2030-01-01 11:00Z]",
    ):
        try:
            db.execute(
                "insert into core.facility_bookings (hotel_id, facility_id, reservation_id, customer_id, period, guests,"
                " created_at) values (%s, %s, %s, %s, %s::tstzrange, 1, now())",
                (hotel.id, spa, stay, customer, period),
            )
        except Exception as exc:  # noqa: BLE001 — the check constraint must refuse it
            assert exc.sqlstate == "23514", (period, exc)
        else:
            raise AssertionError(f"{period} was stored")
    try:
        db.execute(
            "insert into core.facility_bookings (hotel_id, facility_id, reservation_id, customer_id, period, guests,"
            " created_at) values (%s, %s, %s, %s, null, 1, now())",
            (hotel.id, spa, stay, customer),
        )
    except Exception as exc:  # noqa: BLE001
        assert exc.sqlstate == "23502"
    else:
        raise AssertionError("a null period was stored")


# -------------------------------------------------------------------------------------- feedback


def test_feedback_on_an_order_and_on_a_stay_and_its_update(db, hotel, checked_in, catalog, order, move):
    items = catalog(hotel)
    stay = checked_in(hotel)
    doc = order(stay, {items["sandwich"]: 1})
    with raises_code("FEEDBACK_NOT_ALLOWED"):
        call(db, "submit_feedback", p_reservation_id=stay, p_order_id=doc["id"], p_scores=Jsonb({"food": 4}))
    move(doc["id"], "accepted")
    move(doc["id"], "delivered")
    first = scalar(
        db,
        "submit_feedback",
        p_reservation_id=stay,
        p_order_id=doc["id"],
        p_scores=Jsonb({"food": 4, "timeliness": 2}),
        p_comment="tasty, slow",
    )
    assert first["created"] is True and first["scores"] == {"food": 4, "timeliness": 2}
    again = scalar(
        db, "submit_feedback", p_reservation_id=stay, p_order_id=doc["id"], p_scores=Jsonb({"timeliness": 3})
    )
    assert again["id"] == first["id"] and again["created"] is False
    assert again["scores"] == {"food": 4, "timeliness": 3} and again["comment"] == "tasty, slow"
    stay_fb = scalar(db, "submit_feedback", p_reservation_id=stay, p_scores=Jsonb({"overall": 5, "staff": 5}))
    assert stay_fb["id"] != first["id"]
    types = [
        r[0] for r in db.execute("select type from core.events where aggregate_kind = 'feedback' order by id")
    ]
    assert types == ["feedback.created", "feedback.updated", "feedback.created"]
    for bad in ({}, {"taste": 3}, {"food": 6}, {"food": 0}, {"food": "4"}, {"food": 4.5}):
        with raises_code("INVALID_ARGUMENT"):
            call(db, "submit_feedback", p_reservation_id=stay, p_scores=Jsonb(bad))


def test_feedback_before_check_in_is_refused(db, hotel, book):
    with raises_code("FEEDBACK_NOT_ALLOWED"):
        call(db, "submit_feedback", p_reservation_id=book(hotel, 1, 2), p_scores=Jsonb({"overall": 3}))


def test_the_summary_joins_feedback_and_stay_reviews(db, hotel, checked_in, catalog, order, move, customer):
    items = catalog(hotel)
    stay = checked_in(hotel, nights=1)
    doc = order(stay, {items["sandwich"]: 1})
    move(doc["id"], "accepted")
    move(doc["id"], "delivered")
    call(
        db,
        "submit_feedback",
        p_reservation_id=stay,
        p_order_id=doc["id"],
        p_scores=Jsonb({"overall": 2, "service": 3, "food": 4}),
        p_comment="ok",
    )
    check_out(db, stay)
    call(
        db,
        "submit_review",
        p_reservation_id=stay,
        p_overall_rating=5,
        p_service_rating=5,
        p_location_rating=4,
        p_comment="lovely",
    )
    summary = scalar(db, "feedback_summary", p_customer_id=customer)
    assert (
        summary["feedback_count"] == 1
        and summary["review_count"] == 1
        and summary["order_feedback_count"] == 1
    )
    aspects = {a["aspect"]: a for a in summary["aspects"]}
    assert aspects["overall"]["average"] == 3.5 and aspects["overall"]["count"] == 2
    assert aspects["overall"]["feedback_average"] == 2 and aspects["overall"]["review_average"] == 5
    assert aspects["service"]["average"] == 4
    assert aspects["food"]["review_average"] is None and aspects["location"]["feedback_average"] is None
    assert summary["overall_average"] == 3.5
    assert [c["comment"] for c in summary["recent_comments"]] == ["lovely", "ok"] or {
        c["comment"] for c in summary["recent_comments"]
    } == {"lovely", "ok"}
    with raises_code("CUSTOMER_NOT_FOUND"):
        call(db, "feedback_summary", p_customer_id=987654321)
