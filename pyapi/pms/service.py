"""What hotelcore does with a connector: import a property (seed 001's admin flow), refresh the
mirror of a range, and the polling sync of one hotel. Every rule about what the mirror holds is
in the database (``api.pms_*``); this module moves the vendor's answers there.

The connector runs under the process's own login (the sync worker, the CLI): the ``api.pms_*``
writes are admin-only, because they hold the vendor's credentials and write what the vendor said.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .. import vault
from ..client import bind
from .connector import Bound, Resilient, get_connector

WEBHOOK_EVENTS = (
    ("reservation", "created"),
    ("reservation", "status_changed"),
    ("reservation", "dates_changed"),
)


def connector_for(
    conn: psycopg.Connection, hotel_id: int, resilient: Resilient
) -> tuple[Bound, dict[str, Any]]:
    info = conn.execute(*bind("pms_connection", p_hotel_id=hotel_id)).fetchone()[0]
    connector = get_connector(
        info["vendor"],
        property_id=info["property_id"],
        base_url=info["base_url"],
        api_key=vault.open_sealed(info["api_key_sealed"]),  # opened here only, never stored in clear
    )
    return Bound(connector, resilient), info


def _totals(rooms: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(r["room_type_external_id"] for r in rooms))


def import_property(
    conn: psycopg.Connection,
    *,
    vendor: str,
    property_id: str,
    base_url: str,
    api_key: str,
    webhook_base: str | None = None,
    days: int = 30,
    resilient: Resilient | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Reads the property from the vendor, creates the external hotel in one transaction, then
    registers the webhooks (``webhook_base``: this API's public URL) and schedules its sync."""
    resilient = resilient or Resilient()
    bound = Bound(
        get_connector(vendor, property_id=property_id, base_url=base_url, api_key=api_key), resilient
    )
    start = today or dt.date.today()
    end = start + dt.timedelta(days=days)
    hotel = bound.call("property")
    room_types = bound.call("room_types")
    rooms = bound.call("rooms")
    plans = bound.call("rate_plans", start, end)
    mirror = bound.call("availability", start, end, _totals(rooms))
    for rt in room_types:
        rt["rooms"] = [
            {"external_id": r["external_id"], "number": r["number"]}
            for r in rooms
            if r["room_type_external_id"] == rt["external_id"]
        ]
        prices = [p["base_price"] for p in plans if p["room_type_external_id"] == rt["external_id"]]
        rt["base_price"] = min(prices, key=float) if prices else "0"  # the seed's average price
    document = {"hotel": hotel, "room_types": room_types, "rate_plans": plans, **mirror}
    webhook_secret = secrets.token_urlsafe(32)
    webhook_token = secrets.token_urlsafe(32)
    with conn.transaction():
        counts = conn.execute(
            *bind(
                "pms_import_property",
                p_vendor=vendor,
                p_property_id=property_id,
                p_base_url=base_url,
                p_api_key=vault.seal(api_key),
                p_webhook_secret=vault.seal(webhook_secret),
                p_webhook_token=webhook_token,
                p_document=Jsonb(document),
            )
        ).fetchone()[0]
    subscriptions = []
    if webhook_base:
        url = f"{webhook_base.rstrip('/')}/api/webhooks/pms/{vendor}?token={webhook_token}"
        for obj, action in WEBHOOK_EVENTS:
            subscriptions.append(bound.call("register_webhook", obj, action, url))
    counts["webhooks"] = len(subscriptions)
    counts["webhook_secret"] = webhook_secret
    return counts


def fetch_range(bound: Bound, info: dict[str, Any], start: dt.date, end: dt.date) -> dict[str, Any]:
    """Inventory and rates of [start, end) as the vendor says them now, and the departure date's
    (its closed-to-departure restriction); no database connection is held while the vendor
    answers."""
    return bound.call("availability", start, end + dt.timedelta(days=1), _totals(info["rooms"]))


def apply_range(
    conn: psycopg.Connection, hotel_id: int, mirror: dict[str, Any], asked: dt.datetime, source: str
) -> None:
    conn.execute(
        *bind(
            "pms_apply_snapshot",
            p_hotel_id=hotel_id,
            p_document=Jsonb(mirror),
            p_source=source,
            p_as_of=asked,
        )
    )


def refresh(
    conn: psycopg.Connection,
    hotel_id: int,
    start: dt.date,
    end: dt.date,
    *,
    resilient: Resilient,
    source: str = "fetch",
) -> dt.datetime:
    """Reads inventory and rates of [start, end) from the vendor into the mirror (seed 001: cache
    miss -> PMS); returns the instant the answer is as of."""
    bound, info = connector_for(conn, hotel_id, resilient)
    # the answer is as of the request (a change after it wins), on the database's clock, which
    # the freshness checks read
    asked = conn.execute("select internal.now()").fetchone()[0]
    apply_range(conn, hotel_id, fetch_range(bound, info, start, end), asked, source)
    return asked


