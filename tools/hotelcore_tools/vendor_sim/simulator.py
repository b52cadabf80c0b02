"""The simulated Cloudbeds: its ledger behind the vendor's HTTP API, every request validated
against Cloudbeds' OpenAPI file, with the vendor's rate limit and scripted faults.
"""

from __future__ import annotations

import datetime as dt
import itertools
import queue
import threading
import time
from decimal import Decimal
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .model import (
    BASE_PATH,
    RATE_LIMIT,
    Block,
    Faults,
    Property,
    Rate,
    Reservation,
    RoomType,
    _iso,
    _nights,
    _now,
)
from .spec import SpecViolation, validate_request


class Simulator:
    """The simulated vendor's ledger and HTTP app. Thread-safe (one lock)."""

    def __init__(self) -> None:
        self.properties: dict[str, Property] = {}
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str, str]] = []  # (propertyID, method, path) as received
        self.violations: list[str] = []
        self.webhooks_sent: list[tuple[str, dict]] = []
        self._ids = itertools.count(1000)
        self._outbox: queue.Queue = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, name="vendor-sim-webhooks", daemon=True)
        self._sender.start()
        self.app = Starlette(
            routes=[
                Route(BASE_PATH + "/{method}", self._handle, methods=["GET", "POST", "PUT", "DELETE"]),
                Route("/_sim/faults/{property_id}", self._set_faults, methods=["POST"]),
            ]
        )

    # ------------------------------------------------------------------ set-up

    def add_property(
        self,
        property_id: str,
        api_key: str,
        *,
        name: str = "Cloudbeds Demo Hotel",
        city: str = "Seoul",
        country: str = "KR",
        time_zone: str = "Asia/Seoul",
        currency: str = "KRW",
        room_types: list[tuple[str, str, int, int, Decimal]] = (),
    ) -> Property:
        """``room_types``: (id, name, max guests, number of rooms, nightly base rate)."""
        prop = Property(property_id, api_key, name, city, country, time_zone, currency)
        for rt_id, rt_name, guests, count, base in room_types:
            prop.room_types[rt_id] = RoomType(rt_id, rt_name, rt_name[:3].upper(), guests)
            for i in range(count):
                room_id = f"{rt_id}-{i + 1}"
                prop.rooms[room_id] = rt_id
                prop.room_names[room_id] = f"{rt_name[:3].upper()}{i + 1:02d}"
            prop.rates[f"R{rt_id}"] = Rate(f"R{rt_id}", rt_id, f"{rt_name} best rate", Decimal(base))
        with self.lock:
            self.properties[property_id] = prop
        return prop

    def faults(self, property_id: str) -> Faults:
        return self.properties[property_id].faults

    # ------------------------------------------------------------------ the ledger

    def _taken(self, prop: Property, night: dt.date) -> set[str]:
        now = _now()
        taken = set()
        for r in prop.reservations.values():
            if r.status != "canceled" and r.start <= night < r.end:
                taken.update(room for _, room in r.rooms)
        for b in prop.blocks.values():
            if b.expires > now and b.start <= night <= b.end:
                taken.update(room for _, room in b.rooms)
        return taken

    def free_rooms(
        self,
        prop: Property,
        room_type_id: str,
        start: dt.date,
        end: dt.date,
        *,
        ignore_block: str | None = None,
    ) -> list[str]:
        blocks = {k: v for k, v in prop.blocks.items() if k != ignore_block}
        saved, prop.blocks = prop.blocks, blocks
        try:
            taken: set[str] = set()
            for night in _nights(start, end):
                taken |= self._taken(prop, night)
        finally:
            prop.blocks = saved
        return [room for room, rt in prop.rooms.items() if rt == room_type_id and room not in taken]

    def available(self, prop: Property, room_type_id: str, night: dt.date) -> int:
        taken = self._taken(prop, night)
        return sum(1 for room, rt in prop.rooms.items() if rt == room_type_id and room not in taken)

    def book_elsewhere(self, property_id: str, room_type_id: str, start: dt.date, end: dt.date) -> str:
        """A reservation made at the front desk or by another channel (no connector involved)."""
        with self.lock:
            prop = self.properties[property_id]
            free = self.free_rooms(prop, room_type_id, start, end)
            if not free:
                raise ValueError("no room free")
            res = self._new_reservation(prop, start, end, [(room_type_id, free[0])], "Walk", "In", "", None)
        return res.id

    def set_status(self, property_id: str, reservation_id: str, status: str) -> None:
        with self.lock:
            prop = self.properties[property_id]
            res = prop.reservations[reservation_id]
            res.status = status
            res.modified = max(_now(), res.modified + dt.timedelta(microseconds=1))
            self._notify(prop, "reservation", "status_changed", res)

    def _new_reservation(self, prop, start, end, rooms, first, last, email, third_party) -> Reservation:
        total = sum((prop.rates[f"R{rt}"].on(n) for rt, _ in rooms for n in _nights(start, end)), Decimal(0))
        now = _now()
        res = Reservation(
            str(next(self._ids)),
            "confirmed",
            start,
            end,
            rooms,
            first,
            last,
            email,
            total,
            now,
            now,
            third_party,
        )
        prop.reservations[res.id] = res
        self._notify(prop, "reservation", "created", res)
        return res

    # ------------------------------------------------------------------ webhooks

    def _notify(self, prop: Property, obj: str, action: str, res: Reservation) -> None:
        payload = {
            "version": "1.0",
            "event": f"{obj}/{action}",
            "timestamp": res.modified.timestamp(),
            "propertyID": prop.id,
            "propertyID_str": prop.id,
            "reservationID": res.id,
            "status": res.status,
        }
        for _, o, a, url in prop.webhooks:
            if o == obj and a == action:
                if prop.faults.webhook_reorder:
                    prop.held_webhooks.append((url, payload))
                    continue
                self._outbox.put((url, payload))
                if prop.faults.webhook_duplicate:
                    self._outbox.put((url, payload))

    def flush_webhooks(self, property_id: str) -> int:
        """Sends the notifications held by ``webhook_reorder``, newest first."""
        with self.lock:
            prop = self.properties[property_id]
            held, prop.held_webhooks = prop.held_webhooks, []
        for item in reversed(held):
            self._outbox.put(item)
        return len(held)

    def _send_loop(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while True:
                item = self._outbox.get()
                if item is None:
                    return
                url, payload = item
                try:
                    client.post(url, json=payload)
                    self.webhooks_sent.append((url, payload))
                except httpx.HTTPError:
                    self.webhooks_sent.append((url, {**payload, "failed": True}))

    def wait_webhooks(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._outbox.empty() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)

    # ------------------------------------------------------------------ HTTP

    async def _set_faults(self, request: Request) -> Response:
        prop = self.properties.get(request.path_params["property_id"])
        if prop is None:
            return JSONResponse({"success": False, "message": "unknown property"}, 404)
        changes = await request.json()
        with self.lock:
            for key, value in changes.items():
                if not hasattr(prop.faults, key):
                    return JSONResponse({"success": False, "message": f"unknown fault {key}"}, 400)
                setattr(prop.faults, key, set(value) if key == "fail_operations" else value)
        return JSONResponse({"success": True})

    async def _handle(self, request: Request) -> Response:
        import asyncio

        method = request.path_params["method"]
        body = await request.body()
        query = dict(request.query_params)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            form = validate_request(
                "/" + method, request.method, query, headers, body, headers.get("content-type", "")
            )
        except SpecViolation as exc:
            self.violations.append(f"{request.method} /{method}: {exc}")
            return JSONResponse({"success": False, "message": f"invalid request: {exc}"}, 400)
        key = headers.get("x-api-key", "")
        with self.lock:
            prop = next((p for p in self.properties.values() if p.api_key == key), None)
        if prop is None:
            return JSONResponse({"success": False, "message": "Invalid API key"}, 401)
        wanted = headers.get("x-property-id") or query.get("propertyID") or form.get("propertyID")
        if wanted and wanted != prop.id:
            return JSONResponse(
                {"success": False, "message": "the API key has no access to that property"}, 403
            )
        f = prop.faults
        self.requests.append((prop.id, request.method, method))
        with self.lock:
            # 10 requests per second per property
            now = time.monotonic()
            while prop.recent and prop.recent[0] <= now - 1.0:
                prop.recent.popleft()
            limited = len(prop.recent) >= RATE_LIMIT
            throttled = f.throttle_next > 0
            if throttled:
                f.throttle_next -= 1
            if not limited:
                prop.recent.append(now)
            applies = not f.fail_operations or method in f.fail_operations
            failing = applies and f.fail_next > 0
            if failing:
                f.fail_next -= 1
            hanging = applies and f.timeout_next > 0
            if hanging:
                f.timeout_next -= 1
        if f.latency:
            await asyncio.sleep(f.latency)
        if limited or throttled:
            return JSONResponse(
                {"success": False, "message": "Rate limit exceeded"},
                429,
                headers={"Retry-After": str(f.retry_after if throttled else 1)},
            )
        if f.outage and applies:
            return JSONResponse({"success": False, "message": "Service Unavailable"}, 503)
        if hanging:
            await asyncio.sleep(f.hang)
        if failing:
            return JSONResponse({"success": False, "message": "Internal Server Error"}, f.fail_status)
        handler = getattr(self, "op_" + method, None)
        if handler is None:
            return JSONResponse({"success": False, "message": f"{method} is not simulated"}, 501)
        with self.lock:
            try:
                status, payload = handler(prop, query, form)
            except (KeyError, ValueError) as exc:
                return JSONResponse({"success": False, "message": f"bad request: {exc}"}, 400)
        return JSONResponse(payload, status)

    # ------------------------------------------------------------------ operations

    def op_getHotels(self, prop, q, f):
        return 200, {
            "success": True,
            "data": [
                {
                    "propertyID": prop.id,
                    "organizationID": "1",
                    "propertyName": prop.name,
                    "propertyImage": [],
                    "propertyDescription": "",
                    "propertyTimezone": prop.time_zone,
                    "propertyCurrency": {
                        "currencyCode": prop.currency,
                        "currencySymbol": "",
                        "currencyPosition": "before",
                    },
                }
            ],
            "pageNumber": 1,
            "pageSize": 20,
            "count": 1,
            "total": 1,
        }

    def op_getHotelDetails(self, prop, q, f):
        return 200, {
            "success": True,
            "data": {
                "propertyID": prop.id,
                "organizationID": "1",
                "propertyName": prop.name,
                "propertyType": "Hotel",
                "propertyCurrency": {
                    "currencyCode": prop.currency,
                    "currencySymbol": "",
                    "currencyPosition": "before",
                    "currencyDecimalSeparator": ".",
                    "currencyThousandsSeparator": ",",
                },
                "propertyAddress": {
                    "propertyAddress1": "",
                    "propertyCity": prop.city,
                    "propertyCountry": prop.country,
                },
                "propertyPolicy": {"propertyCheckInTime": "15:00:00", "propertyCheckOutTime": "11:00:00"},
            },
        }

    def _page(self, q, items, default_size):
        number = int(q.get("pageNumber", 1))
        size = int(q.get("pageSize", default_size))
        start = (number - 1) * size
        return items[start : start + size], len(items)

    def op_getRoomTypes(self, prop, q, f):
        items = [
            {
                "roomTypeID": rt.id,
                "propertyID": prop.id,
                "roomTypeName": rt.name,
                "roomTypeNameShort": rt.short,
                "roomTypeDescription": "",
                "isPrivate": True,
                "maxGuests": rt.max_guests,
                "adultsIncluded": min(2, rt.max_guests),
                "childrenIncluded": 0,
                "roomTypeUnits": sum(1 for t in prop.rooms.values() if t == rt.id),
            }
            for rt in prop.room_types.values()
        ]
        page, total = self._page(q, items, 20)
        return 200, {"success": True, "data": page, "count": len(page), "total": total}

    def op_getRooms(self, prop, q, f):
        wanted = q.get("roomTypeID")
        free = None
        if "startDate" in q:  # only rooms unassigned in [startDate, endDate)
            start, end = dt.date.fromisoformat(q["startDate"]), dt.date.fromisoformat(q["endDate"])
            taken: set[str] = set()
            for night in _nights(start, end):
                taken |= self._taken(prop, night)
            free = {room for room in prop.rooms if room not in taken}
        items = [
            {
                "roomID": room,
                "roomName": prop.room_names[room],
                "roomDescription": "",
                "maxGuests": prop.room_types[rt].max_guests,
                "isPrivate": True,
                "isVirtual": False,
                "roomBlocked": False,
                "roomTypeID": rt,
                "roomTypeName": prop.room_types[rt].name,
                "roomTypeNameShort": prop.room_types[rt].short,
            }
            for room, rt in prop.rooms.items()
            if (not wanted or rt in wanted.split(",")) and (free is None or room in free)
        ]
        page, total = self._page(q, items, 20)
        return 200, {
            "success": True,
            "data": [{"propertyID": prop.id, "rooms": page}],
            "count": len(page),
            "total": total,
        }

    def op_getRatePlans(self, prop, q, f):
        start = dt.date.fromisoformat(q["startDate"])
        end = dt.date.fromisoformat(q["endDate"])
        detailed = q.get("detailedRates", "false").lower() in ("true", "1")
        wanted = q.get("roomTypeID")
        data = []
        for rate in prop.rates.values():
            if wanted and rate.room_type_id not in wanted.split(","):
                continue
            nights = list(_nights(start, end)) or [start]
            avail = min(self.available(prop, rate.room_type_id, n) for n in nights)
            row = {
                "rateID": rate.id,
                "isDerived": False,
                "roomRate": float(sum(rate.on(n) for n in nights)),
                "totalRate": float(sum(rate.on(n) for n in nights)),
                "roomsAvailable": avail,
                "roomTypeID": rate.room_type_id,
                "propertyID": prop.id,
                "ratePlanID": rate.id,
                "ratePlanNamePublic": rate.name,
                "ratePlanNamePrivate": rate.name,
                "addOns": [],
            }
            if detailed:
                row["roomRateDetailed"] = [
                    {
                        "date": n.isoformat(),
                        "rateBase": float(rate.on(n)),
                        "totalRate": float(rate.on(n)),
                        "roomsAvailable": self.available(prop, rate.room_type_id, n),
                        "closedToArrival": False,
                        "closedToDeparture": False,
                        "blocked": False,
                        "minLos": 0,
                        "maxLos": 0,
                        "cutOff": 0,
                        "lastMinuteBooking": 0,
                    }
                    for n in _nights(start, end)
                ]
            data.append(row)
        return 200, {"success": True, "data": data}

    def op_getAvailableRoomTypes(self, prop, q, f):
        start = dt.date.fromisoformat(q["startDate"])
        end = dt.date.fromisoformat(q["endDate"])
        rooms = int(q["rooms"])
        guests = int(q["adults"]) + int(q["children"])
        out = []
        for rate in prop.rates.values():
            rt = prop.room_types[rate.room_type_id]
            avail = min((self.available(prop, rt.id, n) for n in _nights(start, end)), default=0)
            if avail >= rooms and rt.max_guests >= guests:
                out.append(
                    {
                        "roomTypeID": rt.id,
                        "roomTypeName": rt.name,
                        "roomTypeNameShort": rt.short,
                        "maxGuests": rt.max_guests,
                        "roomRate": float(sum(rate.on(n) for n in _nights(start, end))),
                        "roomRateID": rate.id,
                        "ratePlanNamePublic": rate.name,
                        "roomsAvailable": avail,
                    }
                )
        return 200, {
            "success": True,
            "data": [{"propertyID": prop.id, "propertyRooms": out}],
            "roomCount": len(out),
            "count": 1,
            "total": 1,
        }

    def op_postRoomBlock(self, prop, q, f):
        start = dt.date.fromisoformat(f["startDate"])
        end = dt.date.fromisoformat(f["endDate"])
        rooms = [(r.get("roomTypeID") or prop.rooms[r["roomID"]], r["roomID"]) for r in f.get("rooms") or []]
        if not rooms:
            return 400, {"success": False, "message": "rooms are required"}
        taken: set[str] = set()
        for night in _nights(start, end + dt.timedelta(days=1)):
            taken |= self._taken(prop, night)
        if any(room in taken for _, room in rooms):
            return 400, {"success": False, "message": "a room is not available on these dates"}
        hours = f.get("lengthOfHoldInHours") or 24
        block = Block(f"B{next(self._ids)}", rooms, start, end, _now() + dt.timedelta(hours=hours))
        prop.blocks[block.id] = block
        return 200, {
            "success": True,
            "propertyID": prop.id,
            "roomBlockID": block.id,
            "roomBlockType": f.get("roomBlockType") or "blocked_dates",
            "roomBlockReason": f.get("roomBlockReason") or "",
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "rooms": [{"roomID": room, "roomTypeID": rt, "isSource": True} for rt, room in rooms],
            "message": "",
        }

    def op_deleteRoomBlock(self, prop, q, f):
        if prop.blocks.pop(f["roomBlockID"], None) is None:
            return 400, {"success": False, "message": "room block not found"}
        return 200, {"success": True, "message": ""}

    def op_postReservation(self, prop, q, f):
        start = dt.date.fromisoformat(f["startDate"])
        end = dt.date.fromisoformat(f["endDate"])
        if end <= start:
            return 400, {"success": False, "message": "endDate must be after startDate"}
        wanted: list[tuple[str, str | None]] = []
        for r in f.get("rooms") or []:
            if r.get("roomID"):
                wanted.append((prop.rooms[r["roomID"]], r["roomID"]))
            else:
                wanted.extend((r["roomTypeID"], None) for _ in range(int(r.get("quantity") or 1)))
        chosen: list[tuple[str, str]] = []
        for rt, room in wanted:
            free = [x for x in self.free_rooms(prop, rt, start, end) if x not in {c for _, c in chosen}]
            if room is not None and room not in free or not free:
                return 400, {"success": False, "message": f"no availability for room type {rt}"}
            chosen.append((rt, room or free[0]))
        res = self._new_reservation(
            prop,
            start,
            end,
            chosen,
            f["guestFirstName"],
            f["guestLastName"],
            f.get("guestEmail", ""),
            f.get("thirdPartyIdentifier"),
        )
        return 200, {
            "success": True,
            "reservationID": res.id,
            "status": res.status,
            "guestID": "G" + res.id,
            "guestFirstName": res.guest_first,
            "guestLastName": res.guest_last,
            "guestEmail": res.guest_email,
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "dateCreated": _iso(res.created),
            "grandTotal": float(res.total),
            "unassigned": [],
        }

    def op_putReservation(self, prop, q, f):
        res = prop.reservations.get(f["reservationID"])
        if res is None:
            return 400, {"success": False, "message": "reservation not found"}
        status = f.get("status")
        if status and status != res.status:
            res.status = status
            res.modified = max(_now(), res.modified + dt.timedelta(microseconds=1))
            self._notify(prop, "reservation", "status_changed", res)
        return 200, {"success": True, "message": "", "data": {}}

    def _reservation_doc(self, prop, res: Reservation) -> dict[str, Any]:
        return {
            "propertyID": prop.id,
            "reservationID": res.id,
            "guestName": f"{res.guest_first} {res.guest_last}",
            "guestEmail": res.guest_email,
            "dateCreated": _iso(res.created),
            "dateModified": _iso(res.modified),
            "dateModifiedUTC": res.modified.isoformat(),
            "status": res.status,
            "total": float(res.total),
            "balance": 0,
            "startDate": res.start.isoformat(),
            "endDate": res.end.isoformat(),
            "thirdPartyIdentifier": res.third_party_id,
            "unassigned": [],
            "assigned": [
                {
                    "roomTypeID": rt,
                    "roomTypeName": prop.room_types[rt].name,
                    "roomID": room,
                    "roomName": prop.room_names[room],
                    "startDate": res.start.isoformat(),
                    "endDate": res.end.isoformat(),
                    "adults": "2",
                    "children": "0",
                }
                for rt, room in res.rooms
            ],
        }

    def op_getReservation(self, prop, q, f):
        res = prop.reservations.get(q["reservationID"])
        if res is None:
            return 400, {"success": False, "message": "reservation not found"}
        return 200, {"success": True, "data": self._reservation_doc(prop, res)}

    def op_getReservations(self, prop, q, f):
        def when(name):
            return dt.datetime.fromisoformat(q[name].replace("Z", "+00:00")) if name in q else None

        lo, hi = when("modifiedFrom"), when("modifiedTo")
        items = [
            r
            for r in sorted(prop.reservations.values(), key=lambda r: (r.modified, r.id))
            if (lo is None or r.modified >= lo) and (hi is None or r.modified <= hi)
        ]
        page, total = self._page(q, items, 100)
        data = []
        for r in page:
            doc = self._reservation_doc(prop, r)
            data.append(
                {
                    **{
                        k: doc[k]
                        for k in (
                            "propertyID",
                            "reservationID",
                            "dateCreated",
                            "dateModified",
                            "status",
                            "guestName",
                            "startDate",
                            "endDate",
                            "balance",
                        )
                    },
                    "dateModifiedUTC": doc["dateModifiedUTC"],
                    "adults": "2",
                    "children": "0",
                    "rooms": [{"roomTypeID": rt, "roomID": room} for rt, room in r.rooms],
                }
            )
        return 200, {"success": True, "data": data, "count": len(data), "total": total}

    def op_postWebhook(self, prop, q, f):
        sub = f"W{next(self._ids)}"
        prop.webhooks.append((sub, f["object"], f["action"], f["endpointUrl"]))
        return 200, {"success": True, "data": {"subscriptionID": sub}}
