"""Inbound PMS webhooks: what makes one authentic, and how it is turned into a mirror change.

Two kinds arrive at ``POST /api/webhooks/pms/{vendor}``:

* seed 001's signed events — ``{"id", "type", "hotelId", "timestamp", "data"}`` with
  ``X-PMS-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body under the property's webhook
  secret, compared in constant time; ``timestamp`` (inside the signed body, ISO 8601 or Unix
  seconds) within 300 s of now, so a captured event cannot be replayed later; ``id`` makes it
  idempotent (a second delivery answers 200 and changes nothing). Types: ``inventory_update``
  (``data.items`` or one item: ``roomTypeId``, ``date``, ``available``, ``total``),
  ``rate_update`` (``ratePlanId``, ``date``, ``amount``), ``booking_confirm`` / ``booking_cancel``
  (``reservationId``, ``roomTypeId``, ``checkIn``, ``checkOut``, ``rooms``, ``modifiedAt``),
  ``room_update``.
* Cloudbeds' own unsigned notifications — ``{"event": "reservation/created", "propertyID",
  "reservationID", "timestamp"}``. Cloudbeds signs nothing, so the endpoint URL registered with
  ``postWebhook`` carries a secret token per property (``?token=``); its sha256 is compared in
  constant time with the one stored at import. They are answered at once and followed by a
  fetch of the reservation (and of the stay's inventory), applied as event sha256(body).

Everything here decides authenticity and shape; what the mirror does with an event is
``api.pms_apply_webhook``'s, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

TOLERANCE = 300  # seconds between the event's timestamp and now
SEED_KINDS = ("inventory_update", "rate_update", "booking_confirm", "booking_cancel", "room_update")


class WebhookRejected(Exception):
    """``code`` is the registry name the receiver answers with (nothing was written)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class SignedEvent:
    event_id: str
    kind: str
    property_id: str
    document: dict[str, Any]


@dataclass
class Notification:
    event_id: str
    event: str
    property_id: str
    reservation_id: str | None


def parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("WEBHOOK_MALFORMED", "The body is not JSON.") from None
    if not isinstance(body, dict):
        raise WebhookRejected("WEBHOOK_MALFORMED", "The body is not a JSON object.")
    return body


def _instant(value: Any) -> dt.datetime:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookRejected(
            "WEBHOOK_MALFORMED", f"timestamp {str(value)[:40]!r} is not an instant"
        ) from None


def check_signature(raw: bytes, header: str, secret: str) -> None:
    """HMAC-SHA256 of the raw body, hex, optionally prefixed ``sha256=``; constant-time compare."""
    given = header.strip()
    if given.startswith("sha256="):
        given = given[len("sha256=") :]
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise WebhookRejected("WEBHOOK_SIGNATURE_INVALID", "The X-PMS-Signature does not match the body.")


def check_token(token: str, stored_sha256: bytes) -> None:
    if not hmac.compare_digest(hashlib.sha256(token.encode()).digest(), bytes(stored_sha256)):
        raise WebhookRejected("WEBHOOK_SIGNATURE_INVALID", "The endpoint token is not this property's.")


def check_timestamp(body: dict[str, Any], now: dt.datetime) -> dt.datetime:
    if "timestamp" not in body:
        raise WebhookRejected("WEBHOOK_MALFORMED", "The event has no timestamp.")
    at = _instant(body["timestamp"])
    if abs((now - at).total_seconds()) > TOLERANCE:
        raise WebhookRejected(
            "WEBHOOK_SIGNATURE_INVALID",
            f"The event's timestamp is more than {TOLERANCE} s from now (replayed or late).",
        )
    return at


def _items(data: dict[str, Any]) -> list[dict[str, Any]]:
    items = data.get("items", [data])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise WebhookRejected("WEBHOOK_MALFORMED", "data.items must be a list of objects.")
    return items


def seed_event(body: dict[str, Any], at: dt.datetime) -> SignedEvent:
    """The signed event as the document api.pms_apply_webhook reads."""
    kind, data = body.get("type"), body.get("data", {})
    event_id, property_id = body.get("id"), body.get("hotelId")
    if kind not in SEED_KINDS:
        raise WebhookRejected("WEBHOOK_MALFORMED", f"Unknown event type {str(kind)[:40]!r}.")
    if not isinstance(event_id, str) or not event_id or not isinstance(data, dict):
        raise WebhookRejected("WEBHOOK_MALFORMED", "An event needs an id and a data object.")
    try:
        if kind == "inventory_update":
            doc = {
                "as_of": at.isoformat(),
                "inventory": [
                    {
                        "room_type_external_id": str(i["roomTypeId"]),
                        "night": str(i["date"]),
                        "total": int(i["total"]),
                        "available": int(i["available"]),
                    }
                    for i in _items(data)
                ],
            }
        elif kind == "rate_update":
            doc = {
                "as_of": at.isoformat(),
                "rates": [
                    {
                        "rate_plan_external_id": str(i["ratePlanId"]),
                        "night": str(i["date"]),
                        "amount": str(i["amount"]),
                    }
                    for i in _items(data)
                ],
            }
        elif kind in ("booking_confirm", "booking_cancel"):
            doc = {
                "external_id": str(data["reservationId"]),
                "status": "canceled" if kind == "booking_cancel" else data.get("status", "confirmed"),
                "modified_at": _instant(data.get("modifiedAt", body["timestamp"])).isoformat(),
                "check_in": str(data["checkIn"]),
                "check_out": str(data["checkOut"]),
                "room_type_external_id": str(data["roomTypeId"]),
                "rooms": int(data.get("rooms", 1)),
            }
        else:
            doc = {"room_list": "changed"}
    except (KeyError, TypeError, ValueError) as exc:
        raise WebhookRejected(
            "WEBHOOK_MALFORMED", f"{kind}: a field is missing or malformed ({exc})."
        ) from None
    return SignedEvent(event_id[:200], kind, str(property_id), doc)


def notification(body: dict[str, Any], raw: bytes) -> Notification:
    event, prop = body.get("event"), body.get("propertyID")
    if not isinstance(event, str) or "/" not in event or prop is None:
        raise WebhookRejected(
            "WEBHOOK_MALFORMED", "A Cloudbeds notification names event object/action and propertyID."
        )
    rid = body.get("reservationID")
    return Notification(
        hashlib.sha256(raw).hexdigest(), event, str(prop), str(rid) if rid is not None else None
    )
