"""Reviews (seed 003): only after check-out, once per reservation, ratings 1 to 5, averages as views."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.errors import raises_code


def review(db: psycopg.Connection, rid: int, overall=5, **kw) -> int:
    args = {"p_reservation_id": rid, "p_overall_rating": overall} | {f"p_{k}": v for k, v in kw.items()}
    names = ", ".join(f"{k} => %({k})s" for k in args)
    return db.execute(f"select api.submit_review({names})", args).fetchone()[0]


def test_a_checked_out_stay_is_reviewed_and_averaged(db: psycopg.Connection, customer, checked_out, hotel):
    cid = customer()
    review(
        db,
        checked_out(cid),
        5,
        cleanliness_rating=4,
        service_rating=5,
        location_rating=3,
        facilities_rating=4,
        value_rating=5,
        title="素晴らしい",
        comment="また来ます",
    )
    review(db, checked_out(cid), 4, cleanliness_rating=2)
    by_hotel = db.execute(
        "select review_count, avg_overall, avg_cleanliness, avg_location from report.review_averages_by_hotel "
        "where hotel_id = %s",
        (hotel["id"],),
    ).fetchone()
    assert by_hotel == (2, 4.5, 3.0, 3.0)
    by_type = db.execute(
        "select review_count, avg_overall from report.review_averages_by_room_type where room_type_id = %s",
        (hotel["room_type_id"],),
    ).fetchone()
    assert by_type == (2, 4.5)


def test_before_check_out_a_review_is_not_allowed(db: psycopg.Connection, customer, stay):
    with raises_code("REVIEW_NOT_ALLOWED"):
        review(db, stay(customer()))


def test_a_stay_is_reviewed_once(db: psycopg.Connection, customer, checked_out):
    rid = checked_out(customer())
    review(db, rid)
    with raises_code("REVIEW_NOT_ALLOWED"):
        review(db, rid, 1)


@pytest.mark.parametrize(
    "kw",
    [
        {"overall": 0},
        {"overall": 6},
        {"overall": None},
        {"value_rating": 9},
        {"cleanliness_rating": 0},
        {"title": "x" * 201},
    ],
)
def test_ratings_are_one_to_five(db: psycopg.Connection, customer, checked_out, kw):
    with raises_code("INVALID_ARGUMENT"):
        review(db, checked_out(customer()), **kw)


def test_an_unknown_reservation_is_not_found(db: psycopg.Connection):
    with raises_code("RESERVATION_NOT_FOUND"):
        review(db, 999999)


def test_the_reviewed_room_type_must_have_been_booked(db: psycopg.Connection, customer, checked_out):
    rid = checked_out(customer())
    with raises_code("INVALID_ARGUMENT"):
        review(db, rid, room_type_id=999999)


def test_the_constraint_keeps_ratings_in_range_whatever_writes_them(
    db: psycopg.Connection, customer, checked_out
):
    review(db, checked_out(customer()))
    with pytest.raises(psycopg.Error) as excinfo:
        db.execute("update core.reviews set service_rating = 6")
    assert excinfo.value.sqlstate == "23514"
