"""report.inventory_recount against the plain recount (one row per line and night by a function
scan, then counted), on a calendar with many overlapping stays, multi-room lines, cancelled lines,
active holds live and expired, released holds, and nights missing from the calendar (stays across
them still count on the nights that remain)."""

from __future__ import annotations

import datetime as dt
import random

import psycopg
from conftest import at, call, d, scalar

PLAIN = """
with held as (
    select l.hotel_id, l.room_type_id, lower(l.stay) + n.k as night,
           count(*)::integer as held,
           (count(*) filter (where h.expires_at > internal.now()))::integer as live_held
    from core.holds h
    inner join core.hold_lines l on h.id = l.hold_id
    cross join generate_series(0, upper(l.stay) - lower(l.stay) - 1) as n(k)
    where h.status = 'active'
    group by 1, 2, 3
),
booked as (
    select l.hotel_id, l.room_type_id, lower(l.stay) + n.k as night, count(*)::integer as booked
    from core.reservation_rooms l
    cross join generate_series(0, upper(l.stay) - lower(l.stay) - 1) as n(k)
    where l.status in ('pending', 'confirmed', 'checked_in', 'checked_out')
    group by 1, 2, 3
)
select i.hotel_id, i.room_type_id, i.night, i.capacity, i.overbooking_allowance, i.blocked,
       i.held, coalesce(h.held, 0) as held_recount, coalesce(h.live_held, 0) as live_held,
       i.booked, coalesce(b.booked, 0) as booked_recount,
       i.capacity + i.overbooking_allowance - i.blocked - i.booked - coalesce(h.live_held, 0) as sellable,
       i.blocked + i.held + i.booked > i.capacity + i.overbooking_allowance as oversold,
       i.held <> coalesce(h.held, 0) or i.booked <> coalesce(b.booked, 0) as drifted
from core.inventory i
left join held h on i.hotel_id = h.hotel_id and i.room_type_id = h.room_type_id and i.night = h.night
left join booked b on i.hotel_id = b.hotel_id and i.room_type_id = b.room_type_id and i.night = b.night
"""

ORDER = " order by hotel_id, room_type_id, night"


def test_inventory_recount_equals_the_plain_recount(db: psycopg.Connection) -> None:
    rng = random.Random(6)
    at(db, "2030-03-25 10:00")
    hotel = scalar(
        db, "create_hotel", p_code="RC", p_name="Recount", p_time_zone="Asia/Tokyo", p_currency="JPY"
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
            p_base_price=9000,
        )
        for i in range(25):
            scalar(db, "create_room", p_hotel_id=hotel, p_room_type_id=rt, p_number=f"{code}{i}")
        plans[rt] = scalar(
            db, "create_rate_plan", p_hotel_id=hotel, p_room_type_id=rt, p_code="flex", p_name="Flexible"
        )
    first = d("2030-03-25")
    scalar(db, "open_inventory", p_hotel_id=hotel, p_from=first, p_until=first + dt.timedelta(days=30))
    guest = scalar(db, "create_customer", p_given_name="Re", p_family_name="Count", p_email="rc@example.com")[
        "id"
    ]

    def stay() -> tuple[dt.date, dt.date]:
        start = first + dt.timedelta(days=rng.randrange(0, 24))
        return start, start + dt.timedelta(days=rng.randrange(1, 6))

    reservations = []
    for _ in range(40):
        rt = rng.choice(list(plans))
        check_in, check_out = stay()
        try:
            reservations.append(
                scalar(
                    db,
                    "book_reservation",
                    p_hotel_id=hotel,
                    p_room_type_id=rt,
                    p_rate_plan_id=plans[rt],
                    p_check_in=check_in,
                    p_check_out=check_out,
                    p_customer_id=guest,
                    p_rooms=rng.randrange(1, 4),
                )["id"]
            )
        except psycopg.Error as exc:  # a full night: the ledger refused, nothing to count
            assert exc.sqlstate.startswith("HC"), exc
    for r in rng.sample(reservations, 8):
        call(db, "cancel_reservation", p_reservation_id=r)

    def hold(ttl: int) -> int:
        rt = rng.choice(list(plans))
        check_in, check_out = stay()
        return call(
            db,
            "create_hold",
            p_hotel_id=hotel,
            p_room_type_id=rt,
            p_rate_plan_id=plans[rt],
            p_check_in=check_in,
            p_check_out=check_out,
            p_rooms=rng.randrange(1, 3),
            p_ttl_seconds=ttl,
        )[0]["hold_id"]

    short = [hold(60) for _ in range(6)]
    [hold(3600) for _ in range(6)]
    call(db, "release_hold", p_hold_id=short[0])
    at(db, "2030-03-25 10:30")  # the short holds expire, still active (no sweep ran)

    # nights missing from the calendar: stays across them still count on the remaining nights
    db.execute(
        "delete from core.inventory where hotel_id = %s and night in (%s, %s)",
        (hotel, first + dt.timedelta(days=5), first + dt.timedelta(days=12)),
    )

    got = db.execute("select * from report.inventory_recount" + ORDER).fetchall()
    want = db.execute(f"select * from ({PLAIN}) p" + ORDER).fetchall()
    assert got == want
    # not vacuous: overlapping stays and multi-room lines, live and expired holds
    assert max(r[10] for r in got) >= 4
    assert any(r[7] > r[8] for r in got) and any(r[8] > 0 for r in got)
    assert not any(r[13] for r in got)  # and the counters agree with the recount
