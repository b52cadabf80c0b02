"""Helpers of the external-PMS tests: a normalised property document and its import."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
from psycopg.types.json import Jsonb

from pyapi import vault

from .sql import scalar


def today(db: psycopg.Connection) -> dt.date:
    return db.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]


def property_document(start: dt.date, nights: int = 30, *, code: str = "cb-seoul") -> dict:
    """A normalised property as a connector hands it to api.pms_import_property: two room types
    (3 and 2 rooms), one rate plan each, inventory and rates for ``nights`` nights."""
    days = [start + dt.timedelta(days=i) for i in range(nights)]
    return {
        "hotel": {
            "code": code,
            "name": "Cloudbeds Seoul",
            "city": "Seoul",
            "country_code": "KR",
            "time_zone": "Asia/Seoul",
            "currency": "KRW",
            "tax_rate": "0.1",
        },
        "room_types": [
            {
                "external_id": "RT1",
                "code": "std",
                "name": "Standard",
                "max_occupancy": 2,
                "base_price": "100000",
                "rooms": [{"external_id": f"R1{i}", "number": f"10{i}"} for i in range(3)],
            },
            {
                "external_id": "RT2",
                "code": "dlx",
                "name": "Deluxe",
                "max_occupancy": 3,
                "base_price": "180000",
                "rooms": [{"external_id": f"R2{i}", "number": f"20{i}"} for i in range(2)],
            },
        ],
        "rate_plans": [
            {"external_id": "RP1", "room_type_external_id": "RT1", "code": "bar-std", "name": "Best rate"},
            {"external_id": "RP2", "room_type_external_id": "RT2", "code": "bar-dlx", "name": "Best rate"},
        ],
        "inventory": [
            {"room_type_external_id": rt, "night": d.isoformat(), "total": total, "available": total}
            for rt, total in (("RT1", 3), ("RT2", 2))
            for d in days
        ],
        "rates": [
            {"rate_plan_external_id": rp, "night": d.isoformat(), "amount": str(amount)}
            for rp, amount in (("RP1", Decimal("100000")), ("RP2", Decimal("180000")))
            for d in days
        ],
    }


def import_property(
    db: psycopg.Connection, doc: dict, *, property_id: str = "P1", base_url: str = "http://127.0.0.1:1"
) -> int:
    counts = scalar(
        db,
        "pms_import_property",
        p_vendor="cloudbeds",
        p_property_id=property_id,
        p_base_url=base_url,
        p_api_key=vault.seal("key-" + property_id),
        p_webhook_secret=vault.seal("whsec-" + property_id),
        p_webhook_token="tok-" + property_id,
        p_document=Jsonb(doc),
    )
    return counts["hotel_id"]
