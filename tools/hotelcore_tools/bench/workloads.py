"""The workloads of the ``api``: searches, holds, bookings, the front desk, loyalty, each with its
target and the baseline it is compared with.
"""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from pyapi.client import bind

from .baselines import confirm_floor, confirm_floor_setup, textbook_book, textbook_check, textbook_setup
from .dataset import (
    Ctx,
    Items,
    RunSettings,
    _has_function,
    _invariants,
    _p95_under,
    _rank_trigger,
    _service_invariants,
)
from .harness import Exhausted, Workload


def build_workloads(url: str, ctx: Ctx, settings: RunSettings) -> list[Workload]:
    """Every workload of the run, in order; later ones consume what earlier ones produced."""
    with psycopg.connect(url, autocommit=True) as conn:
        have = {
            name: _has_function(conn, name)
            for name in (
                "search_availability",
                "search_city_availability",
                "quote",
                "create_hold",
                "confirm_booking",
                "modify_reservation",
                "cancel_reservation",
                "check_in",
                "check_out",
                "run_night_audit",
                "authorise_payment",
                "create_order",
                "set_order_status",
                "update_customer",
            )
        }
        rank_trigger = _rank_trigger(conn)
    chain_ids = [h.id for h in ctx.hotels]
    holds = Items()
    booked = Items()  # (reservation_id, version, request) from confirm / hold+confirm
    wls: list[Workload] = []

    def search_one(conn, i, rng):
        h = rng.choice(ctx.hotels)
        ci = h.today + timedelta(days=rng.randrange(1, max(2, ctx.days - 31)))
        conn.execute(
            *bind(
                "search_availability",
                p_hotel_id=h.id,
                p_check_in=ci,
                p_check_out=ci + timedelta(days=30),
                p_adults=2,
            )
        ).fetchall()

    def search_one_floor(conn, i, rng):
        # the least the one-hotel search does: read the stay's inventory rows (and the departure
        # day's) of every active room type of the hotel; no aggregation, no prices
        h = rng.choice(ctx.hotels)
        ci = h.today + timedelta(days=rng.randrange(1, max(2, ctx.days - 31)))
        conn.execute(
            """select count(*) from core.room_types rt
               join core.inventory i on i.hotel_id = rt.hotel_id and i.room_type_id = rt.id
                                    and i.night >= %s and i.night <= %s
               where rt.hotel_id = %s and rt.active""",
            (ci, ci + timedelta(days=30), h.id),
        ).fetchall()

    def chain_check_in(rng, nights):
        # an arrival every hotel of the chain still sells, with the stay inside the calendar
        return max(h.today for h in ctx.hotels) + timedelta(
            days=rng.randrange(1, max(2, ctx.days - nights - 1))
        )

    def search_city(nights, rooms=1):
        def op(conn, i, rng):
            ci = chain_check_in(rng, nights)
            conn.execute(
                *bind(
                    "search_city_availability",
                    p_city=None,
                    p_check_in=ci,
                    p_check_out=ci + timedelta(days=nights),
                    p_adults=2,
                    p_rooms=rooms,
                    p_hotel_ids=chain_ids,
                )
            ).fetchall()

        return op

    def search_city_floor(nights):
        # the least any chain search does: read every night of the stay of every active room type of
        # the hotels (counters, restrictions and rates live on those rows); no aggregation, no prices
        def op(conn, i, rng):
            ci = chain_check_in(rng, nights)
            conn.execute(
                """select count(*) from core.room_types rt
                   join core.inventory i on i.hotel_id = rt.hotel_id and i.room_type_id = rt.id
                                        and i.night >= %s and i.night <= %s
                   where rt.hotel_id = any(%s) and rt.active""",
                (ci, ci + timedelta(days=nights), chain_ids),
            ).fetchall()

        return op

    def quote(conn, i, rng):
        r = ctx.request(rng)
        conn.execute(
            *bind(
                "quote",
                p_hotel_id=r.hotel_id,
                p_room_type_id=r.room_type_id,
                p_rate_plan_id=r.rate_plan_id,
                p_check_in=r.check_in,
                p_check_out=r.check_out,
                p_adults=r.adults,
            )
        ).fetchone()

    def textbook(conn, i, rng):
        textbook_book(conn, ctx.request(rng))

    floor_holds = itertools.count(1)

    def confirm_floor_op(conn, i, rng):
        confirm_floor(conn, ctx.request(rng), next(floor_holds))

    def create_hold(conn, i, rng):
        r = ctx.request(rng)
        row = conn.execute(
            *bind(
                "create_hold",
                columns=("hold_id",),
                p_hotel_id=r.hotel_id,
                p_room_type_id=r.room_type_id,
                p_rate_plan_id=r.rate_plan_id,
                p_check_in=r.check_in,
                p_check_out=r.check_out,
                p_rooms=1,
                p_adults=r.adults,
                p_customer_id=r.customer_id,
            )
        ).fetchone()
        holds.put((row[0], r))

    def confirm(conn, i, rng):
        hold_id, r = holds.take()
        row = conn.execute(
            *bind(
                "confirm_booking",
                columns=("reservation_id", "version"),
                p_hold_id=hold_id,
                p_customer_id=r.customer_id,
                p_payment_authorisation=f"bench-auth-{hold_id}",
                p_origin="member",
            )
        ).fetchone()
        booked.put((row[0], row[1], r))

    def hold_and_confirm(conn, i, rng):
        r = ctx.request(rng)
        hold_id = conn.execute(
            *bind(
                "create_hold",
                columns=("hold_id",),
                p_hotel_id=r.hotel_id,
                p_room_type_id=r.room_type_id,
                p_rate_plan_id=r.rate_plan_id,
                p_check_in=r.check_in,
                p_check_out=r.check_out,
                p_rooms=1,
                p_adults=r.adults,
                p_customer_id=r.customer_id,
            )
        ).fetchone()[0]
        row = conn.execute(
            *bind(
                "confirm_booking",
                columns=("reservation_id", "version"),
                p_hold_id=hold_id,
                p_customer_id=r.customer_id,
                p_payment_authorisation=f"bench-auth-{hold_id}",
                p_origin="member",
            )
        ).fetchone()
        booked.put((row[0], row[1], r))

    def modify(conn, i, rng):
        res_id, version, r = booked.take()
        shift = timedelta(days=1)  # one night later: still inside the calendar (see Ctx.request)
        conn.execute(
            *bind(
                "modify_reservation",
                p_reservation_id=res_id,
                p_version=version,
                p_check_in=r.check_in + shift,
                p_check_out=r.check_out + shift,
            )
        ).fetchone()

    cancels = Items()

    def prepare_cancels(conn):
        rows = conn.execute(
            """select r.id, r.version from core.reservations r
               join core.hotels h on h.id = r.hotel_id
               where r.status = 'confirmed' and r.hotel_id = any(%s)
                 and lower(r.stay) > (internal.now() at time zone h.time_zone)::date + 2
               order by r.id""",
            (chain_ids,),
        ).fetchall()
        rng = random.Random(f"{settings.seed}/cancel")
        for row in rng.sample(rows, min(len(rows), 50000)):
            cancels.put(row)

    def cancel(conn, i, rng):
        res_id, version = cancels.take()
        conn.execute(
            *bind("cancel_reservation", p_reservation_id=res_id, p_version=version, p_reason="bench")
        ).fetchone()

    arrivals_audit, arrivals_chain = Items(), Items()

    def prepare_arrivals(conn):
        for rid, hid in conn.execute(
            """select r.id, r.hotel_id from core.reservations r join core.hotels h on h.id = r.hotel_id
               where r.status = 'confirmed' and lower(r.stay) = (internal.now() at time zone h.time_zone)::date
               order by r.id"""
        ):
            (arrivals_audit if ctx.audit_hotel and hid == ctx.audit_hotel.id else arrivals_chain).put(rid)

    def check_in(items):
        def op(conn, i, rng):
            conn.execute(*bind("check_in", p_reservation_id=items.take())).fetchall()

        return op

    # guest services: a room-service item per chain hotel; each operation is one order's life
    # (ordered, accepted, delivered: the delivery posts its charges to the folio) for a stay in house
    service_stays: list[tuple[int, int]] = []
    service_items: dict[int, int] = {}
    order_keys = itertools.count(1)

    def prepare_services(conn):
        for h in ctx.hotels:
            service_items[h.id] = conn.execute(
                "select coalesce((select id from core.service_items where hotel_id = %s and code = 'bench-club'),"
                " api.create_service_item(%s, 'room_service', 'bench-club', 'Club sandwich', 20))",
                (h.id, h.id),
            ).fetchone()[0]
        # stays in house: those the check-in workloads made, else today's arrivals checked in here
        if not conn.execute(
            "select exists (select 1 from core.reservations where status = 'checked_in' and hotel_id = any(%s))",
            (chain_ids,),
        ).fetchone()[0]:
            for (rid,) in conn.execute(
                """select r.id from core.reservations r join core.hotels h on h.id = r.hotel_id
                   where r.status = 'confirmed' and r.hotel_id = any(%s)
                     and lower(r.stay) = (internal.now() at time zone h.time_zone)::date
                   order by r.id limit 400""",
                (chain_ids,),
            ).fetchall():
                try:
                    conn.execute(*bind("check_in", p_reservation_id=rid)).fetchall()
                except psycopg.Error:
                    pass  # no ready room for it: another arrival will do
        service_stays.extend(
            conn.execute(
                "select id, hotel_id from core.reservations where status = 'checked_in' and hotel_id = any(%s) order by id",
                (chain_ids,),
            ).fetchall()
        )

    def service_order(conn, i, rng):
        if not service_stays:
            raise Exhausted
        rid, hid = rng.choice(service_stays)
        items = Jsonb([{"service_item_id": service_items[hid], "quantity": rng.randint(1, 3)}])
        order_id = conn.execute(
            "select (api.create_order(%s, %s, %s) ->> 'id')::bigint",
            (rid, f"bench-{i}-{next(order_keys)}", items),
        ).fetchone()[0]
        conn.execute(*bind("set_order_status", p_order_id=order_id, p_status="accepted"))
        conn.execute(*bind("set_order_status", p_order_id=order_id, p_status="delivered"))

    audits = Items()

    def prepare_audits(conn):
        for hid, day in conn.execute(
            """select h.id, coalesce(h.business_date, (internal.now() at time zone h.time_zone)::date)
               from core.hotels h where h.id = any(%s) order by h.id""",
            (chain_ids,),
        ):
            audits.put((hid, day))

    def night_audit_op(items):
        def op(conn, i, rng):
            hid, day = items.take()
            conn.execute(*bind("run_night_audit", p_hotel_id=hid, p_business_date=day)).fetchone()

        return op

    audit_one = Items()

    def prepare_audit_one(conn):
        if ctx.audit_hotel:
            audit_one.put(
                conn.execute(
                    """select h.id, coalesce(h.business_date, (internal.now() at time zone h.time_zone)::date)
                   from core.hotels h where h.id = %s""",
                    (ctx.audit_hotel.id,),
                ).fetchone()
            )

    out_with, out_without = Items(), Items()

    def prepare_checkouts(conn):
        """Settle the folios of every in-house stay (untimed): a captured card payment of the balance."""
        rows = conn.execute(
            """select r.id, b.balance, b.currency from core.reservations r
               join api.folio_balances b on b.reservation_id = r.id
               where r.status = 'checked_in' order by r.id"""
        ).fetchall()
        with conn.cursor() as cur:
            cur.executemany(
                "select api.authorise_payment(%s, 'card', %s, %s, %s, true)",
                [(rid, bal, f"bench-pay-{rid}", cur_) for rid, bal, cur_ in rows if bal > 0],
            )
        for n, (rid, _bal, _c) in enumerate(rows):
            (out_with if n % 2 == 0 else out_without).put(rid)

    def check_out(items):
        def op(conn, i, rng):
            conn.execute(*bind("check_out", p_reservation_id=items.take())).fetchone()

        return op

    def trigger(enable: bool):
        def fn(conn):
            if rank_trigger:
                conn.execute(
                    sql.SQL("alter table core.reservations {} trigger {}").format(
                        sql.SQL("enable" if enable else "disable"), sql.Identifier(rank_trigger)
                    )
                )

        return fn

    def missing(*names):
        gone = [n for n in names if not have.get(n)]
        return f"api.{', api.'.join(gone)} not found: skipped" if gone else None

    W = Workload
    # latency targets are read at one client (no queueing behind the other clients on a small
    # machine); throughput at the run's client count
    n = len(chain_ids)
    for clients in (
        (1, None) if not settings.quick else (1,)
    ):  # --quick: latency only, the 16-client city search is slow
        one = clients == 1
        suffix = ", 1 client" if one else ""
        wls.append(
            W(
                f"search, 1 hotel, 30 nights{suffix}",
                search_one,
                clients=clients,
                target="p95 ≤ 2 ms" if one else None,
                target_fn=_p95_under(2) if one else None,
                skip=missing("search_availability"),
            )
        )
        if one:
            wls.append(
                W(
                    f"search floor, 1 hotel, 30 nights{suffix}",
                    search_one_floor,
                    clients=clients,
                    group="baseline",
                    note="the stay's inventory rows of the hotel's room types read, nothing computed",
                    floor_of=f"search, 1 hotel, 30 nights{suffix}",
                )
            )
        for nights in (30, 2):
            # a short stay, the common city search, is held to 20 ms; a month's stay to 50 ms
            city_ms = 20 if nights == 2 else 50
            wls.append(
                W(
                    f"search, {n} hotels, {nights} nights{suffix}",
                    search_city(nights),
                    clients=clients,
                    target=f"p95 ≤ {city_ms} ms" if one else None,
                    target_fn=_p95_under(city_ms) if one else None,
                    skip=missing("search_city_availability"),
                )
            )
            if one and nights == 2:
                # several rooms: not answered from the exception nights, every night of the stay is read
                wls.append(
                    W(
                        f"search, {n} hotels, {nights} nights, 2 rooms{suffix}",
                        search_city(nights, rooms=2),
                        clients=clients,
                        skip=missing("search_city_availability"),
                    )
                )
            if one:
                wls.append(
                    W(
                        f"search floor, {n} hotels, {nights} nights{suffix}",
                        search_city_floor(nights),
                        clients=clients,
                        group="baseline",
                        note="the stay's inventory rows of every room type read, nothing computed",
                        floor_of=f"search, {n} hotels, {nights} nights{suffix}",
                    )
                )
    wls.append(W("quote", quote, skip=missing("quote")))
    wls.append(
        W(
            "textbook booking (seed 003)",
            textbook,
            group="baseline",
            check=textbook_check,
            setup=textbook_setup,
        )
    )
    wls.append(
        W(
            "confirm floor: a confirmation's rows in plain SQL",
            confirm_floor_op,
            group="baseline",
            setup=confirm_floor_setup,
            floor_of="confirm_booking",
            note="one statement on copies of the tables (same indexes; no trigger, foreign key, check or "
            "row-level security): night counters, hold, reservation, room line, confirmation code, folio, "
            "history document, event stream, two events, audit row",
        )
    )
    wls.append(W("create_hold", create_hold, check=_invariants, skip=missing("create_hold")))
    wls.append(
        W(
            "confirm_booking",
            confirm,
            check=_invariants,
            target="≥ 1.0 × textbook",
            target_fn=lambda r: r.vs_textbook is not None and r.vs_textbook >= 1.0,
            skip=missing("confirm_booking"),
        )
    )
    wls.append(
        W(
            "hold + confirm",
            hold_and_confirm,
            check=_invariants,
            target="≥ 0.5 × textbook",
            target_fn=lambda r: r.vs_textbook is not None and r.vs_textbook >= 0.5,
            skip=missing("create_hold", "confirm_booking"),
        )
    )
    wls.append(W("modify_reservation", modify, check=_invariants, skip=missing("modify_reservation")))
    wls.append(
        W(
            "cancel_reservation",
            cancel,
            setup=prepare_cancels,
            check=_invariants,
            skip=missing("cancel_reservation"),
        )
    )
    wls.append(
        W(
            "check-in, 300-room hotel",
            check_in(arrivals_audit),
            setup=prepare_arrivals,
            check=_invariants,
            skip=missing("check_in"),
        )
    )
    wls.append(
        W("check-in, chain hotels", check_in(arrivals_chain), check=_invariants, skip=missing("check_in"))
    )
    wls.append(
        W(
            "service order (order, accept, deliver), chain hotels",
            service_order,
            setup=prepare_services,
            check=_service_invariants,
            note="three api calls per operation; the delivery posts service and tax lines to the folio",
            skip=missing("create_order", "set_order_status"),
        )
    )
    wls.append(
        W(
            "night audit, 300-room hotel",
            night_audit_op(audit_one),
            clients=1,
            setup=prepare_audit_one,
            target="≤ 2 s",
            target_fn=lambda r: r.max_ms <= 2000,
            check=_invariants,
            skip=missing("run_night_audit"),
        )
    )
    wls.append(
        W(
            "night audit, chain hotels",
            night_audit_op(audits),
            clients=1,
            setup=prepare_audits,
            check=_invariants,
            skip=missing("run_night_audit"),
        )
    )
    wls.append(
        W(
            "check-out, rank trigger on",
            check_out(out_with),
            setup=prepare_checkouts,
            check=_invariants,
            skip=missing("check_out", "authorise_payment"),
        )
    )
    wls.append(
        W(
            "check-out, rank trigger off",
            check_out(out_without),
            setup=trigger(False),
            teardown=trigger(True),
            check=_invariants,
            skip=missing("check_out") or (None if rank_trigger else "no rank trigger found"),
        )
    )

    # customer writes (seed 000 optimistic lock): the textbook version-checked UPDATE, the api's
    # write (history row by trigger), and a stale write judged by the conflict rules
    def customer_textbook(conn, i, rng):
        cid = rng.choice(ctx.member_ids)
        with conn.transaction():
            version = conn.execute("select version from core.customers where id = %s", (cid,)).fetchone()[0]
            conn.execute(
                "update core.customers set address_line2 = %s, version = version + 1, updated_at = now()"
                " where id = %s and version = %s",
                (f"bench {i}-{rng.random():.6f}", cid, version),
            )

    def customer_api(conn, i, rng):
        cid = rng.choice(ctx.member_ids)
        conn.execute(
            "select api.update_customer(%s, (select version from core.customers where id = %s),"
            " jsonb_build_object('address_line2', %s::text))",
            (cid, cid, f"bench {i}-{rng.random():.6f}"),
        )

    def customer_stale(conn, i, rng):
        # an up-to-date write, then one based on the version before it (a disjoint field: merged)
        cid = rng.choice(ctx.member_ids)
        version = conn.execute("select version from core.customers where id = %s", (cid,)).fetchone()[0]
        conn.execute(
            "select api.update_customer(%s, %s, jsonb_build_object('address_line2', %s::text))",
            (cid, version, f"bench {i}-{rng.random():.6f}"),
        )
        conn.execute(
            "select api.update_customer(%s, %s, jsonb_build_object('postal_code', %s::text))",
            (cid, version, f"{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}"),
        )

    wls.append(
        W(
            "customer update, textbook (version-checked UPDATE)",
            customer_textbook,
            group="baseline",
            floor_of="customer update, api up to date",
            note="SELECT version, UPDATE ... WHERE version = read: no history, no rules",
        )
    )
    wls.append(
        W(
            "customer update, api up to date",
            customer_api,
            skip=missing("update_customer"),
            target="p50 ≤ 2 × textbook UPDATE",
            target_fn=lambda r: r.vs_floor is not None and r.vs_floor <= 2.0,
            note="api.update_customer with the current version; the history row is written by trigger",
        )
    )
    wls.append(
        W(
            "customer update, api stale (conflict rules)",
            customer_stale,
            skip=missing("update_customer"),
            note="two writes per op: one up to date, then one on the version before it, merged by the rules",
        )
    )
    return wls
