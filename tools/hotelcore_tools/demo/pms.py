"""The demo's external hotel: a Cloudbeds property served by the simulated vendor (in process,
over real HTTP), imported, booked through the connector's checkout, synced, and checked: its
mirror answers the searches, hotelcore's own ledger holds nothing of it, and every request the
connector sent was valid against Cloudbeds' OpenAPI file."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg


@dataclass
class ExternalResult:
    hotel_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    note: str = ""


def run(url: str, seed: int, bookings: int = 12) -> ExternalResult:
    from pyapi.checkout.gateway import ResilientGateway, SimulatedGateway
    from pyapi.checkout.pms import ExternalCheckout
    from pyapi.checkout.saga import Order
    from pyapi.errors import ErrorMap
    from pyapi.pms import service
    from pyapi.pms.runtime import PmsRuntime
    from pyapi.pool import Database

    from ..vendor_sim import demo_simulator, start_simulator

    out = ExternalResult()
    rng = random.Random(seed)
    vendor = start_simulator(demo_simulator())
    db = Database(url, min_size=1, max_size=2)
    db.open()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            today = conn.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
            counts = service.import_property(
                conn,
                vendor="cloudbeds",
                property_id="cb-1001",
                base_url=vendor.url,
                api_key="demo-key",
                today=today,
            )
            out.hotel_id = hotel_id = counts["hotel_id"]
            out.counts["external hotel: rooms imported"] = counts["rooms"]
            types = conn.execute(
                "select t.room_type_id from core.pms_room_types t where t.hotel_id = %s order by t.room_type_id",
                [hotel_id],
            ).fetchall()
            with db.connection() as c:
                errors = ErrorMap.load(c)

            class Hc:  # what the checkout needs of the API's services
                pass

            hc = Hc()
            hc.db, hc.errors, hc.gateway = db, errors, ResilientGateway(SimulatedGateway())
            hc.pms = PmsRuntime(db)
            checkout = ExternalCheckout(hc)
            for i in range(bookings):
                room_type = rng.choice(types)[0]
                check_in = today + timedelta(days=rng.randrange(1, 25))
                nights = rng.randrange(1, 4)
                offer = conn.execute(
                    "select total from api.search_availability(%s, %s, %s) where room_type_id = %s",
                    [hotel_id, check_in, check_in + timedelta(days=nights), room_type],
                ).fetchone()
                if offer is None:
                    out.counts["external hotel: sold out"] = out.counts.get("external hotel: sold out", 0) + 1
                    continue
                order = Order(
                    hotel_id,
                    room_type,
                    check_in,
                    check_in + timedelta(days=nights),
                    2,
                    0,
                    1,
                    None,
                    {"given_name": "Demo", "family_name": f"Guest{i}", "email": None, "phone": None},
                    "tok_decline" if i % 6 == 5 else "tok_visa",
                    Decimal(offer[0]),
                    "KRW",
                    request={"demo": True},
                )
                status, _, _ = checkout.run(None, order, request_id=f"demo-ext-{i}")
                key = (
                    "external hotel: checkouts through Cloudbeds"
                    if status == 201
                    else f"external hotel: checkouts refused ({status})"
                )
                out.counts[key] = out.counts.get(key, 0) + 1
            # a booking made at the property's own front desk, picked up by the polling sync
            vendor.sim.book_elsewhere(
                "cb-1001", "81001", today + timedelta(days=2), today + timedelta(days=4)
            )
            state = service.sync_hotel(
                conn, hotel_id, resilient=hc.pms.resilient, trigger="manual", today=today
            )
            out.counts["external hotel: sync runs ok"] = int(bool(state and state["ok"]))
            hc.pms.close()
            # what must hold
            mirror_booked = conn.execute(
                "select count(*) from core.pms_reservations where hotel_id = %s and status = 'confirmed'",
                [hotel_id],
            ).fetchone()[0]
            vendor_booked = sum(
                1 for r in vendor.sim.properties["cb-1001"].reservations.values() if r.status == "confirmed"
            )
            if mirror_booked != vendor_booked:
                out.problems.append(
                    f"mirror has {mirror_booked} confirmed reservations, the vendor {vendor_booked}"
                )
            ledger = conn.execute(
                "select (select count(*) from core.reservations where hotel_id = %s)"
                " + (select count(*) from core.inventory where hotel_id = %s)",
                [hotel_id, hotel_id],
            ).fetchone()[0]
            if ledger:
                out.problems.append(f"{ledger} ledger rows of the external hotel")
            if vendor.sim.violations:
                out.problems.append(f"{len(vendor.sim.violations)} requests invalid against the spec")
            out.note = (
                f"external hotel {hotel_id} (Cloudbeds, simulated vendor): {mirror_booked} reservations mirrored "
                f"= the vendor's {vendor_booked}; {len(vendor.sim.requests)} vendor requests, all valid against its OpenAPI"
            )
    finally:
        db.close()
        vendor.stop()
    return out


def summary(result: ExternalResult) -> dict[str, Any]:
    return {"hotel_id": result.hotel_id, **result.counts, "problems": result.problems}
