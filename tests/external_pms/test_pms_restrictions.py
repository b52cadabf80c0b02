# ruff: noqa: F811
"""The vendor's stay restrictions over real HTTP: minimum and maximum length of stay, closed to
arrival and to departure, set on a rate in the simulated Cloudbeds, published by getRatePlans'
detailed rates, mirrored per rate plan and night, and enforced by the database: the search
leaves the offer out (one hotel and city), the checkout refuses with RESTRICTION_VIOLATED before
anything is held at the vendor."""

from __future__ import annotations

import datetime as dt

import httpx

# the fixture env (the API and the simulated Cloudbeds) is the HTTP tests'
from tests.external_pms.test_pms_http import Env, body, checkout, env, vendor_state  # noqa: F401


def offers(env: Env, offset: int, nights: int) -> dict[str, dict]:
    check_in = env.today + dt.timedelta(days=offset)
    r = httpx.get(
        f"{env.api}/api/v2/pms/rooms/availability",
        headers=env.headers("pms"),
        params={
            "hotel_id": env.hotel_id,
            "check_in": check_in.isoformat(),
            "check_out": (check_in + dt.timedelta(days=nights)).isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    return {row["room_type_name"]: row for row in r.json()["data"]}


def city_offer(env: Env, offset: int, nights: int) -> dict | None:
    check_in = env.today + dt.timedelta(days=offset)
    r = httpx.get(
        f"{env.api}/api/v2/pms/rooms/availability/city",
        headers=env.headers("pms"),
        params={
            "city": "Seoul",
            "check_in": check_in.isoformat(),
            "check_out": (check_in + dt.timedelta(days=nights)).isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    return next((row for row in r.json()["data"] if row["hotel_id"] == env.hotel_id), None)


def ondol_plan(db) -> tuple[int, str]:
    """The Ondol Room's rate plan: its id here and at the vendor."""
    return db.execute(
        "select p.rate_plan_id, p.external_id from core.pms_rate_plans p "
        "join core.rate_plans rp on rp.id = p.rate_plan_id "
        "join core.pms_room_types t on t.room_type_id = rp.room_type_id where t.external_id = 'RT1'"
    ).fetchone()


def stale(db) -> None:
    db.execute("select internal.shift_clock(interval '100 seconds')")  # the next search asks the PMS


def refused(env: Env, offset: int, nights: int, rule: str) -> None:
    r = checkout(env, body(env, offset=offset, nights=nights))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "RESTRICTION_VIOLATED" and rule in str(error), error
    assert vendor_state(env) == (0, [])  # nothing held or booked at the vendor


def test_minimum_stay_is_mirrored_and_enforced(env, db):
    arrival = env.today + dt.timedelta(days=3)
    env.sim.restrict("P1", "RT1", arrival, minLos=3)
    stale(db)
    assert "Ondol Room" not in offers(env, 3, 2)  # refreshed from the PMS: two nights are too few
    assert "Garden Suite" in offers(env, 3, 2)  # another room type's rates are not restricted
    assert "Ondol Room" in offers(env, 3, 3) and "Ondol Room" in offers(env, 4, 1)
    mirrored = db.execute(
        "select min_los, max_los, closed_to_arrival, closed_to_departure from core.pms_rates "
        "where rate_plan_id = %s and night = %s",
        [ondol_plan(db)[0], arrival],
    ).fetchone()
    assert mirrored == (3, None, False, False)
    refused(env, 3, 2, f"night {arrival} requires a minimum stay of 3 nights, got 2")
    r = checkout(env, body(env, offset=3, nights=3))
    assert r.status_code == 201, r.text


def test_maximum_stay_and_closed_to_arrival(env, db):
    env.sim.restrict("P1", "RT1", env.today + dt.timedelta(days=3), maxLos=1)
    env.sim.restrict("P1", "RT1", env.today + dt.timedelta(days=5), closedToArrival=True)
    stale(db)
    assert "Ondol Room" not in offers(env, 3, 2) and "Ondol Room" in offers(env, 3, 1)
    assert "Ondol Room" not in offers(env, 5, 1)
    assert "Ondol Room" in offers(env, 4, 2)  # staying through a night closed to arrival is allowed
    refused(env, 3, 2, "maximum stay of 1 nights")
    refused(env, 5, 1, "closed to arrival")


def test_closed_to_departure_reads_the_departure_date(env, db):
    departure = env.today + dt.timedelta(days=5)
    env.sim.restrict("P1", "RT1", departure, closedToDeparture=True)
    stale(db)
    # the refresh of [3, 5) fetched the departure date too: leaving that day is closed
    assert "Ondol Room" not in offers(env, 3, 2)
    assert "Ondol Room" in offers(env, 3, 3)  # staying through it is allowed
    refused(env, 3, 2, f"{departure} is closed to departure")


def test_the_city_search_leaves_a_restricted_offer_out(env, db):
    # every room type closed to arrival on day 3: the hotel has no offer for an arrival that day
    for rt in ("RT1", "RT2"):
        env.sim.restrict("P1", rt, env.today + dt.timedelta(days=3), closedToArrival=True)
    stale(db)
    assert city_offer(env, 3, 2) is None
    assert city_offer(env, 4, 2) is not None
    # lifted at the vendor: the next refresh mirrors it and the hotel is offered again
    for rt in ("RT1", "RT2"):
        env.sim.restrict("P1", rt, env.today + dt.timedelta(days=3), closedToArrival=False)
    db.execute("select internal.shift_clock(interval '300 seconds')")
    assert city_offer(env, 3, 2) is not None


def test_a_price_change_alone_keeps_the_mirrored_restrictions(env, db):
    arrival = env.today + dt.timedelta(days=3)
    env.sim.restrict("P1", "RT1", arrival, minLos=2)
    stale(db)
    assert "Ondol Room" not in offers(env, 3, 1)
    rate_plan_id, rate_plan = ondol_plan(db)
    db.execute(
        "select api.pms_apply_snapshot(%s, jsonb_build_object('rates', jsonb_build_array(jsonb_build_object("
        "'rate_plan_external_id', %s::text, 'night', %s::date, 'amount', 99000))), 'webhook', internal.now())",
        [env.hotel_id, rate_plan, arrival],
    )
    assert db.execute(
        "select amount, min_los from core.pms_rates where rate_plan_id = %s and night = %s",
        [rate_plan_id, arrival],
    ).fetchone() == (99000, 2)
