"""report.booking_pace, cancellations_monthly, lead_time_distribution and
length_of_stay_distribution against the fixture (see conftest), by hand."""

from decimal import Decimal

from tests.support.report import d
from tests.support.sql import rows

Q4 = Decimal("0.0001")


def ratio(a: int, b: int) -> Decimal:
    return (Decimal(a) / Decimal(b)).quantize(Q4)


def test_booking_pace_and_pickup(fx):
    got = [
        (
            r["stay_date"],
            r["as_of_date"],
            r["days_before_arrival"],
            r["rooms_picked_up"],
            r["rooms_cancelled"],
            r["net_pickup"],
            r["rooms_on_books"],
        )
        for r in rows(
            fx.db,
            "select * from report.booking_pace where hotel_id = %s order by stay_date, as_of_date",
            (fx.hotel_id,),
        )
    ]
    booked, c_cancelled, d_cancelled = d("2030-03-25"), d("2030-03-26"), d("2030-03-31")
    assert got == [
        (d("2030-03-28"), booked, 3, 1, 0, 1, 1),  # B
        (d("2030-03-29"), booked, 4, 3, 0, 3, 3),  # B, C, E
        (d("2030-03-29"), c_cancelled, 3, 0, 1, -1, 3 - 1),  # C cancelled; E (no-show) stays on the books
        (d("2030-03-30"), booked, 5, 2, 0, 2, 2),  # A, C
        (d("2030-03-30"), c_cancelled, 4, 0, 1, -1, 2 - 1),
        (d("2030-03-31"), booked, 6, 2, 0, 2, 2),  # A, D
        (d("2030-03-31"), d_cancelled, 0, 0, 1, -1, 2 - 1),  # D cancelled on its arrival day
        (d("2030-04-01"), booked, 7, 1, 0, 1, 1),  # A, across the month end
        (d("2030-04-10"), booked, 16, 1, 0, 1, 1),  # F
        (d("2030-04-11"), booked, 17, 1, 0, 1, 1),
    ]


def test_cancellations_and_no_shows(fx):
    got = {
        r["arrival_month"]: r
        for r in rows(fx.db, "select * from report.cancellations_monthly where hotel_id = %s", (fx.hotel_id,))
    }
    march = got[d("2030-03-01")]
    # March arrivals: A, B, C, D, E; cancelled C (free, 3 days ahead) and D (22 000, 0 days ahead); E no-show
    assert (march["currency"], march["reservations"], march["cancellations"], march["no_shows"]) == (
        "JPY",
        5,
        2,
        1,
    )
    assert march["cancellation_rate"] == ratio(2, 5)
    assert march["no_show_rate"] == ratio(1, 5 - 2) == Decimal("0.3333")
    assert march["cancellation_fees"] == 0 + 22000
    assert march["no_show_fees"] == 11000
    assert march["cancellation_refunds"] == (22000 - 0) + (
        22000 - 22000
    )  # C's 2 STD nights refunded, D nothing
    assert march["avg_days_before_arrival"] == Decimal((3 + 0) / 2).quantize(Decimal("0.1"))
    april = got[d("2030-04-01")]
    assert (
        april["reservations"],
        april["cancellations"],
        april["cancellation_rate"],
        april["no_show_rate"],
    ) == (1, 0, 0, 0)


def test_lead_time_distribution(fx):
    got = {
        (r["arrival_month"], r["lead_time"]): (
            r["min_days"],
            r["max_days"],
            r["reservations"],
            r["room_nights"],
            r["share"],
        )
        for r in rows(
            fx.db, "select * from report.lead_time_distribution where hotel_id = %s", (fx.hotel_id,)
        )
    }
    # not cancelled, booked 03-25: A 5 days (3 nights), E 4 days (1 night), B 3 days (2 nights), F 16 days (2 nights)
    assert got == {
        (d("2030-03-01"), "4-7"): (4, 7, 2, 3 + 1, ratio(2, 3)),
        (d("2030-03-01"), "1-3"): (1, 3, 1, 2, ratio(1, 3)),
        (d("2030-04-01"), "15-30"): (15, 30, 1, 2, ratio(1, 1)),
    }


def test_length_of_stay_distribution(fx):
    got = {
        (r["arrival_month"], r["nights"]): (r["reservations"], r["share"])
        for r in rows(
            fx.db, "select * from report.length_of_stay_distribution where hotel_id = %s", (fx.hotel_id,)
        )
    }
    assert got == {
        (d("2030-03-01"), 3): (1, ratio(1, 3)),  # A
        (d("2030-03-01"), 2): (1, ratio(1, 3)),  # B
        (d("2030-03-01"), 1): (1, ratio(1, 3)),  # E (no-show: booked length)
        (d("2030-04-01"), 2): (1, ratio(1, 1)),  # F
    }
