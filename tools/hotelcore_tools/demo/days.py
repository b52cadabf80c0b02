"""What happens on a hotel's day, in order; mixed into :class:`Season`."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from .. import datagen
from .spec import LEAD_MEAN, ORIGIN_WEIGHTS, ORIGINS, RATE_PLAN_WEIGHTS, SERVICE_ITEMS, Hotel


class SeasonDays:
    """A hotel's day, hour by hour: the night audit, departures, housekeeping, bookings, changes,
    arrivals, guest services and the evening (the hours are the hotel's own)."""

    def night(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 2)
        audit = self.call(
            "run_night_audit",
            p_hotel_id=hotel.id,
            p_business_date=day - timedelta(days=1),
            p_app_user="night auditor",
        )
        if audit:
            self.counts["night audits"] += 1
            self.counts["no-shows"] += audit[0]["no_shows"]
        # no-show fees of guaranteed bookings are charged to the card on file
        for rid, balance in self.rows(
            """select r.id, b.balance from core.reservations r join api.folio_balances b on b.reservation_id = r.id
                   where r.hotel_id = %s and r.status = 'no_show' and lower(r.stay) >= %s and b.balance <> 0
                   order by r.id""",
            [hotel.id, day - timedelta(days=3)],
        ):
            self.settle(rid, balance, "no-show fees collected")
        self.counts["holds expired"] += self.value("expire_holds", p_hotel_id=hotel.id) or 0
        self.value("expire_waitlist", p_hotel_id=hotel.id)

    def departures(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 9)
        in_house = self.rows(
            """select r.id, upper(r.stay) from core.reservations r
               where r.hotel_id = %s and r.status = 'checked_in' and upper(r.stay) > %s order by r.id""",
            [hotel.id, day],
        )
        # a few guests leave early: check_out frees the nights they do not sleep
        early_ids = {
            rid
            for rid, departure in in_house
            if departure > day + timedelta(days=1) and self.rng.random() < 0.015
        }
        leaving = sorted(
            [rid for rid in early_ids]
            + [
                rid
                for (rid,) in self.rows(
                    """select r.id from core.reservations r where r.hotel_id = %s and r.status = 'checked_in'
               and upper(r.stay) <= %s order by r.id""",
                    [hotel.id, day],
                )
            ]
        )
        balances = dict(
            self.rows(
                "select reservation_id, balance from api.folio_balances where reservation_id = any(%s)",
                [leaving],
            )
        )
        for rid in leaving:
            early = rid in early_ids
            self.settle(rid, balances[rid], "check-out payments")
            if self.call("check_out", p_reservation_id=rid, p_app_user="front desk") is not None:
                self.counts["check-outs"] += 1
                self.counts["early departures"] += early
                if self.rng.random() < 0.35:
                    self.review(hotel, rid)
        self.counts["stays earning points"] += self.value("earn_due_stay_points", p_hotel_id=hotel.id) or 0

    def review(self, hotel: Hotel, rid: int) -> None:
        def rating(bias: float = 0.0) -> int:
            return self.rating(hotel, bias)

        overall = rating()
        titles = {5: "Wonderful stay", 4: "Very good", 3: "Fine", 2: "Disappointing", 1: "Never again"}
        if (
            self.call(
                "submit_review",
                p_reservation_id=rid,
                p_overall_rating=overall,
                p_cleanliness_rating=rating(0.1),
                p_service_rating=rating(),
                p_location_rating=rating(0.3),
                p_facilities_rating=rating(-0.2),
                p_value_rating=rating(-0.3),
                p_title=titles[overall],
            )
            is not None
        ):
            self.counts["reviews"] += 1

    def housekeeping(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 12)
        dirty = self.rows(
            "select id from core.rooms where hotel_id = %s and status = 'dirty' order by id", [hotel.id]
        )
        self.batch(
            "set_room_status",
            [
                {
                    "p_hotel_id": hotel.id,
                    "p_room_id": room_id,
                    "p_status": "inspected" if self.rng.random() < 0.2 else "clean",
                    "p_app_user": "housekeeping",
                }
                for (room_id,) in dirty
            ],
        )
        self.counts["rooms cleaned"] += len(dirty)
        # now and then a room goes out for repairs for a night or two
        if self.rng.random() < 0.08:
            free = self.rows(
                """select r.id from core.rooms r where r.hotel_id = %s and r.active and r.status in ('clean', 'inspected')
                     and not exists (select 1 from core.room_assignments a where a.room_id = r.id and a.active
                                     and upper(a.nights) > %s)
                   order by r.id""",
                [hotel.id, day],
            )
            if free:
                room_id = free[self.rng.randrange(len(free))][0]
                nights = self.rng.choice((1, 1, 2, 3))
                if (
                    self.call(
                        "block_room",
                        p_hotel_id=hotel.id,
                        p_room_id=room_id,
                        p_from=day,
                        p_until=day + timedelta(days=nights),
                        p_kind="out_of_order",
                        p_reason="air conditioning repair",
                        p_app_user="maintenance",
                    )
                    is not None
                ):
                    self.counts["rooms blocked for repairs"] += 1

    def demand_weight(self, hotel: Hotel, night: date) -> float:
        """How much a night is wanted: weekends and the summer peak more."""
        w = 1.0
        if night.isoweekday() in (5, 6):
            w *= 1.35
        peak0 = self.spec.first_night + timedelta(days=self.spec.days * 2 // 5)
        if peak0 <= night < peak0 + timedelta(days=max(1, self.spec.days // 6)):
            w *= 1.3
        if night.isoweekday() in (1, 2, 3):
            w *= 0.8
        return w / 1.8

    def poisson(self, lam: float) -> int:
        if lam > 30:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        k, p, limit = 0, 1.0, math.exp(-lam)
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def customer_for(self, hotel: Hotel, origin: str, index: int) -> int | None:
        if origin == "member":
            return self.members[self.rng.randrange(len(self.members))]
        locale = self.locales[index]
        given, family = self.rng.choice(self.guest_names[locale])
        n = self.rng.randrange(1500)  # some guests come back: the same e-mail finds the same profile
        email = f"guest{n:05d}.h{index}.{self.spec.seed}@example.net"
        if email in self.guests:
            self.counts["returning guests"] += 1
            return self.guests[email]
        found = self.call(
            "find_or_create_guest",
            p_given_name=given,
            p_family_name=family,
            p_email=email,
            p_hotel_id=hotel.id,
        )
        if found:
            self.guests[email] = next(iter(found[0].values()))
        return self.guests.get(email)

    def bookings(self, hotel: Hotel, day: date) -> None:
        spec = self.spec
        self.at(hotel, day, 13)
        index = self.hotels.index(hotel)
        requests = self.poisson(hotel.demand * 1.4)
        abandoned = 0
        for _ in range(requests):
            origin = self.rng.choices(ORIGINS, ORIGIN_WEIGHTS)[0]
            lead = min(spec.max_lead, int(self.rng.expovariate(1 / LEAD_MEAN[origin])))
            arrival = day + timedelta(days=lead)
            nights = self.rng.choice(datagen.STAY_LENGTHS)
            if arrival < spec.first_night or arrival >= spec.end:
                continue
            if self.rng.random() > self.demand_weight(hotel, arrival):
                continue
            self.counts["booking requests"] += 1
            types = hotel.room_types
            t = self.rng.choices(range(len(types)), [rt[3] for rt in types])[0]
            plan_no = self.rng.choices(range(3), RATE_PLAN_WEIGHTS)[0]
            customer = self.customer_for(hotel, origin, index)
            if customer is None:
                continue
            member = customer if origin == "member" else None
            departure = arrival + timedelta(days=nights)
            if origin == "direct" and self.saga is not None and self.rng.random() < spec.http_share:
                self.http_checkout(hotel, types[t], plan_no, arrival, departure)
                continue
            hold = None
            for choice in (t, (t + 1) % len(types)):  # sold out: the next room type, once
                rt_id, _code, occupancy, _rooms = types[choice]
                adults = self.rng.randint(1, min(2, occupancy))
                hold = self.call(
                    "create_hold",
                    p_hotel_id=hotel.id,
                    p_room_type_id=rt_id,
                    p_rate_plan_id=hotel.rate_plans[rt_id][plan_no],
                    p_check_in=arrival,
                    p_check_out=departure,
                    p_adults=adults,
                    p_customer_id=member,
                )
                if hold:
                    break
            if not hold:
                self.counts["requests turned away (sold out)"] += 1
                if member is not None and self.rng.random() < 0.5:
                    rt_id = types[t][0]
                    if (
                        self.call(
                            "join_waitlist",
                            p_hotel_id=hotel.id,
                            p_room_type_id=rt_id,
                            p_rate_plan_id=hotel.rate_plans[rt_id][plan_no],
                            p_customer_id=member,
                            p_check_in=arrival,
                            p_check_out=departure,
                            p_adults=1,
                        )
                        is not None
                    ):
                        self.counts["waitlist entries"] += 1
                continue
            hold_id = hold[0]["hold_id"]
            fate = self.rng.random()
            if fate < 0.04:
                self.call("release_hold", p_hold_id=hold_id)
                self.counts["holds released"] += 1
                continue
            if fate < 0.10:
                abandoned += 1  # the guest walks away; the hold runs out
                continue
            guaranteed = origin != "pms" or self.rng.random() < 0.5
            booked = self.call(
                "confirm_booking",
                p_hold_id=hold_id,
                p_customer_id=customer,
                p_payment_authorisation=self.reference("auth") if guaranteed else None,
                p_origin=origin,
            )
            if booked:
                self.counts["bookings"] += 1
                self.plan_future(booked[0]["reservation_id"], day, arrival, plan_no)
        if abandoned:
            self.counts["holds abandoned"] += abandoned
            self.at(hotel, day, 13, 10)  # past the 180 s hold TTL
            self.counts["holds expired"] += self.value("expire_holds", p_hotel_id=hotel.id) or 0

    def plan_future(self, rid: int, day: date, arrival: date, plan_no: int) -> None:
        """What this booking will do: be cancelled, be modified, not show up, or simply come."""
        lead = (arrival - day).days
        x = self.rng.random()
        cancel_p = 0.05 if plan_no == 1 else 0.16  # non-refundable bookings are rarely cancelled
        if x < cancel_p and lead >= 1:
            when = day + timedelta(days=self.rng.randint(1, lead))
            self.cancel_on.setdefault(when, []).append(rid)
        elif x < cancel_p + 0.06 and lead >= 2:
            when = day + timedelta(days=self.rng.randint(1, lead - 1))
            self.modify_on.setdefault(when, []).append(rid)
        elif x < cancel_p + 0.09:
            self.no_shows.add(rid)

    def http_checkout(
        self, hotel: Hotel, room_type: tuple, plan_no: int, arrival: date, departure: date
    ) -> None:
        rt_id = room_type[0]
        rp_id = hotel.rate_plans[rt_id][plan_no]
        quote = self.call(
            "quote",
            p_hotel_id=hotel.id,
            p_room_type_id=rt_id,
            p_rate_plan_id=rp_id,
            p_check_in=arrival,
            p_check_out=departure,
            p_adults=1,
        )
        if not quote:
            return
        q = next(iter(quote[0].values()))
        if isinstance(q, str):
            q = json.loads(q)
        if not q.get("bookable"):
            self.counts["requests turned away (sold out)"] += 1
            return
        given, family = self.rng.choice(self.guest_names[self.locales[self.hotels.index(hotel)]])
        n = self.rng.randrange(4000)
        token = "tok_decline" if self.rng.random() < 0.08 else "tok_demo"
        order = self.order_type(
            hotel_id=hotel.id,
            room_type_id=rt_id,
            check_in=arrival,
            check_out=departure,
            adults=1,
            children=0,
            rooms=1,
            rate_plan_id=rp_id,
            guest={
                "given_name": given,
                "family_name": family,
                "email": f"web{n:05d}.{self.spec.seed}@example.net",
                "phone": None,
            },
            card_token=token,
            amount=Decimal(str(q["total"])),
            currency=hotel.currency,
        )
        self.refs += 1
        outcome = self.saga.run(None, order, request_id=f"demo-{self.spec.seed}-{self.refs}")
        body = json.loads(outcome.body)
        if outcome.status == 201:
            self.counts["HTTP checkouts"] += 1
            self.counts["bookings"] += 1
            rid = self.rows(
                "select id from core.reservations where confirmation_code = %s",
                [body["data"].get("confirmationNumber")],
            )
            if rid:
                self.plan_future(rid[0][0], arrival - timedelta(days=1), arrival, plan_no)
        else:
            self.counts[f"HTTP checkouts refused ({body.get('error', {}).get('code', outcome.status)})"] += 1

    def changes(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 14)
        for rid in self.due(self.cancel_on, hotel, day):
            reason = self.rng.choice(("change of plans", "found a cheaper rate", "illness", "trip cancelled"))
            done = self.call("cancel_reservation", p_reservation_id=rid, p_reason=reason)
            if done:
                self.counts["cancellations"] += 1
                self.counts["waitlist offers"] += done[0]["waitlist_offers"]
                if done[0]["fee_amount"] > 0:
                    self.counts["cancellations with a fee"] += 1
                balance = self.rows(
                    "select balance from api.folio_balances where reservation_id = %s", [rid]
                )[0][0]
                self.settle(rid, balance, "cancellation fees collected")
        for rid in self.due(self.modify_on, hotel, day):
            row = self.rows(
                "select version, lower(stay), upper(stay) from core.reservations where id = %s", [rid]
            )[0]
            version, arrival, departure = row
            kind = self.rng.choice(("later", "longer", "shorter", "upgrade"))
            params: dict[str, Any] = {}
            if kind == "later":
                params = {
                    "p_check_in": arrival + timedelta(days=1),
                    "p_check_out": departure + timedelta(days=1),
                }
            elif kind == "longer":
                params = {"p_check_out": departure + timedelta(days=1)}
            elif kind == "shorter" and departure - arrival > timedelta(days=1):
                params = {"p_check_out": departure - timedelta(days=1)}
            else:
                current = self.rows(
                    "select room_type_id from core.reservation_rooms where reservation_id = %s"
                    " order by id limit 1",
                    [rid],
                )[0][0]
                ids = [t[0] for t in hotel.room_types]
                params = {"p_room_type_id": ids[(ids.index(current) + 1) % len(ids)]}
            if params.get("p_check_in", arrival) >= self.spec.end:
                continue
            if self.call("modify_reservation", p_reservation_id=rid, p_version=version, **params) is not None:
                self.counts["modifications"] += 1
        # offers the waitlist received (cancellations and modifications freed nights): most are taken
        for hold_id, customer in self.rows(
            """select w.offer_hold_id, w.customer_id from core.waitlist_entries w
                   join core.holds h on h.id = w.offer_hold_id
                   where w.hotel_id = %s and w.status = 'offered' and h.status = 'active' and h.expires_at > internal.now()
                   order by w.id""",
            [hotel.id],
        ):
            if self.rng.random() < 0.75:
                if (
                    self.call(
                        "confirm_booking",
                        p_hold_id=hold_id,
                        p_customer_id=customer,
                        p_origin="member",
                        p_payment_authorisation=self.reference("auth"),
                    )
                    is not None
                ):
                    self.counts["bookings"] += 1
                    self.counts["waitlist offers booked"] += 1

    def due(self, schedule: dict[date, list[int]], hotel: Hotel, day: date) -> list[int]:
        ids = schedule.get(day, [])
        if not ids:
            return []
        return [
            r
            for (r,) in self.rows(
                "select id from core.reservations where id = any(%s) and hotel_id = %s and status = 'confirmed' order by id",
                [ids, hotel.id],
            )
        ]

    def arrivals(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 16)
        for rid, customer in self.rows(
            """select id, customer_id from core.reservations
                   where hotel_id = %s and status = 'confirmed' and lower(stay) = %s order by id""",
            [hotel.id, day],
        ):
            if rid in self.no_shows:
                continue
            if self.call("check_in", p_reservation_id=rid, p_app_user="front desk") is None:
                continue
            self.counts["check-ins"] += 1
            # some members pay part of the stay with points
            if self.rng.random() < 0.08:
                balance = self.call("get_points_balance", p_customer_id=customer)
                points = (balance[0]["balance"] if balance else 0) or 0
                if points >= 200:
                    spend = min(points, self.rng.choice((200, 500, 1000)))
                    if (
                        self.call(
                            "redeem_points",
                            p_customer_id=customer,
                            p_points=spend,
                            p_reservation_id=rid,
                            p_reason="room upgrade",
                        )
                        is not None
                    ):
                        self.counts["points redemptions"] += 1

    @staticmethod
    def scale(hotel: Hotel) -> int:
        """A typical small charge in the hotel's currency."""
        return {"JPY": 1500, "KRW": 15000}.get(hotel.currency, 12)

    def guest_services(self, hotel: Hotel, day: date) -> None:
        """18:00: in-house guests order room service and spa treatments (hotel-saas orders)."""
        self.at(hotel, day, 18)
        in_house = self.rows(
            "select id from core.reservations where hotel_id = %s and status = 'checked_in' order by id",
            [hotel.id],
        )
        items = self.catalog[hotel.id]
        placed = []
        for (rid,) in in_house:
            lines = []
            if self.rng.random() < 0.22:
                dish = items[self.rng.choice(("club", "noodles"))]
                lines.append({"service_item_id": dish, "quantity": self.rng.choice((1, 1, 2, 3))})
            if self.rng.random() < 0.08:
                lines.append(
                    {"service_item_id": items[self.rng.choice(("massage", "facial"))], "quantity": 1}
                )
            if not lines:
                continue
            doc = self.value(
                "create_order",
                p_reservation_id=rid,
                p_client_key=f"demo-{day.isoformat()}-{rid}",
                p_items=Jsonb(lines),
                p_app_user="guest app",
            )
            if doc is not None:
                placed.append((rid, doc["id"]))
                self.counts["service orders"] += 1
        # the kitchen and the spa accept within minutes (a few orders are cancelled instead) and
        # deliver 15 to 60 minutes after the order; the clock only moves forward
        start = datetime.combine(day, time(18), ZoneInfo(hotel.time_zone))
        steps = []
        for n, (rid, order_id) in enumerate(placed):
            accept = start + timedelta(minutes=1 + min(n, 30))
            steps.append((accept, 0, rid, order_id))
            steps.append((accept + timedelta(minutes=self.rng.randint(15, 60)), 1, rid, order_id))
        cancelled: set[int] = set()
        for when, step, rid, order_id in sorted(steps):
            if order_id in cancelled:
                continue
            self.conn.execute("select internal.shift_clock(%s::timestamptz - now())", [when])
            if step == 0:
                if self.rng.random() < 0.04:
                    cancelled.add(order_id)
                    if self.call(
                        "set_order_status",
                        p_order_id=order_id,
                        p_status="cancelled",
                        p_reason="guest cancelled",
                    ):
                        self.counts["service orders cancelled"] += 1
                else:
                    self.call(
                        "set_order_status", p_order_id=order_id, p_status="accepted", p_app_user="kitchen"
                    )
                continue
            if not self.call(
                "set_order_status", p_order_id=order_id, p_status="delivered", p_app_user="kitchen"
            ):
                continue
            self.counts["service orders delivered"] += 1
            if self.rng.random() < 0.02:
                if self.call(
                    "set_order_status",
                    p_order_id=order_id,
                    p_status="cancelled",
                    p_reason="complaint",
                    p_app_user="duty manager",
                ):
                    self.counts["service orders reversed"] += 1
            elif self.rng.random() < 0.3:
                scores = {
                    "food": self.rating(hotel),
                    "timeliness": self.rating(hotel, -0.4),
                    "overall": self.rating(hotel),
                }
                if self.call(
                    "submit_feedback", p_reservation_id=rid, p_order_id=order_id, p_scores=Jsonb(scores)
                ):
                    self.counts["service feedback"] += 1

    def rating(self, hotel: Hotel, bias: float = 0.0) -> int:
        return max(1, min(5, round(self.rng.gauss(hotel.quality + bias, 0.8))))

    def evening(self, hotel: Hotel, day: date) -> None:
        self.at(hotel, day, 20)
        in_house = self.rows(
            "select id from core.reservations where hotel_id = %s and status = 'checked_in' order by id",
            [hotel.id],
        )
        unit = Decimal(10) ** -hotel.minor_units
        scale = self.scale(hotel)
        charges = [
            {
                "p_reservation_id": rid,
                "p_kind": "service",
                "p_amount": (Decimal(scale) * Decimal(self.rng.choice((1, 2, 2, 3, 4, 6)))).quantize(unit),
                "p_description": self.rng.choice(SERVICE_ITEMS),
                "p_app_user": "outlet",
            }
            for (rid,) in in_house
            if self.rng.random() < 0.18
        ]
        self.batch("post_charge", charges)
        self.counts["service charges"] += len(charges)
