"""The city (chain) search over real HTTP with three Cloudbeds hotels of one city on the simulated
vendor: stale mirror ranges are refreshed from each PMS concurrently before the search answers;
a vendor slower than the time budget, failing, or behind an open breaker leaves its hotel
answered from the mirror with its age, and a refresh still running lands for the next search."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import httpx
import psycopg
import pytest

from hotelcore_tools.vendor_sim import Simulator, start_simulator
from pyapi.http import start_server
from pyapi.pms import service
from pyapi.pms.connector import Resilience, Resilient

FAST = Resilience(sleep=lambda s: None, fail_max=5, reset_timeout=60.0, success_threshold=2)
PROPERTIES = ("P1", "P2", "P3")
BUDGET = 10.0  # seconds a search waits for the vendors: ample for a healthy one on a loaded machine
SHORT = 1.0  # the budget of the test with a slow vendor
SLOW = 4.0  # seconds the slow vendor takes per request: beyond that budget, within the connector's timeout


@pytest.fixture
def city(request, db: psycopg.Connection, fresh_db: str):
    sim = Simulator()
    for prop in PROPERTIES:
        sim.add_property(
            prop,
            f"key-{prop}",
            name=f"Hanok {prop}",
            room_types=[("RT1", "Ondol Room", 2, 3, Decimal("120000"))],
        )
    vendor = start_simulator(sim)
    api = start_server(fresh_db, pms_resilience=FAST, pms_city_budget=getattr(request, "param", BUDGET))
    today = db.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
    hotels = {}
    for prop in PROPERTIES:
        counts = service.import_property(
            db,
            vendor="cloudbeds",
            property_id=prop,
            base_url=vendor.url,
            api_key=f"key-{prop}",
            resilient=Resilient(),  # real waits: a 429 waits its Retry-After
            today=today,
        )
        hotels[prop] = counts["hotel_id"]
    key = db.execute(
        "select token from api.issue_api_key('pms', %s, 't')", [list(hotels.values())]
    ).fetchone()[0]
    yield sim, api, hotels, key, today
    api.stop()
    vendor.stop()
    assert sim.violations == []


def search(api, key: str, today: dt.date, **params) -> httpx.Response:
    query = {
        "city": "seoul",
        "check_in": (today + dt.timedelta(days=3)).isoformat(),
        "check_out": (today + dt.timedelta(days=5)).isoformat(),
        **params,
    }
    r = httpx.get(
        f"{api.url}/api/v2/pms/rooms/availability/city",
        headers={"X-API-Key": key},
        params={k: v for k, v in query.items() if v is not None},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r


def rows(r: httpx.Response) -> dict[int, dict]:
    return {row["hotel_id"]: row for row in r.json()["data"]}


def asked(sim: Simulator, prop: str) -> int:
    """Requests the simulated vendor received for the property."""
    return sum(1 for r in list(sim.requests) if r[0] == prop)


def ids(header: str | None) -> set[int]:
    return {int(x) for x in (header or "").split(",") if x}


def test_a_fresh_mirror_answers_without_asking_any_pms(city, db):
    sim, api, hotels, key, today = city
    r = search(api, key, today)
    assert set(rows(r)) == set(hotels.values())
    assert "X-PMS-Refreshed" not in r.headers and "X-PMS-Degraded" not in r.headers
    assert db.execute("select sum(hits), sum(misses) from report.pms_cache_hit_rate").fetchone() == (3, 0)


def test_stale_ranges_are_refreshed_from_each_pms_before_the_answer(city, db):
    sim, api, hotels, key, today = city
    start = today + dt.timedelta(days=3)
    # another channel sells two Ondol rooms at P1 and every room at P2; the mirror does not know
    sim.book_elsewhere("P1", "RT1", start, start + dt.timedelta(days=2))
    sim.book_elsewhere("P1", "RT1", start, start + dt.timedelta(days=2))
    for _ in range(3):
        sim.book_elsewhere("P2", "RT1", start, start + dt.timedelta(days=2))
    db.execute("select internal.shift_clock(interval '100 seconds')")  # every mirror row is stale
    r = search(api, key, today)
    assert ids(r.headers["X-PMS-Refreshed"]) == set(hotels.values())
    assert "X-PMS-Degraded" not in r.headers
    found = rows(r)
    assert found[hotels["P1"]]["available_rooms"] == 1
    assert hotels["P2"] not in found  # sold out at the vendor: not offered
    assert found[hotels["P3"]]["available_rooms"] == 3
    now = db.execute("select internal.now()").fetchone()[0]
    for hotel in (hotels["P1"], hotels["P3"]):
        assert (now - dt.datetime.fromisoformat(found[hotel]["as_of"])).total_seconds() < 60
    # the refreshed ranges are fresh now: the next search asks no PMS
    r = search(api, key, today)
    assert "X-PMS-Refreshed" not in r.headers
    # a list of hotels (a chain's) is searched the same way, only those hotels
    db.execute("select internal.shift_clock(interval '200 seconds')")  # now() + 200 s: stale again
    r = search(api, key, today, city=None, hotel_id=[hotels["P3"]])
    assert ids(r.headers["X-PMS-Refreshed"]) == {hotels["P3"]} and set(rows(r)) == {hotels["P3"]}


@pytest.mark.parametrize("city", [SHORT], indirect=True)
def test_a_slow_a_failing_and_an_open_breaker_answer_from_the_mirror_with_their_age(city, db):
    sim, api, hotels, key, today = city
    start = today + dt.timedelta(days=3)
    imported_as_of = {h: row["as_of"] for h, row in rows(search(api, key, today)).items()}
    sim.faults("P1").latency = SLOW
    sim.faults("P2").outage = True  # every call answers 503
    sim.book_elsewhere("P1", "RT1", start, start + dt.timedelta(days=2))
    db.execute("select internal.shift_clock(interval '100 seconds')")
    r = search(api, key, today)
    degraded, refreshed = ids(r.headers["X-PMS-Degraded"]), ids(r.headers.get("X-PMS-Refreshed"))
    assert {hotels["P1"], hotels["P2"]} <= degraded and not {hotels["P1"], hotels["P2"]} & refreshed
    assert hotels["P3"] in degraded | refreshed  # refreshed unless this machine is slower than the budget
    found = rows(r)
    # the mirror answers for the slow and the failing vendor, with the age of what it holds (so
    # the answer did not wait for the slow vendor: its refresh would have landed first)
    assert found[hotels["P1"]]["as_of"] == imported_as_of[hotels["P1"]]
    assert found[hotels["P1"]]["available_rooms"] == 3
    assert found[hotels["P2"]]["as_of"] == imported_as_of[hotels["P2"]]
    if hotels["P3"] in refreshed:
        assert found[hotels["P3"]]["as_of"] != imported_as_of[hotels["P3"]]
    # the slow refresh goes on and lands in the mirror: a later search reads it without asking
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        fresh = db.execute(
            "select fresh from api.pms_lookup(%s, %s, %s)",
            [hotels["P1"], start, start + dt.timedelta(days=2)],
        ).fetchone()[0]
        if fresh:
            break
        time.sleep(0.2)
    assert fresh
    sim.faults("P1").latency = 0.0
    r = search(api, key, today)
    assert rows(r)[hotels["P1"]]["available_rooms"] == 2
    # P2 keeps failing: its breaker opens (5 failures), after which the search does not ask it
    for _ in range(4):
        search(api, key, today)
    before = asked(sim, "P2")
    r = search(api, key, today)
    assert hotels["P2"] in ids(r.headers["X-PMS-Degraded"])
    assert asked(sim, "P2") == before  # the open breaker kept the call off the vendor
    assert rows(r)[hotels["P2"]]["as_of"] == imported_as_of[hotels["P2"]]


def test_a_login_of_another_hotel_refreshes_and_sees_none_of_them(city, db):
    sim, api, hotels, key, today = city
    other = db.execute("select api.create_hotel('OTHER', 'Other', 'Asia/Seoul', 'KRW', 'Seoul')").fetchone()[
        0
    ]
    other_key = db.execute("select token from api.issue_api_key('pms', %s, 't')", [[other]]).fetchone()[0]
    db.execute("select internal.shift_clock(interval '100 seconds')")
    before = {p: asked(sim, p) for p in PROPERTIES}
    r = search(api, other_key, today)
    assert "X-PMS-Refreshed" not in r.headers
    assert not set(rows(r)) & set(hotels.values())
    assert {p: asked(sim, p) for p in PROPERTIES} == before
