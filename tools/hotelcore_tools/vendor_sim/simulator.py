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
    Faults,
    Property,
    Rate,
    Reservation,
    RoomType,
    _nights,
    _now,
)
from .operations import Operations
from .spec import SpecViolation, validate_request


class Simulator(Operations):
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

    def restrict(self, property_id: str, room_type_id: str, night: dt.date, **rules: Any) -> None:
        """Sets the restrictions of every rate of the room type on a date, as the hotel would in
        Cloudbeds: minLos, maxLos (0: none), closedToArrival, closedToDeparture."""
        unknown = set(rules) - {"minLos", "maxLos", "closedToArrival", "closedToDeparture"}
        if unknown:
            raise ValueError(f"unknown restrictions {sorted(unknown)}")
        with self.lock:
            for rate in self.properties[property_id].rates.values():
                if rate.room_type_id == room_type_id:
                    rate.restrictions[night] = {**rate.restrictions.get(night, {}), **rules}

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
            losing = applies and f.lose_answer_next > 0
            if losing:
                f.lose_answer_next -= 1
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
        if losing:  # done at the vendor, the answer lost on the way (a gateway timing out)
            return JSONResponse({"success": False, "message": "Gateway Timeout"}, 504)
        return JSONResponse(payload, status)
