"""report.inventory_recount against a recount made here from the rows (each night of each line or
hold line counted in Python), on a calendar with many overlapping stays, multi-room lines,
cancelled lines, active holds live and expired, a released hold, and nights missing from the
calendar (stays across them still count on the nights that remain)."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import psycopg

from tests.support.report import at, d
from tests.support.sql import call, scalar

ORDER = " order by room_type_id, night"


def nights(room_type: int, stay) -> list[tuple[int, dt.date]]:
    """The (room type, night) of each night of a stay (a daterange: lower included, upper not)."""
    return [(room_type, stay.lower + dt.timedelta(days=k)) for k in range((stay.upper - stay.lower).days)]


def test_inventory_recount_equals_a_recount_of_the_rows(db: psycopg.Connection) -> None:
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

    booked, held, live = Counter(), Counter(), Counter()
    for rt, stay, status in db.execute(
        "select room_type_id, stay, status::text from core.reservation_rooms where hotel_id = %s", (hotel,)
    ):
        if status in ("pending", "confirmed", "checked_in", "checked_out"):
            booked.update(nights(rt, stay))
    for rt, stay, is_live in db.execute(
        """select l.room_type_id, l.stay, h.expires_at > internal.now() from core.holds h
           join core.hold_lines l on l.hold_id = h.id where h.hotel_id = %s and h.status = 'active'""",
        (hotel,),
    ):
        held.update(nights(rt, stay))
        if is_live:
            live.update(nights(rt, stay))
    got = db.execute(
        "select room_type_id, night, held_recount, live_held, booked_recount from report.inventory_recount"
        " where hotel_id = %s" + ORDER,
        (hotel,),
    ).fetchall()
    calendar = db.execute(
        "select room_type_id, night from core.inventory where hotel_id = %s order by 1, 2", (hotel,)
    ).fetchall()
    assert [(rt, n) for rt, n, *_ in got] == calendar
    assert got == [(rt, n, held[rt, n], live[rt, n], booked[rt, n]) for rt, n in calendar]
    got = db.execute(
        "select * from report.inventory_recount where hotel_id = %s" + ORDER, (hotel,)
    ).fetchall()
    # not vacuous: overlapping stays and multi-room lines, live and expired holds
    assert max(r[10] for r in got) >= 4
    assert any(r[7] > r[8] for r in got) and any(r[8] > 0 for r in got)
    assert not any(r[13] for r in got)  # and the counters agree with the recount
