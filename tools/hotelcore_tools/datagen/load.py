"""Loading a plan through the ledger's ``api`` functions (COPY where only volume matters), the
invariants recounted afterwards, and the dataset's figures.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg import sql

from pyapi.client import bind

from .plan import RATE_PLANS, Plan


@dataclass
class Loaded:
    """Ids of what was loaded, by plan index, and how long each step took."""

    hotel_ids: list[int] = field(default_factory=list)
    room_type_ids: list[list[int]] = field(default_factory=list)  # [hotel][room type]
    rate_plan_ids: list[list[list[int]]] = field(default_factory=list)  # [hotel][room type][plan]
    member_ids: list[int] = field(default_factory=list)
    audit_hotel_id: int | None = None
    today: dict[int, date] = field(default_factory=dict)  # hotel id -> the local today its calendar opened on
    timings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


class _NoProgress:
    """Stands in for a rich Progress when the caller wants none (tests)."""

    def add_task(self, *_a: Any, **_k: Any) -> int:
        return 0

    def advance(self, *_a: Any, **_k: Any) -> None:
        pass

    def update(self, *_a: Any, **_k: Any) -> None:
        pass


@contextmanager
def _step(loaded: Loaded, name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    loaded.timings[name] = round(time.perf_counter() - t0, 2)


def _copy_rows(conn: psycopg.Connection, statement: str, rows: Iterable[tuple]) -> None:
    with conn.cursor() as cur, cur.copy(statement) as cp:
        for row in rows:
            cp.write_row(row)


def load(url: str, plan: Plan, progress: Any = None) -> Loaded:
    """Write ``plan`` into the migrated database at ``url``; return the ids and the timings.

    ``progress`` is a rich ``Progress`` (or None for no bars).
    """
    progress = progress or _NoProgress()
    loaded = Loaded()
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn, _history_unpublished(conn):
        conn.execute("set synchronous_commit = off")
        with _step(loaded, "members"):
            _load_members(conn, plan, loaded, progress)
        with _step(loaded, "hotels"):
            _load_hotels(conn, plan, loaded, progress)
        with _step(loaded, "bookings"):
            _load_stays(conn, plan, loaded, progress)
        with _step(loaded, "layout"):
            # api.open_inventory writes each room type's nights in night order, and bookings then
            # change their counters in place (HOT updates, fillfactor 80): a search reads a room
            # type's stay from one or two pages. The one bulk update of every night's counters
            # above is not something the product does: it moves most rows off their page. Put
            # the calendar back in the order the product leaves it.
            conn.execute("cluster core.inventory using inventory_pkey")
        with _step(loaded, "analyze"):
            conn.execute("analyze")
    loaded.seconds = round(time.perf_counter() - t0, 2)
    return loaded


@contextmanager
def _history_unpublished(conn: psycopg.Connection):
    """The bulk load writes history, not news: the event triggers of the customers and
    reservations it copies in are switched off meanwhile (ALTER TABLE, as the owner: no client
    can do it), and on again afterwards."""
    triggers = conn.execute(
        """select c.relname, t.tgname from pg_trigger t
           join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'core' and c.relname in ('customers', 'reservations', 'points_ledger')
             and t.tgname like '\\_900\\_publish%%'"""
    ).fetchall()
    switch = sql.SQL("alter table core.{} {} trigger {}")
    for table, trigger in triggers:
        conn.execute(switch.format(sql.Identifier(table), sql.SQL("disable"), sql.Identifier(trigger)))
    try:
        yield
    finally:
        for table, trigger in triggers:
            conn.execute(switch.format(sql.Identifier(table), sql.SQL("enable"), sql.Identifier(trigger)))


def _load_members(conn: psycopg.Connection, plan: Plan, loaded: Loaded, progress: Any) -> None:
    """Members set-based (volume only): COPY into the customer master, ranks as of the plan."""
    task = progress.add_task("members", total=len(plan.members))
    today = date.today()
    rng = random.Random(f"{plan.spec.seed}/member-since")
    rows = []
    for m in plan.members:
        rows.append(
            (
                m.given_name,
                m.family_name,
                m.given_name_reading,
                m.family_name_reading,
                m.email,
                m.phone_e164,
                m.country_code,
                m.language,
                True,
                today - timedelta(days=rng.randrange(1, 3000)),
                m.rank_code,
                m.qualifying_stays,
            )
        )
    _copy_rows(
        conn,
        "copy core.customers (given_name, family_name, given_name_reading, family_name_reading, email, "
        "phone_e164, country_code, language, is_member, member_since, rank_code, qualifying_stays) from stdin",
        rows,
    )
    by_email = dict(
        conn.execute(
            "select email, id from core.customers where email like %s", (f"%.{plan.spec.seed}@example.com",)
        ).fetchall()
    )
    loaded.member_ids = [by_email[m.email] for m in plan.members]
    progress.advance(task, len(plan.members))


def hotel_today(conn: psycopg.Connection) -> dict[int, date]:
    """Each hotel's local 'today' as the ledger sees it (internal.now() in the hotel's time zone)."""
    return dict(
        conn.execute("select h.id, (internal.now() at time zone h.time_zone)::date from core.hotels h")
    )


def _load_stays(conn: psycopg.Connection, plan: Plan, loaded: Loaded, progress: Any) -> None:
    """The bookings already on the books, set-based (only volume matters here).

    Reservations and their room lines are inserted from one staging table priced from the
    calendar's rack rates and the rate plans; then each night's ``booked`` counter is raised by
    the lines that occupy it, from those very rows, so counters = recount by construction. A
    lane-by-lane plan (see :func:`_stays`) never puts more stays on a night than there are rooms.
    """
    task = progress.add_task("bookings", total=len(plan.stays) + 3)
    # the day each calendar opened on, not today's date again: a hotel may pass midnight meanwhile
    today = loaded.today or hotel_today(conn)
    conn.execute(
        """create temp table bench_stays (
               n bigint primary key, hotel_id bigint, room_type_id bigint, rate_plan_id bigint,
               customer_id bigint, check_in date, check_out date, adults int, origin text)"""
    )
    origins = ("member", "ota", "direct", "pms")

    def rows() -> Iterator[tuple]:
        for n, s in enumerate(plan.stays):
            hid = loaded.hotel_ids[s.hotel]
            first = today[hid] + timedelta(days=s.first_night)
            yield (
                n,
                hid,
                loaded.room_type_ids[s.hotel][s.room_type],
                loaded.rate_plan_ids[s.hotel][s.room_type][s.rate_plan],
                loaded.member_ids[s.member] if loaded.member_ids else None,
                first,
                first + timedelta(days=s.nights),
                s.adults,
                origins[n % 4],
            )
            if n % 10000 == 0:
                progress.advance(task, 10000 if n else 1)

    _copy_rows(conn, "copy bench_stays from stdin", rows())
    progress.update(task, completed=len(plan.stays))
    with conn.transaction():
        conn.execute(
            """create temp table bench_priced as
               select s.*, nextval(pg_get_serial_sequence('core.reservations', 'id')) as reservation_id,
                      p.nightly, p.subtotal, h.currency, h.tax_rate, h.prices_include_tax, c.minor_units
               from bench_stays s
               join core.hotels h on h.id = s.hotel_id
               join core.currencies c on c.code = h.currency
               cross join lateral (
                   select array_agg(round(i.rack_rate * rp.price_multiplier + rp.price_supplement, c.minor_units)
                                    order by i.night) as nightly,
                          sum(round(i.rack_rate * rp.price_multiplier + rp.price_supplement, c.minor_units)) as subtotal
                   from core.inventory i
                   join core.rate_plans rp on rp.id = s.rate_plan_id
                   where i.hotel_id = s.hotel_id and i.room_type_id = s.room_type_id
                     and i.night >= s.check_in and i.night < s.check_out
               ) p
               order by s.n"""
        )
        progress.advance(task)
        conn.execute(
            """insert into core.reservations
                   (id, hotel_id, customer_id, status, origin, stay, currency, subtotal_amount, tax_amount,
                    total_amount)
               overriding system value
               select b.reservation_id, b.hotel_id, b.customer_id, 'confirmed', b.origin::core.reservation_origin,
                      daterange(b.check_in, b.check_out), b.currency, b.subtotal, t.tax,
                      b.subtotal + case when b.prices_include_tax then 0 else t.tax end
               from bench_priced b
               cross join lateral (
                   select case when b.prices_include_tax
                               then round(b.subtotal - b.subtotal / (1 + b.tax_rate), b.minor_units)
                               else round(b.subtotal * b.tax_rate, b.minor_units) end as tax) t
               order by b.n"""
        )
        progress.advance(task)
        conn.execute(
            """insert into core.reservation_rooms
                   (reservation_id, hotel_id, room_type_id, rate_plan_id, stay, adults, status, amount, nightly)
               select b.reservation_id, b.hotel_id, b.room_type_id, b.rate_plan_id, r.stay, b.adults, r.status,
                      r.total_amount, b.nightly
               from bench_priced b join core.reservations r on r.id = b.reservation_id
               order by b.n"""
        )
        conn.execute(
            """update core.inventory i set booked = i.booked + x.n
               from (select b.hotel_id, b.room_type_id, d::date as night, count(*) as n
                     from bench_priced b, generate_series(b.check_in, b.check_out - 1, interval '1 day') d
                     group by 1, 2, 3) x
               where i.hotel_id = x.hotel_id and i.room_type_id = x.room_type_id and i.night = x.night"""
        )
        progress.advance(task)
    conn.execute("drop table bench_priced; drop table bench_stays")


# ---------------------------------------------------------------------------- invariants


def check_invariants(conn: psycopg.Connection) -> dict[str, int]:
    """The ledger's promises, recounted from the rows: no oversold night, counters = recount.

    Reads the ledger's audit views (``report.inventory_recount``, ``report.inventory_exception_recount``
    and ``report.room_block_recount`` when they exist): ``oversold_nights`` and ``drifted_nights`` must be zero.
    """
    row = conn.execute(
        """select count(*) filter (where oversold), count(*) filter (where drifted), count(*)
           from report.inventory_recount"""
    ).fetchone()
    out = {"oversold_nights": row[0], "drifted_nights": row[1], "nights_checked": row[2]}
    if conn.execute("select to_regclass('report.inventory_exception_recount') is not null").fetchone()[0]:
        # the chain search's exception nights against the flags the calendar gives now
        out["exceptions_drifted"] = conn.execute(
            "select count(*) from report.inventory_exception_recount where drifted"
        ).fetchone()[0]
    if conn.execute("select to_regclass('report.room_block_recount') is not null").fetchone()[0]:
        out["blocked_drifted"] = conn.execute(
            "select count(*) from report.room_block_recount where drifted"
        ).fetchone()[0]
    return out


def invariants_hold(inv: dict[str, int]) -> bool:
    return all(v == 0 for k, v in inv.items() if k != "nights_checked")


def figures(conn: psycopg.Connection) -> dict[str, Any]:
    """What was loaded, as numbers that do not depend on ids or on the day: equal for equal seeds."""
    row = conn.execute(
        """select (select count(*) from core.hotels),
                  (select count(*) from core.room_types),
                  (select count(*) from core.rooms),
                  (select count(*) from core.rate_plans),
                  (select count(*) from core.holidays),
                  (select count(*) from core.customers),
                  (select count(*) from core.reservations),
                  (select count(*) from core.inventory),
                  (select coalesce(sum(booked), 0) from core.inventory),
                  (select coalesce(sum(capacity), 0) from core.inventory),
                  (select coalesce(sum(total_amount), 0) from core.reservations),
                  (select coalesce(sum(base_price), 0) from core.room_types),
                  (select string_agg(rank_code || '=' || n, ',' order by rank_code)
                     from (select rank_code, count(*) n from core.customers group by 1) r)"""
    ).fetchone()
    keys = [
        "hotels",
        "room_types",
        "rooms",
        "rate_plans",
        "holidays",
        "customers",
        "reservations",
        "inventory_nights",
        "room_nights_booked",
        "room_nights_capacity",
        "booked_amount",
        "base_prices",
        "ranks",
    ]
    out = dict(zip(keys, row, strict=True))
    for k in ("booked_amount", "base_prices"):
        out[k] = str(out[k])
    return out


def _holidays(country: str, first: date, until: date) -> list[tuple[date, str]]:
    """National holidays of ``country`` within [first, until), from the holidays library."""
    import holidays

    try:
        cal = holidays.country_holidays(country, years=range(first.year, until.year + 1))
    except NotImplementedError:
        return []
    return sorted((d, name) for d, name in cal.items() if first <= d < until)


def _load_hotels(conn: psycopg.Connection, plan: Plan, loaded: Loaded, progress: Any) -> None:
    """Hotels through the ledger's api, one transaction per hotel: the rules apply as for any user.

    Pricing rules, seasons and holidays go in before the calendar opens, so the re-pricing each
    of them triggers runs on an empty calendar; ``api.open_inventory`` then prices it once.
    """
    task = progress.add_task("hotels", total=len(plan.hotels))
    for h in plan.hotels:
        with conn.transaction(), conn.cursor() as cur:
            today = cur.execute("select (internal.now() at time zone %s)::date", (h.time_zone,)).fetchone()[0]
            until = today + timedelta(days=plan.spec.days)
            hid = cur.execute(
                *bind(
                    "create_hotel",
                    p_code=h.code,
                    p_name=h.name,
                    p_time_zone=h.time_zone,
                    p_currency=h.currency,
                    p_city=h.city,
                    p_country_code=h.country,
                    p_tax_rate=h.tax_rate,
                    p_prices_include_tax=h.prices_include_tax,
                    p_holiday_country=h.country,
                )
            ).fetchone()[0]
            loaded.hotel_ids.append(hid)
            loaded.today[hid] = today
            if h.front_desk:
                loaded.audit_hotel_id = hid
            policies = dict(
                cur.execute("select code, id from core.cancellation_policies where hotel_id = %s", (hid,))
            )
            for code, _name, _mult, free_days in RATE_PLANS:
                if free_days is not None and free_days != 1:
                    policies[code] = cur.execute(
                        *bind(
                            "create_cancellation_policy",
                            p_hotel_id=hid,
                            p_code=f"free_{free_days}d",
                            p_name=f"Free cancellation until {free_days} days before arrival",
                            p_free_until_days=free_days,
                        )
                    ).fetchone()[0]
            rt_ids = []
            for rt in h.room_types:
                rt_ids.append(
                    cur.execute(
                        *bind(
                            "create_room_type",
                            p_hotel_id=hid,
                            p_code=rt.code,
                            p_name=rt.name,
                            p_max_occupancy=rt.max_occupancy,
                            p_base_price=rt.base_price,
                            p_amenities=psycopg.types.json.Jsonb(rt.amenities),
                            p_size_sqm=rt.size_sqm,
                        )
                    ).fetchone()[0]
                )
            cur.executemany(
                "select api.create_room(p_hotel_id => %s, p_room_type_id => %s, p_number => %s, p_floor => %s)",
                [
                    (hid, rt_id, number, floor)
                    for rt, rt_id in zip(h.room_types, rt_ids, strict=True)
                    for number, floor in rt.rooms
                ],
            )
            plan_rows = []
            for rt_id in rt_ids:
                for code, name, mult, free_days in RATE_PLANS:
                    policy = (
                        policies["non_refundable"]
                        if free_days is None
                        else (policies["flexible"] if free_days == 1 else policies[code])
                    )
                    plan_rows.append((hid, rt_id, code, name, mult, code == "BB", policy))
            cur.executemany(
                """select api.create_rate_plan(p_hotel_id => %s, p_room_type_id => %s, p_code => %s, p_name => %s,
                       p_price_multiplier => %s, p_includes_breakfast => %s, p_cancellation_policy_id => %s)""",
                plan_rows,
            )
            by_type: dict[int, dict[str, int]] = {}
            for rt_id, code, rp_id in cur.execute(
                "select room_type_id, code, id from core.rate_plans where hotel_id = %s", (hid,)
            ):
                by_type.setdefault(rt_id, {})[code] = rp_id
            loaded.room_type_ids.append(rt_ids)
            loaded.rate_plan_ids.append(
                [[by_type[rt_id][code] for code, *_ in RATE_PLANS] for rt_id in rt_ids]
            )
            # pricing: weekend and holiday multipliers, seasons, length-of-stay discounts (seed 003)
            cur.execute(
                *bind("set_pricing_rule", p_hotel_id=hid, p_kind="weekend", p_multiplier=h.weekend_multiplier)
            )
            cur.execute(
                *bind("set_pricing_rule", p_hotel_id=hid, p_kind="holiday", p_multiplier=h.holiday_multiplier)
            )
            for n, (name, first, last, mult) in enumerate(h.seasons):
                season_id = cur.execute(
                    *bind(
                        "create_season",
                        p_hotel_id=hid,
                        p_code=f"S{n + 1}",
                        p_name=name,
                        p_from=today + timedelta(days=first),
                        p_until=today + timedelta(days=last),
                    )
                ).fetchone()[0]
                cur.execute(
                    *bind(
                        "set_pricing_rule",
                        p_hotel_id=hid,
                        p_kind="season",
                        p_multiplier=mult,
                        p_season_id=season_id,
                    )
                )
            for min_nights, rate in h.los_discounts:
                cur.execute(
                    *bind(
                        "set_length_of_stay_discount",
                        p_hotel_id=hid,
                        p_min_nights=min_nights,
                        p_discount_rate=rate,
                    )
                )
            days = _holidays(h.country, today, until)
            if days:
                cur.execute(
                    *bind(
                        "add_holidays",
                        p_hotel_id=hid,
                        p_days=[d for d, _ in days],
                        p_names=[n for _, n in days],
                    )
                )
            cur.execute(*bind("open_inventory", p_hotel_id=hid, p_from=today, p_until=until))
        progress.advance(task)
