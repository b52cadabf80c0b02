"""A checkout process killed between two steps (os._exit: no compensation, no cleanup runs), then
recovery from another process's view: a hold left at the vendor is released and the checkout
failed; a booking confirmed at the vendor is captured. The vendor is the simulated Cloudbeds
over real HTTP, the database a real one."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from decimal import Decimal

import psycopg
import pytest

from hotelcore_tools.vendor_sim import Simulator, start_simulator
from pyapi.checkout.gateway import ResilientGateway, SimulatedGateway
from pyapi.checkout.pms import ExternalCheckout
from pyapi.errors import ErrorMap
from pyapi.pms import service
from pyapi.pms.connector import Resilient
from pyapi.pms.runtime import PmsRuntime
from pyapi.pool import Database

CHILD = textwrap.dedent(
    """
    import datetime as dt, os, sys
    from decimal import Decimal
    from pyapi.errors import ErrorMap
    from pyapi.checkout.gateway import ResilientGateway, SimulatedGateway
    from pyapi.checkout.pms import ExternalCheckout
    from pyapi.pool import Database
    from pyapi.checkout.saga import Order
    from pyapi.pms.runtime import PmsRuntime

    url, hotel, room_type, check_in, dies_before = sys.argv[1:6]
    db = Database(url, min_size=1, max_size=2)
    db.open()
    with db.connection() as conn:
        errors = ErrorMap.load(conn)

    class Hc:
        pass

    hc = Hc()
    hc.db, hc.errors, hc.gateway, hc.pms = db, errors, ResilientGateway(SimulatedGateway()), PmsRuntime(db)
    co = ExternalCheckout(hc)
    co.hooks[dies_before] = lambda: os._exit(3)  # the process dies here
    day = dt.date.fromisoformat(check_in)
    order = Order(int(hotel), int(room_type), day, day + dt.timedelta(days=1), 2, 0, 1, None,
                  {"given_name": "Gil", "family_name": "Hong", "email": None, "phone": None}, "tok_visa",
                  Decimal(120000), "KRW", request={})
    co.run(None, order, request_id="killed")
    os._exit(0)
    """
)


@pytest.fixture
def setup(db: psycopg.Connection, fresh_db: str):
    sim = Simulator()
    sim.add_property("P1", "key-1", room_types=[("RT1", "Ondol Room", 2, 3, Decimal("120000"))])
    vendor = start_simulator(sim)
    today = db.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
    hotel = service.import_property(
        db,
        vendor="cloudbeds",
        property_id="P1",
        base_url=vendor.url,
        api_key="key-1",
        resilient=Resilient(),
        today=today,
    )["hotel_id"]
    room_type = db.execute("select room_type_id from core.pms_room_types").fetchone()[0]
    yield fresh_db, vendor, hotel, room_type, today
    vendor.stop()
    assert sim.violations == []


@pytest.mark.parametrize(
    ("dies_before", "outcome"),
    [
        ("confirm", "HOLD_EXPIRED"),
        ("capture", "captured"),
    ],
)
def test_a_killed_checkout_is_recovered(db, setup, dies_before, outcome):
    url, vendor, hotel, room_type, today = setup
    check_in = today + dt.timedelta(days=4)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(hotel), str(room_type), check_in.isoformat(), dies_before],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 3, child.stderr  # killed mid-way
    prop = vendor.sim.properties["P1"]
    left_behind = (len(prop.blocks), [r.status for r in prop.reservations.values()])
    assert left_behind == ((1, []) if dies_before == "confirm" else (0, ["confirmed"]))

    # recovery, in this process (another one than the dead runner), once the checkout is stale
    db_pool = Database(url, min_size=1, max_size=2)
    db_pool.open()
    try:
        with db_pool.connection() as conn:
            errors = ErrorMap.load(conn)

        class Hc:
            pass

        hc = Hc()
        gateway = SimulatedGateway()
        hc.db, hc.errors, hc.gateway, hc.pms = db_pool, errors, ResilientGateway(gateway), PmsRuntime(db_pool)
        db.execute("select internal.shift_clock(interval '200 seconds')")
        assert [o for _, o in ExternalCheckout(hc).recover()] == [outcome]
        hc.pms.close()
    finally:
        db_pool.close()
    assert len(prop.blocks) == 0  # no room left held at the vendor
    status, step, error = db.execute("select status, step, error_code from core.pms_checkouts").fetchone()
    if outcome == "captured":
        assert (status, step, error) == ("succeeded", "captured", None) and len(gateway.captured()) == 1
    else:
        assert (status, error) == ("failed", "HOLD_EXPIRED") and [
            r.status for r in prop.reservations.values()
        ] == []
