"""The service report views against a fixture whose figures are known: revenue per hotel,
category and day (charges of delivered orders less reversals, never cancelled orders), order lead
time percentiles, and the satisfaction trend per hotel and aspect (feedback and stay reviews)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from psycopg.types.json import Jsonb

from tests.support.services import check_out
from tests.support.sql import call

PIN = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(3, 0), tzinfo=dt.UTC)


def test_service_revenue_per_hotel_category_and_day(db, hotel, checked_in, catalog, order, move, clock):
    items = catalog(hotel)  # JPY, tax 10 % included
    stay = checked_in(hotel, nights=3)
    food = order(stay, {items["sandwich"]: 2})  # 4400 gross, 400 tax
    move(food["id"], "accepted")
    move(food["id"], "delivered")
    spa = order(stay, {items["massage"]: 1})  # 12000 gross, 1091 tax
    move(spa["id"], "accepted")
    move(spa["id"], "delivered")
    never = order(stay, {items["laundry"]: 1})
    move(never["id"], "cancelled")  # never charged: not revenue
    # the next day the spa charge is reversed
    clock.days(1)
    move(spa["id"], "cancelled", "complaint")
    rows = db.execute(
        "select day - %s, category, orders_delivered, orders_reversed, net_revenue, tax, gross_revenue, reversed_amount"
        " from report.service_revenue_daily where hotel_id = %s order by day, category",
        (hotel.today, hotel.id),
    ).fetchall()
    assert rows == [
        (0, "room_service", 1, 0, Decimal(4000), Decimal(400), Decimal(4400), Decimal(0)),
        (0, "spa", 1, 0, Decimal(10909), Decimal(1091), Decimal(12000), Decimal(0)),
        (1, "spa", 0, 1, Decimal(-10909), Decimal(-1091), Decimal(-12000), Decimal(12000)),
    ]
    # the report adds up to what the orders left on the folio
    total = db.execute(
        "select sum(gross_revenue) from report.service_revenue_daily where hotel_id = %s", (hotel.id,)
    )
    charged = db.execute(
        "select sum(l.amount) from core.service_order_postings p join core.folio_lines l on l.id = p.folio_line_id"
    )
    assert total.fetchone()[0] == charged.fetchone()[0] == 4400


def test_order_lead_time_percentiles(db, hotel, checked_in, catalog, order, move, clock):
    items = catalog(hotel)
    stay = checked_in(hotel, nights=3)
    waits = [10, 20, 30, 40, 100]  # minutes
    for n, minutes in enumerate(waits):
        start = PIN + dt.timedelta(hours=n)
        clock.at(start)
        doc = order(stay, {items["laundry"]: 1})
        move(doc["id"], "accepted")
        clock.at(start + dt.timedelta(minutes=minutes))
        move(doc["id"], "delivered")
    undelivered = order(stay, {items["laundry"]: 1})
    move(undelivered["id"], "accepted")
    row = db.execute(
        "select orders_delivered, avg_minutes, p50_minutes, p90_minutes, p95_minutes, max_minutes"
        " from report.service_order_lead_times where hotel_id = %s",
        (hotel.id,),
    ).fetchone()
    # continuous percentiles of 10, 20, 30, 40, 100: p50 30, p90 40 + 0.6 * 60 = 76, p95 40 + 0.8 * 60 = 88
    assert row == (5, Decimal("40.0"), Decimal("30.0"), Decimal("76.0"), Decimal("88.0"), Decimal("100.0"))


def test_satisfaction_trend_per_hotel_and_aspect(db, hotel, checked_in, catalog, order, move, clock):
    items = catalog(hotel)
    first = checked_in(hotel, nights=1)
    doc = order(first, {items["sandwich"]: 1})
    move(doc["id"], "accepted")
    move(doc["id"], "delivered")
    call(
        db,
        "submit_feedback",
        p_reservation_id=first,
        p_order_id=doc["id"],
        p_scores=Jsonb({"food": 2, "overall": 3}),
    )
    check_out(db, first)
    call(db, "submit_review", p_reservation_id=first, p_overall_rating=5, p_cleanliness_rating=4)
    # 40 days later the guest rates the stay itself, the food better
    clock.days(40)
    call(db, "submit_feedback", p_reservation_id=first, p_scores=Jsonb({"food": 5, "overall": 4}))
    rows = db.execute(
        "select aspect, month, responses, average_score, feedback_responses, feedback_average, review_responses,"
        " review_average, change_from_previous from report.satisfaction_trend where hotel_id = %s"
        " order by aspect, month",
        (hotel.id,),
    ).fetchall()
    m0 = hotel.today.replace(day=1)
    later = (PIN + dt.timedelta(days=40)).astimezone(dt.timezone(dt.timedelta(hours=9))).date().replace(day=1)
    assert rows == [
        ("cleanliness", m0, 1, Decimal("4.00"), 0, None, 1, Decimal("4.00"), None),
        ("food", m0, 1, Decimal("2.00"), 1, Decimal("2.00"), 0, None, None),
        ("food", later, 1, Decimal("5.00"), 1, Decimal("5.00"), 0, None, Decimal("3.00")),
        ("overall", m0, 2, Decimal("4.00"), 1, Decimal("3.00"), 1, Decimal("5.00"), None),
        ("overall", later, 1, Decimal("4.00"), 1, Decimal("4.00"), 0, None, Decimal("0.00")),
    ]
