"""The simulated vendor's API methods (getHotels ... postWebhook), each answering from the ledger
as Cloudbeds API v1.3 does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .model import (
    Block,
    Reservation,
    _iso,
    _nights,
    _now,
)


class Operations:
    """The API methods the simulated vendor answers, one ``op_<method>`` each: ``prop`` is the
    property of the API key, ``q`` the query, ``f`` the form; mixed into :class:`Simulator`."""

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
                        **rate.restriction(n),
                        "blocked": False,
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
            if avail >= rooms and rt.max_guests >= guests and rate.forbids(start, end) is None:
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
        # the rate booked (roomRateID), or any of the room type's, must allow the stay
        for r in f.get("rooms") or []:
            rt = r.get("roomTypeID") or prop.rooms[r["roomID"]]
            rates = [x for x in prop.rates.values() if x.room_type_id == rt]
            if r.get("roomRateID"):
                rates = [x for x in rates if x.id == r["roomRateID"]]
                if not rates:
                    return 400, {"success": False, "message": f"unknown rate {r['roomRateID']}"}
            why = [x.forbids(start, end) for x in rates]
            if why and all(why):
                return 400, {"success": False, "message": f"restricted: {why[0]}"}
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

        def day(name):
            return dt.date.fromisoformat(q[name]) if name in q else None

        lo, hi = when("modifiedFrom"), when("modifiedTo")
        in_lo, in_hi = day("checkInFrom"), day("checkInTo")
        room = q.get("roomID")
        items = [
            r
            for r in sorted(prop.reservations.values(), key=lambda r: (r.modified, r.id))
            if (lo is None or r.modified >= lo)
            and (hi is None or r.modified <= hi)
            and (in_lo is None or r.start >= in_lo)
            and (in_hi is None or r.start <= in_hi)
            and (room is None or room in {x for _, x in r.rooms})
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
