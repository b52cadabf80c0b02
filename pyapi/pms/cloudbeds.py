"""The Cloudbeds connector (API v1.3): HTTP GET with query parameters, POST/PUT with
``application/x-www-form-urlencoded`` bodies (arrays as ``rooms[0][roomTypeID]``), the
``x-api-key`` header and ``X-PROPERTY-ID``; answers are ``{"success": ..., "message": ...}``.

How a 180 s hold maps onto Cloudbeds, which has no hold call: ``postRoomBlock`` with
``roomBlockType=courtesy_hold`` on free rooms of the room type (from ``getRooms`` with the stay's
dates), ``lengthOfHoldInHours=1``. A courtesy hold takes the rooms off every channel at once, is
invisible to the guest (no reservation, no e-mail, no channel update of a tentative booking) and
expires at Cloudbeds by itself, so a crash of hotelcore never leaves rooms held for ever. Its
smallest length is one hour, so hotelcore keeps the 180 s itself: the saga releases the block
(``deleteRoomBlock``) when the hold fails, times out or is confirmed. Confirmation deletes the block
and books the same rooms by ``roomID`` in ``postReservation``; if another channel takes a room in
that instant, Cloudbeds refuses the reservation and the checkout compensates (voids the
pre-authorisation). The alternative, a ``not_confirmed`` reservation confirmed later by
``putReservation``, would show tentative bookings to the hotel and the channels and need a cancel
to undo; it has no expiry of its own.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import deque
from decimal import Decimal
from typing import Any

import httpx

from .connector import (
    Guest,
    Hold,
    PmsRateLimited,
    PmsRefused,
    PmsUnavailable,
    VendorReservation,
    register,
)


def encode_form(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Cloudbeds' form encoding: nested arrays and objects as ``a[0][b]``; booleans as true/false."""
    out: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}[{k}]" if prefix else k, v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        elif isinstance(value, bool):
            out.append((prefix, "true" if value else "false"))
        else:
            out.append((prefix, str(value)))

    walk("", data)
    return out


def _code(text: str) -> str:
    code = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return code[:40] or "x"


def _modified(doc: dict[str, Any]) -> dt.datetime:
    # Cloudbeds gives dateModified as "YYYY-MM-DD HH:MM:SS" in UTC; dateModifiedUTC when present
    raw = doc.get("dateModifiedUTC") or doc.get("dateModified")
    t = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


RATE_LIMIT = 10  # Cloudbeds: requests per second per property


class _Pacer:
    """Keeps this process under Cloudbeds' 10 requests per second per property (a sliding
    window shared by every connector of the property), so a 429 is the exception, not the rule."""

    def __init__(self) -> None:
        self._sent: dict[str, deque] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> None:
        while True:
            with self._lock:
                sent = self._sent.setdefault(key, deque())
                now = time.monotonic()
                while sent and sent[0] <= now - 1.1:  # a margin over the vendor's 1 s window
                    sent.popleft()
                if len(sent) < RATE_LIMIT:
                    sent.append(now)
                    return
                pause = sent[0] + 1.1 - now
            time.sleep(max(pause, 0.001))


_PACER = _Pacer()


