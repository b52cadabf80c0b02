"""16 connections booking, releasing and cancelling on a few room types over overlapping dates;
afterwards no night is oversold and every counter equals its recount."""

from __future__ import annotations

import random

import pytest

from pyapi.client import Client, HotelcoreError
from tests.support.reservation import recount_problems

WORKERS = 16
ATTEMPTS_PER_WORKER = 128  # 16 x 128 = 2048 attempts (the 500 each, scaled to keep the run short)


@pytest.mark.slow
def test_sixteen_connections_never_oversell(db, hammer, make_hotel, make_customer):
    hotel = make_hotel(rooms=4, days=20)
    customers = [make_customer() for _ in range(WORKERS)]
    room_types = list(hotel.room_types.values())
    plans = {rt: hotel.plan(code) for code, rt in hotel.room_types.items()}

    def worker(conn, i):
        rng = random.Random(i)
        client = Client.for_connection(conn, attempts=8)
        outcome = {"booked": 0, "refused": 0, "released": 0, "cancelled": 0, "other": []}
        mine = []
        for _ in range(ATTEMPTS_PER_WORKER):
            rt = rng.choice(room_types)
            start = rng.randint(1, 8)
            try:
                if mine and rng.random() < 0.2:
                    rid = mine.pop(rng.randrange(len(mine)))
                    client.call("cancel_reservation", p_reservation_id=rid)
                    outcome["cancelled"] += 1
                    continue
                hold = client.one(
                    "create_hold",
                    p_hotel_id=hotel.id,
                    p_room_type_id=rt,
                    p_rate_plan_id=plans[rt],
                    p_check_in=hotel.day(start),
                    p_check_out=hotel.day(start + rng.randint(1, 3)),
                    p_rooms=rng.randint(1, 2),
                )
                if rng.random() < 0.2:
                    client.call("release_hold", p_hold_id=hold["hold_id"])
                    outcome["released"] += 1
                    continue
                res = client.one("confirm_booking", p_hold_id=hold["hold_id"], p_customer_id=customers[i])
                mine.append(res["reservation_id"])
                outcome["booked"] += 1
            except HotelcoreError as exc:
                if exc.name == "INVENTORY_UNAVAILABLE":
                    outcome["refused"] += 1
                else:
                    outcome["other"].append(exc.name)
        return outcome

    results = hammer.run(WORKERS, worker)
    assert [o for r in results for o in r["other"]] == []
    assert sum(r["booked"] for r in results) > 0 and sum(r["refused"] for r in results) > 0
    oversold = db.execute(
        "select count(*) from core.inventory where hotel_id = %s and blocked + held + booked > capacity",
        (hotel.id,),
    ).fetchone()[0]
    assert oversold == 0
    assert recount_problems(db) == []
    # the recount alone (not the counters) never exceeds capacity either
    assert (
        db.execute(
            "select count(*) from report.inventory_recount where hotel_id = %s "
            "and booked_recount + held_recount > capacity",
            (hotel.id,),
        ).fetchone()[0]
        == 0
    )