def refresh_room_list(
    conn: psycopg.Connection, hotel_id: int, bound: Bound, start: dt.date
) -> dict[str, Any]:
    """Reads room types, rooms and rate plans again and applies what changed."""
    document = {
        "room_types": bound.call("room_types"),
        "rooms": bound.call("rooms"),
        "rate_plans": bound.call("rate_plans", start, start + dt.timedelta(days=1)),
    }
    return conn.execute(
        *bind("pms_apply_room_list", p_hotel_id=hotel_id, p_document=Jsonb(document), p_source="poll")
    ).fetchone()[0]


def sync_hotel(
    conn: psycopg.Connection,
    hotel_id: int,
    *,
    resilient: Resilient,
    trigger: str = "poll",
    today: dt.date | None = None,
) -> dict[str, Any] | None:
    """One polling run: the mirror's next ``poll_horizon_days`` (30) refreshed, and the
    reservations modified since the last run applied (getReservations, every page). Records the
    run; after 5 consecutive failures the database stops the hotel's polling. None when the sync
    runs elsewhere or is stopped."""
    if not conn.execute(*bind("pms_claim_sync", p_hotel_id=hotel_id)).fetchone()[0]:
        return None
    started = conn.execute("select internal.now()").fetchone()[0]
    last = conn.execute(*bind("pms_sync_status", columns=("last_sync_at",), p_hotel_id=hotel_id)).fetchone()[
        0
    ]
    try:
        bound, info = connector_for(conn, hotel_id, resilient)
        start = today or dt.date.today()
        if info["room_list_stale"]:  # seed 001: hotel:{id}:rooms lives 3,600 s
            refresh_room_list(conn, hotel_id, bound, start)
            bound, info = connector_for(conn, hotel_id, resilient)
        refresh(
            conn,
            hotel_id,
            start,
            start + dt.timedelta(days=info["poll_horizon_days"]),
            resilient=resilient,
            source="poll",
        )
        since = (last or started - dt.timedelta(days=1)) - dt.timedelta(minutes=5)  # overlap: clocks differ
        changes = 0
        for res in bound.call("changes_since", since, dt.datetime.now(dt.UTC)):
            outcome = conn.execute(
                *bind(
                    "pms_apply_reservation",
                    p_hotel_id=hotel_id,
                    p_document=Jsonb(res.document()),
                    p_source="poll",
                )
            ).fetchone()[0]
            changes += outcome == "applied"
    except Exception as exc:  # any failure of the run is recorded and counted, never lost
        return conn.execute(
            *bind(
                "pms_record_sync",
                p_hotel_id=hotel_id,
                p_trigger=trigger,
                p_started_at=started,
                p_ok=False,
                p_changes=0,
                p_error=f"{type(exc).__name__}: {exc}",
            )
        ).fetchone()[0]
    return conn.execute(
        *bind(
            "pms_record_sync",
            p_hotel_id=hotel_id,
            p_trigger=trigger,
            p_started_at=started,
            p_ok=True,
            p_changes=changes,
        )
    ).fetchone()[0]


def rotate_api_keys(conn: psycopg.Connection) -> dict[str, int]:
    """Every external hotel's vendor API key and webhook signing secret sealed again under the
    newest key of the vault (a key an older release stored in clear is sealed); returns how many
    hotels were resealed and how many changed meanwhile (sealed again by another rotation, or
    replaced: left as they are)."""
    done = {"resealed": 0, "changed_meanwhile": 0}
    hotels = [r[0] for r in conn.execute("select hotel_id from api.pms_sync_status() order by hotel_id")]
    for hotel_id in hotels:
        info = conn.execute(*bind("pms_connection", p_hotel_id=hotel_id)).fetchone()[0]
        old = info["api_key_sealed"]
        key_ok = conn.execute(
            *bind("pms_set_api_key", p_hotel_id=hotel_id, p_api_key_sealed=vault.reseal(old), p_previous=old)
        ).fetchone()[0]
        (_, old, _), *_ = conn.execute(
            *bind("pms_webhook_target", p_vendor=info["vendor"], p_property_id=info["property_id"])
        ).fetchall()
        ok = conn.execute(
            *bind(
                "pms_set_webhook_secret",
                p_hotel_id=hotel_id,
                p_webhook_secret_sealed=vault.reseal(old),
                p_previous=old,
            )
        ).fetchone()[0]
        done["resealed" if key_ok and ok else "changed_meanwhile"] += 1
    return done