@register("cloudbeds")
class CloudbedsConnector:
    vendor = "cloudbeds"

    def __init__(self, *, property_id: str, base_url: str, api_key: str, timeout: float = 5.0):
        self.property_id = property_id
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            timeout=timeout,
            headers={"x-api-key": api_key, "X-PROPERTY-ID": property_id, "Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ transport

    def _request(
        self, method: str, name: str, *, params: dict | None = None, form: dict | None = None
    ) -> dict:
        url = f"{self.base_url}/{name}"
        _PACER.wait(f"{self.base_url}|{self.property_id}")
        try:
            if form is not None:
                r = self._http.request(
                    method,
                    url,
                    content=httpx.QueryParams(encode_form(form)).__str__().encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
            else:
                r = self._http.request(
                    method, url, params={k: v for k, v in (params or {}).items() if v is not None}
                )
        except httpx.TimeoutException as exc:
            raise PmsUnavailable(f"{name}: timed out") from exc
        except httpx.HTTPError as exc:
            raise PmsUnavailable(f"{name}: {type(exc).__name__}") from exc
        if r.status_code == 429:
            try:
                wait = float(r.headers.get("Retry-After", "1"))
            except ValueError:
                wait = 1.0
            raise PmsRateLimited(f"{name}: rate limited", wait)
        if r.status_code >= 500:
            raise PmsUnavailable(f"{name}: HTTP {r.status_code}")
        try:
            body = r.json()
        except ValueError:
            raise PmsUnavailable(f"{name}: not JSON (HTTP {r.status_code})") from None
        if r.status_code >= 400 or not body.get("success", False):
            raise PmsRefused(f"{name}: {body.get('message') or 'HTTP ' + str(r.status_code)}")
        return body

    def _pages(self, name: str, params: dict, size: int, count=len) -> list[dict]:
        """Every page of a paged list. ``count`` says how many of the counted things (``total``)
        a page's data holds: getRooms groups its rooms per property, and counts rooms."""
        items: list[dict] = []
        seen = 0
        page = 1
        while True:
            body = self._request("GET", name, params={**params, "pageNumber": page, "pageSize": size})
            data = body.get("data") or []
            items.extend(data)
            got = count(data)
            seen += got
            if got == 0 or seen >= int(body.get("total", seen)):
                return items
            page += 1

    # ------------------------------------------------------------------ reads

    def property(self) -> dict[str, Any]:
        details = self._request("GET", "getHotelDetails", params={"propertyID": self.property_id})["data"]
        # getHotelDetails carries no time zone; getHotels lists the key's properties with it
        hotels = self._request("GET", "getHotels", params={"propertyIDs": self.property_id}).get("data") or []
        tz = next(
            (h.get("propertyTimezone") for h in hotels if str(h.get("propertyID")) == self.property_id), None
        )
        address = details.get("propertyAddress") or {}
        return {
            "code": _code(f"cb-{self.property_id}"),
            "name": details.get("propertyName") or f"Cloudbeds {self.property_id}",
            "city": address.get("propertyCity"),
            "country_code": (address.get("propertyCountry") or "")[:2].upper() or None,
            "time_zone": tz or "UTC",
            "currency": (details.get("propertyCurrency") or {}).get("currencyCode"),
        }

    def room_types(self) -> list[dict[str, Any]]:
        return [
            {
                "external_id": str(rt["roomTypeID"]),
                "code": _code(rt.get("roomTypeNameShort") or str(rt["roomTypeID"]))
                + "-"
                + str(rt["roomTypeID"]),
                "name": rt.get("roomTypeName") or str(rt["roomTypeID"]),
                "max_occupancy": max(1, min(20, int(rt.get("maxGuests") or 1))),
            }
            for rt in self._pages("getRoomTypes", {"propertyIDs": self.property_id}, 100)
        ]

    def rooms(
        self, start: dt.date | None = None, end: dt.date | None = None, room_type_id: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"propertyIDs": self.property_id, "roomTypeID": room_type_id}
        if start is not None:
            params |= {"startDate": start.isoformat(), "endDate": end.isoformat()}
        out = []
        groups = self._pages(
            "getRooms", params, 100, count=lambda data: sum(len(g.get("rooms") or []) for g in data)
        )
        for group in groups:
            for room in group.get("rooms") or []:
                out.append(
                    {
                        "external_id": str(room["roomID"]),
                        "number": room.get("roomName") or str(room["roomID"]),
                        "room_type_external_id": str(room["roomTypeID"]),
                    }
                )
        return out

    def _rate_rows(self, start: dt.date, end: dt.date) -> list[dict]:
        return (
            self._request(
                "GET",
                "getRatePlans",
                params={
                    "propertyIDs": self.property_id,
                    "startDate": start.isoformat(),
                    "endDate": end.isoformat(),
                    "detailedRates": "true",
                },
            ).get("data")
            or []
        )

    def rate_plans(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        out = []
        for r in self._rate_rows(start, end):
            nights = max(1, (end - start).days)
            out.append(
                {
                    "external_id": str(r["rateID"]),
                    "room_type_external_id": str(r.get("roomTypeID")),
                    "code": _code(str(r["rateID"])),
                    "name": r.get("ratePlanNamePublic") or f"Rate {r['rateID']}",
                    "base_price": str(Decimal(str(r.get("roomRate") or 0)) / nights),
                }
            )
        return out

    def availability(
        self, start: dt.date, end: dt.date, totals: dict[str, int] | None = None
    ) -> dict[str, list]:
        """Inventory and rates per night from one getRatePlans(detailedRates) call; ``totals``
        (rooms per room type, from the room list) fills each night's total."""
        inventory: dict[tuple[str, str], dict] = {}
        rates = []
        for r in self._rate_rows(start, end):
            rt = str(r.get("roomTypeID"))
            for d in r.get("roomRateDetailed") or []:
                avail = max(0, int(d.get("roomsAvailable") or 0))
                if d.get("blocked"):
                    avail = 0
                total = max(avail, (totals or {}).get(rt, avail))
                inventory[(rt, d["date"])] = {
                    "room_type_external_id": rt,
                    "night": d["date"],
                    "total": total,
                    "available": avail,
                }
                rates.append(
                    {
                        "rate_plan_external_id": str(r["rateID"]),
                        "night": d["date"],
                        "amount": str(
                            d.get("rateBase") if d.get("rateBase") is not None else d.get("totalRate")
                        ),
                        # the night's restrictions as published (0: no length limit)
                        "restricted": True,
                        "min_los": int(d.get("minLos") or 0),
                        "max_los": int(d.get("maxLos") or 0),
                        "closed_to_arrival": bool(d.get("closedToArrival")),
                        "closed_to_departure": bool(d.get("closedToDeparture")),
                    }
                )
        return {"inventory": list(inventory.values()), "rates": rates}

    def available_room_types(
        self, start: dt.date, end: dt.date, rooms: int, adults: int, children: int
    ) -> dict[str, int]:
        """The vendor's own answer: rooms left per room type bookable for the stay."""
        body = self._request(
            "GET",
            "getAvailableRoomTypes",
            params={
                "propertyIDs": self.property_id,
                "startDate": start.isoformat(),
                "endDate": end.isoformat(),
                "rooms": rooms,
                "adults": adults,
                "children": children,
            },
        )
        out: dict[str, int] = {}
        for group in body.get("data") or []:
            for rt in group.get("propertyRooms") or []:
                out[str(rt["roomTypeID"])] = int(rt.get("roomsAvailable") or 0)
        return out

    def _reservation(self, doc: dict[str, Any]) -> VendorReservation:
        rooms = doc.get("assigned") or doc.get("unassigned") or doc.get("rooms") or []
        return VendorReservation(
            id=str(doc["reservationID"]),
            status=doc["status"],
            check_in=dt.date.fromisoformat(doc["startDate"]),
            check_out=dt.date.fromisoformat(doc["endDate"]),
            room_type_id=str(rooms[0]["roomTypeID"]) if rooms else None,
            rooms=max(1, len(rooms)),
            modified_at=_modified(doc),
            guest_name=doc.get("guestName"),
            total=Decimal(str(doc["total"])) if doc.get("total") is not None else None,
        )

    def reservation(self, reservation_id: str) -> VendorReservation:
        body = self._request(
            "GET", "getReservation", params={"propertyID": self.property_id, "reservationID": reservation_id}
        )
        return self._reservation(body["data"])

    def changes_since(self, since: dt.datetime, until: dt.datetime) -> list[VendorReservation]:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        docs = self._pages(
            "getReservations",
            {
                "propertyID": self.property_id,
                "modifiedFrom": since.astimezone(dt.UTC).strftime(fmt),
                # whole seconds on the wire: the end rounded up, so a change in its last second is in
                # (an overlap with the next window is harmless: versions apply once)
                "modifiedTo": (until + dt.timedelta(seconds=1)).astimezone(dt.UTC).strftime(fmt),
            },
            100,
        )
        return [self._reservation(d) for d in docs]

    # ------------------------------------------------------------------ writes

    def create_hold(
        self, room_type_id: str, rooms: int, check_in: dt.date, check_out: dt.date, guest: Guest, seconds: int
    ) -> Hold:
        free = [
            r["external_id"]
            for r in self.rooms(check_in, check_out, room_type_id)
            if r["room_type_external_id"] == room_type_id
        ]
        if len(free) < rooms:
            raise PmsRefused(
                f"postRoomBlock: {len(free)} room(s) of type {room_type_id} free, {rooms} wanted"
            )
        chosen = free[:rooms]
        body = self._request(
            "POST",
            "postRoomBlock",
            form={
                "propertyID": self.property_id,
                "roomBlockType": "courtesy_hold",
                "roomBlockReason": "hotelcore checkout hold",
                "startDate": check_in.isoformat(),
                "endDate": (check_out - dt.timedelta(days=1)).isoformat(),  # the block's last night
                "rooms": [{"roomID": r, "roomTypeID": room_type_id} for r in chosen],
                "firstName": guest.first_name,
                "lastName": guest.last_name,
                "email": guest.email,
                "lengthOfHoldInHours": max(1, -(-seconds // 3600)),
            },
        )
        return Hold(str(body["roomBlockID"]), room_type_id, chosen, check_in, check_out)

    def release_hold(self, hold: Hold) -> None:
        try:
            self._request(
                "POST", "deleteRoomBlock", form={"propertyID": self.property_id, "roomBlockID": hold.id}
            )
        except PmsRefused:
            pass  # already gone (expired or released): releasing is idempotent

    def confirm(
        self, hold: Hold, guest: Guest, rate_plan_id: str | None, reference: str
    ) -> VendorReservation:
        self.release_hold(hold)
        try:
            body = self._post_reservation(hold, guest, reference, rate_plan_id)
        except (PmsUnavailable, PmsRefused):
            # postReservation is not idempotent: an answer lost after Cloudbeds booked (a timeout,
            # a 5xx from a gateway), or a retry refused because the first attempt took the rooms,
            # is settled by the reservation carrying this checkout's reference on the held rooms.
            mine = self._reservation_with_reference(hold, reference)
            if mine is None:
                raise
            return mine
        return self.reservation(str(body["reservationID"]))

    def _reservation_with_reference(self, hold: Hold, reference: str) -> VendorReservation | None:
        docs = self._pages(
            "getReservations",
            {
                "propertyID": self.property_id,
                "checkInFrom": hold.check_in.isoformat(),
                "checkInTo": hold.check_in.isoformat(),
                "roomID": hold.rooms[0],
            },
            100,
        )
        for doc in docs:
            if doc.get("status") == "canceled":
                continue
            full = self._request(
                "GET",
                "getReservation",
                params={"propertyID": self.property_id, "reservationID": str(doc["reservationID"])},
            )["data"]
            if full.get("thirdPartyIdentifier") == reference:
                return self._reservation(full)
        return None

    def _post_reservation(self, hold: Hold, guest: Guest, reference: str, rate_plan_id: str | None) -> dict:
        rate = {} if rate_plan_id is None else {"roomRateID": rate_plan_id}  # its price and restrictions
        return self._request(
            "POST",
            "postReservation",
            form={
                "propertyID": self.property_id,
                "startDate": hold.check_in.isoformat(),
                "endDate": hold.check_out.isoformat(),
                "guestFirstName": guest.first_name,
                "guestLastName": guest.last_name,
                "guestCountry": "KR",
                "guestEmail": guest.email or "",
                "guestPhone": guest.phone,
                "thirdPartyIdentifier": reference,
                "rooms": [
                    {"roomTypeID": hold.room_type_id, "quantity": 1, "roomID": r, **rate} for r in hold.rooms
                ],
                "adults": [{"roomTypeID": hold.room_type_id, "quantity": 2, "roomID": r} for r in hold.rooms],
                "children": [
                    {"roomTypeID": hold.room_type_id, "quantity": 0, "roomID": r} for r in hold.rooms
                ],
                "paymentMethod": "credit",
                "sendEmailConfirmation": False,
            },
        )

    def cancel(self, reservation_id: str) -> None:
        self._request(
            "PUT",
            "putReservation",
            form={"propertyID": self.property_id, "reservationID": reservation_id, "status": "canceled"},
        )

    def register_webhook(self, obj: str, action: str, url: str) -> str:
        body = self._request(
            "POST",
            "postWebhook",
            form={"propertyID": self.property_id, "object": obj, "action": action, "endpointUrl": url},
        )
        return str((body.get("data") or {}).get("subscriptionID", ""))
