"""report.booking_pace counts alike room lines (same hotel, nights, booking and cancellation dates)
together before it expands their nights. On a hotel with many alike lines (multi-room bookings, the
same stay booked twice a day, some cancelled on the day they were booked, some later), it must hold
exactly the rows of the plain definition: every line's every night, booked and cancelled."""

from __future__ import annotations

import datetime as dt

import psycopg

from tests.support.report import at, d
from tests.support.sql import call, scalar

# the plain definition: one row per room line and night, then counted
PLAIN = """
with events as (
    select l.hotel_id, l.stay_night as stay_date, v.as_of_date, v.picked_up, v.cancelled
    from (
        select l.hotel_id, lower(l.stay) + n.k as stay_night, l.status,
               (l.created_at at time zone h.time_zone)::date as booked_on,
               (coalesce(r.cancelled_at, r.updated_at) at time zone h.time_zone)::date as cancelled_on
        from core.reservation_rooms l
        join core.reservations r on r.id = l.reservation_id
        join core.hotels h on h.id = l.hotel_id
        cross join generate_series(0, upper(l.stay) - lower(l.stay) - 1) as n(k)
    ) l
    cross join lateral (
        select l.booked_on, 1, 0
        union all
        select l.cancelled_on, 0, 1 where l.status = 'cancelled'
    ) as v(as_of_date, picked_up, cancelled)
),
daily as (
    select e.hotel_id, e.stay_date, e.as_of_date,
           sum(e.picked_up)::integer as rooms_picked_up, sum(e.cancelled)::integer as rooms_cancelled
    from events e
    group by e.hotel_id, e.stay_date, e.as_of_date
)
select d.hotel_id, d.stay_date, d.as_of_date, d.stay_date - d.as_of_date as days_before_arrival,
       d.rooms_picked_up, d.rooms_cancelled, d.rooms_picked_up - d.rooms_cancelled as net_pickup,
       (sum(d.rooms_picked_up - d.rooms_cancelled)
            over (partition by d.hotel_id, d.stay_date order by d.as_of_date))::integer as rooms_on_books
from daily d
"""


def test_booking_pace_equals_the_plain_definition_with_alike_lines(db: psycopg.Connection) -> None:
    at(db, "2030-03-25 10:00")
    hotel = scalar(
        db, "create_hotel", p_code="PACE", p_name="Pace", p_time_zone="Asia/Tokyo", p_currency="JPY"
    )
    plans = {}
    for code in ("STD", "DLX"):
        rt = scalar(
            db,
            "create_room_type",
            p_hotel_id=hotel,
            p_code=code,
            p_name=code,
            p_max_occupancy=2,
            p_base_price=10000,
        )
        for i in range(20):
            scalar(db, "create_room", p_hotel_id=hotel, p_room_type_id=rt, p_number=f"{code}{i}")
        plans[rt] = scalar(
            db, "create_rate_plan", p_hotel_id=hotel, p_room_type_id=rt, p_code="flex", p_name="Flexible"
        )
    scalar(db, "open_inventory", p_hotel_id=hotel, p_from=d("2030-03-25"), p_until=d("2030-05-05"))
    guest = scalar(
        db, "create_customer", p_given_name="Pace", p_family_name="Guest", p_email="p@example.com"
    )["id"]

    def book(room_type: int, check_in: str, nights: int, rooms: int) -> int:
        start = d(check_in)
        return scalar(
            db,
            "book_reservation",
            p_hotel_id=hotel,
            p_room_type_id=room_type,
            p_rate_plan_id=plans[room_type],
            p_check_in=start,
            p_check_out=start + dt.timedelta(days=nights),
            p_customer_id=guest,
            p_rooms=rooms,
        )["id"]

    std, dlx = list(plans)
    booked: list[int] = []
    # three booking days; on each the same stays are sold again, alone or several rooms at once
    for day, hour in (("2030-03-25", "11:00"), ("2030-03-26", "09:00"), ("2030-03-28", "23:30")):
        at(db, f"{day} {hour}")
        booked += [
            book(std, "2030-04-01", 3, 2),
            book(std, "2030-04-01", 3, 1),
            book(std, "2030-04-02", 1, 3),
            book(dlx, "2030-04-01", 3, 2),
            book(dlx, "2030-04-03", 2, 1),
        ]
    # cancellations: one the day it was booked (03-28), the others later, some on the same day
    at(db, "2030-03-28 23:45")
    call(db, "cancel_reservation", p_reservation_id=booked[10])
    at(db, "2030-03-29 10:00")
    for r in (booked[0], booked[5], booked[6], booked[3]):
        call(db, "cancel_reservation", p_reservation_id=r)
    at(db, "2030-03-30 10:00")
    call(db, "cancel_reservation", p_reservation_id=booked[12])
    call(db, "refresh_reports", p_view="booking_pace")

    got = db.execute("select * from report.booking_pace order by hotel_id, stay_date, as_of_date").fetchall()
    want = db.execute(f"select * from ({PLAIN}) p order by hotel_id, stay_date, as_of_date").fetchall()
    assert got == want
    # not vacuous: alike lines counted together, cancellations on several dates
    assert max(r[4] for r in got) >= 6
    assert {r[2] for r in got if r[5] > 0} == {d("2030-03-28"), d("2030-03-29"), d("2030-03-30")}
