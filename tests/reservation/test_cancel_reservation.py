"""api.cancel_reservation and api.mark_no_show: policy as data, fee and refund, inventory freed."""

from __future__ import annotations

import datetime as dt

from tests.support.errors import raises_code
from tests.support.factories import Clock
from tests.support.reservation import recount_problems
from tests.support.sql import call, scalar


def cancel(db, reservation_id, **kw):
    return call(db, "cancel_reservation", p_reservation_id=reservation_id, **kw)[0]


def test_free_cancellation_before_the_deadline(db, hotel, book):
    res = book(hotel, 5, 2)
    out = cancel(db, res["reservation_id"], p_reason="plans changed")
    assert (out["fee_amount"], out["refund_amount"]) == (0, 200000)
    row = db.execute(
        "select kind, reason, days_before_arrival from core.cancellations where id = %s",
        (out["cancellation_id"],),
    ).fetchone()
    assert row == ("cancellation", "plans changed", 5)
    assert (
        db.execute("select status from core.reservations where id = %s", (res["reservation_id"],)).fetchone()[
            0
        ]
        == "cancelled"
    )
    assert (
        db.execute("select sum(booked) from core.inventory where hotel_id = %s", (hotel.id,)).fetchone()[0]
        == 0
    )
    assert recount_problems(db) == []


def test_late_cancellation_costs_the_first_night(db, hotel, book):
    scalar(db, "set_pricing_rule", p_hotel_id=hotel.id, p_kind="weekend", p_multiplier=1.5)
    res = book(hotel, 1, 7)
    total = res["total_amount"]
    first_night = db.execute(
        "select nightly[1] from core.reservation_rooms where reservation_id = %s", (res["reservation_id"],)
    ).fetchone()[0]
    Clock(db).forward(dt.timedelta(days=1))  # arrival is tomorrow -> today
    out = cancel(db, res["reservation_id"])
    assert out["fee_amount"] == first_night and out["refund_amount"] == total - first_night


def test_percent_policy(db, hotel, book):
    policy = scalar(
        db,
        "create_cancellation_policy",
        p_hotel_id=hotel.id,
        p_code="p50",
        p_name="Half",
        p_free_until_days=7,
        p_late_fee_kind="percent",
        p_late_fee_percent=50,
    )
    plan = scalar(
        db,
        "create_rate_plan",
        p_hotel_id=hotel.id,
        p_room_type_id=hotel.room_types["STD"],
        p_code="half",
        p_name="Half",
        p_cancellation_policy_id=policy,
    )
    hotel.rate_plans["STD/half"] = plan
    early = book(hotel, 10, 2, plan="half")
    late = book(hotel, 3, 2, plan="half")
    assert cancel(db, early["reservation_id"])["fee_amount"] == 0
    assert cancel(db, late["reservation_id"])["fee_amount"] == 100000


def test_policy_refusals(db, hotel):
    for kw in ({"p_late_fee_kind": "percent"}, {"p_late_fee_kind": "sometimes"}, {"p_free_until_days": -1}):
        with raises_code("INVALID_ARGUMENT"):
            call(db, "create_cancellation_policy", p_hotel_id=hotel.id, p_code="x", p_name="x", **kw)


def test_non_refundable_keeps_everything(db, hotel, book):
    res = book(hotel, 20, 2, plan="nr")
    out = cancel(db, res["reservation_id"])
    assert out["fee_amount"] == res["total_amount"] and out["refund_amount"] == 0


def test_cancel_refusals(db, hotel, book):
    res = book(hotel)
    with raises_code("VERSION_CONFLICT"):
        cancel(db, res["reservation_id"], p_version=7)
    cancel(db, res["reservation_id"], p_version=1)
    with raises_code("NOT_CANCELLABLE"):
        cancel(db, res["reservation_id"])
    with raises_code("RESERVATION_NOT_FOUND"):
        cancel(db, 999999)
    assert recount_problems(db) == []


def test_no_show_on_the_arrival_day_charges_and_frees(db, hotel, book):
    res = book(hotel, 1, 3)
    with raises_code("NOT_ARRIVAL_DAY"):
        call(db, "mark_no_show", p_reservation_id=res["reservation_id"])
    Clock(db).forward(dt.timedelta(days=1))
    out = call(db, "mark_no_show", p_reservation_id=res["reservation_id"], p_version=1)[0]
    assert out["fee_amount"] == 100000
    assert (
        db.execute("select status from core.reservations where id = %s", (res["reservation_id"],)).fetchone()[
            0
        ]
        == "no_show"
    )
    assert recount_problems(db) == []
    with raises_code("INVALID_STATE_TRANSITION"):
        call(db, "mark_no_show", p_reservation_id=res["reservation_id"])
    with raises_code("NOT_CANCELLABLE"):
        cancel(db, res["reservation_id"])
