"""The two baselines measured beside every workload: seed 003's textbook booking transaction on
a copy of the same calendar, and pgbench's ``tpcb-like`` transaction (the machine's limit for a
small write transaction).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from pyapi import server as srv
from pyapi.errors import Registry

from .dataset import BookingRequest
from .harness import PGBENCH_DB, MemorySampler, Result, summarize

# ============================================================================ baselines

TEXTBOOK_DDL = """
drop schema if exists bench cascade;
create schema bench;
-- seed 003's room_availability: one row per room type and night with its own counter
create table bench.room_availability (
    hotel_id          bigint not null,
    room_type_id      bigint not null,
    availability_date date not null,
    total_capacity    integer not null,
    reserved_count    integer not null default 0,
    is_closed         boolean not null default false,
    primary key (room_type_id, availability_date)
);
-- seed 003's reservations
create table bench.reservations (
    id                 bigint generated always as identity primary key,
    user_id            bigint not null,
    hotel_id           bigint not null,
    room_type_id       bigint not null,
    check_in_date      date not null,
    check_out_date     date not null,
    num_guests         integer not null,
    total_price        numeric(12, 2) not null,
    reservation_status text not null default 'confirmed',
    created_at         timestamptz not null default now()
);
create index on bench.reservations (room_type_id, check_in_date, check_out_date);
"""


def textbook_setup(conn: psycopg.Connection) -> int:
    """Create the baseline's tables and copy the calendar into them; return the rows copied."""
    conn.execute(TEXTBOOK_DDL)
    cur = conn.execute(
        """insert into bench.room_availability
               (hotel_id, room_type_id, availability_date, total_capacity, reserved_count, is_closed)
           select i.hotel_id, i.room_type_id, i.night, i.capacity - i.blocked, i.held + i.booked, i.stop_sell
           from core.inventory i"""
    )
    conn.execute("vacuum analyze bench.room_availability")
    Refused.sqlstate = Registry.load(conn).sqlstate("INVENTORY_UNAVAILABLE")
    return cur.rowcount


def textbook_book(conn: psycopg.Connection, req: BookingRequest) -> bool:
    """Seed 003's booking transaction: lock the nights, check them, insert, bump the counters."""
    with conn.transaction():
        rows = conn.execute(
            """select availability_date, total_capacity, reserved_count
               from bench.room_availability
               where room_type_id = %s and availability_date >= %s and availability_date < %s
                 and not is_closed
               order by availability_date
               for update""",
            (req.room_type_id, req.check_in, req.check_out),
        ).fetchall()
        if len(rows) != req.nights or any(r[2] >= r[1] for r in rows):
            raise Refused("INVENTORY_UNAVAILABLE")
        conn.execute(
            """insert into bench.reservations
                   (user_id, hotel_id, room_type_id, check_in_date, check_out_date, num_guests, total_price)
               values (%s, %s, %s, %s, %s, %s, %s)""",
            (
                req.customer_id,
                req.hotel_id,
                req.room_type_id,
                req.check_in,
                req.check_out,
                req.adults,
                req.nights * 100,
            ),
        )
        conn.execute(
            """update bench.room_availability set reserved_count = reserved_count + 1
               where room_type_id = %s and availability_date >= %s and availability_date < %s""",
            (req.room_type_id, req.check_in, req.check_out),
        )
    return True


def textbook_check(conn: psycopg.Connection) -> dict[str, Any]:
    oversold, mismatched = conn.execute(
        """with booked as (
               select r.room_type_id, d::date as night, count(*) as n
               from bench.reservations r,
                    generate_series(r.check_in_date, r.check_out_date - 1, interval '1 day') d
               group by 1, 2)
           select count(*) filter (where a.reserved_count > a.total_capacity),
                  (select count(*) from booked b join bench.room_availability a2
                     on a2.room_type_id = b.room_type_id and a2.availability_date = b.night
                   where b.n > a2.reserved_count)
           from bench.room_availability a"""
    ).fetchone()
    return {"oversold_nights": oversold, "counter_below_recount": mismatched}


# ============================================================================ a confirmation's floor

CONFIRM_FLOOR_SCHEMA = "bench_confirm_floor"
# the tables a confirmation writes a row of (or updates): copies with the same indexes and nothing
# else (no trigger, foreign key, check, default calling a function, row-level security)
CONFIRM_FLOOR_TABLES = (
    "inventory",
    "holds",
    "reservations",
    "reservation_rooms",
    "confirmation_codes",
    "folios",
    "reservation_changes",
    "event_streams",
    "events",
    "audit_log",
)
CONFIRM_FLOOR_HOLDS = 200_000  # hold rows to confirm, each once (they are reused past that)


def confirm_floor_setup(conn: psycopg.Connection) -> int:
    """Create the floor's tables, copy the calendar's counters into them and add hold rows to confirm."""
    schema = sql.Identifier(CONFIRM_FLOOR_SCHEMA)
    conn.execute(sql.SQL("drop schema if exists {s} cascade; create schema {s}").format(s=schema))
    for table in CONFIRM_FLOOR_TABLES:
        conn.execute(
            sql.SQL("create table {} (like {} including identity including indexes)").format(
                sql.Identifier(CONFIRM_FLOOR_SCHEMA, table), sql.Identifier("core", table)
            )
        )
    conn.execute(sql.SQL("create sequence {}.codes").format(schema))
    cur = conn.execute(sql.SQL("insert into {}.inventory select * from core.inventory").format(schema))
    conn.execute(
        sql.SQL(
            """insert into {}.holds (hotel_id, status, currency, total_amount, quote, created_at, expires_at)
               select 1, 'active', 'JPY', 100, '{{}}', now(), now() + interval '1 hour'
               from generate_series(1, %s)"""
        ).format(schema),
        (CONFIRM_FLOOR_HOLDS,),
    )
    for table in CONFIRM_FLOOR_TABLES:
        conn.execute(sql.SQL("vacuum analyze {}").format(sql.Identifier(CONFIRM_FLOOR_SCHEMA, table)))
    return cur.rowcount


# One statement, so one round trip as api.confirm_booking is: the night counters (held becomes
# booked), the hold, the reservation, its room line, its chain-wide confirmation code, its folio,
# its first version's document, its event stream and two events, and its audit row.
CONFIRM_FLOOR_SQL = sql.SQL(
    """with nights as (
           update {s}.inventory i set held = i.held - 1, booked = i.booked + 1
           where i.hotel_id = %(hotel_id)s and i.room_type_id = %(room_type_id)s
             and i.night >= %(check_in)s and i.night < %(check_out)s
           returning 1),
       hold as (
           update {s}.holds h set status = 'confirmed', ended_at = now()
           where h.hotel_id = 1 and h.id = %(hold_id)s
           returning h.id),
       reservation as (
           insert into {s}.reservations (hotel_id, customer_id, confirmation_code, status, origin, stay, currency,
                                         subtotal_amount, discount_amount, tax_amount, total_amount, hold_id,
                                         payment_authorisation, version, created_at, updated_at)
           values (%(hotel_id)s, %(customer_id)s, 'F' || nextval('{s}.codes'), 'confirmed', 'member',
                   daterange(%(check_in)s, %(check_out)s), 'JPY', %(amount)s, 0, 0, %(amount)s, %(hold_id)s,
                   %(authorisation)s, 1, now(), now())
           returning id, hotel_id, confirmation_code, customer_id),
       line as (
           insert into {s}.reservation_rooms (reservation_id, hotel_id, room_type_id, rate_plan_id, stay, adults,
                                              children, status, amount, nightly, created_at)
           select r.id, r.hotel_id, %(room_type_id)s, %(rate_plan_id)s, daterange(%(check_in)s, %(check_out)s),
                  %(adults)s, 0, 'confirmed', %(amount)s, %(nightly)s, now()
           from reservation r),
       code as (
           insert into {s}.confirmation_codes (confirmation_code, hotel_id, reservation_id)
           select r.confirmation_code, r.hotel_id, r.id from reservation r),
       folio as (
           insert into {s}.folios (hotel_id, reservation_id, currency, opened_at)
           select r.hotel_id, r.id, 'JPY', now() from reservation r),
       history as (
           insert into {s}.reservation_changes (hotel_id, reservation_id, version, system, changed_at, document, changes)
           select r.hotel_id, r.id, 1, 'core', now(), %(document)s, '{{}}' from reservation r),
       stream as (
           insert into {s}.event_streams as x (aggregate_kind, aggregate_id, last_seq, last_order_xid)
           select 'reservation', r.id::text, 2, pg_current_xact_id() from reservation r
           on conflict (aggregate_kind, aggregate_id) do update
               set last_seq = x.last_seq + 2, last_order_xid = greatest(x.last_order_xid, pg_current_xact_id())
           returning x.aggregate_id, x.last_seq, x.last_order_xid),
       events as (
           insert into {s}.events (event_id, type, aggregate_kind, aggregate_id, aggregate_seq, hotel_id,
                                   schema_version, payload, occurred_at, txid, order_xid, login_role, recorded_at)
           select 'evt_' || replace(gen_random_uuid()::text, '-', ''), e.type, 'reservation', t.aggregate_id,
                  t.last_seq - 2 + e.n, %(hotel_id)s, 1,
                  %(payload)s || jsonb_build_object('reservation_id', t.aggregate_id),
                  now(), pg_current_xact_id(), t.last_order_xid, session_user, now()
           from stream t, unnest(array['reservation.created', 'reservation.confirmed']) with ordinality as e(type, n)),
       audit as (
           insert into {s}.audit_log (at, entity, entity_id, hotel_id, action, changed, db_role, login_role)
           select now(), 'reservation', r.id, r.hotel_id, 'insert', '{{}}', current_user, session_user
           from reservation r)
       select (select count(*) from nights), (select id from reservation)"""
).format(s=sql.Identifier(CONFIRM_FLOOR_SCHEMA))


def confirm_floor(conn: psycopg.Connection, req: BookingRequest, hold_id: int) -> None:
    """The rows a confirmation writes, in plain SQL: what the machine allows for them."""
    amount = req.nights * 100
    conn.execute(
        CONFIRM_FLOOR_SQL,
        {
            "hotel_id": req.hotel_id,
            "room_type_id": req.room_type_id,
            "rate_plan_id": req.rate_plan_id,
            "customer_id": req.customer_id,
            "check_in": req.check_in,
            "check_out": req.check_out,
            "adults": req.adults,
            "amount": amount,
            "nightly": [100] * req.nights,
            "hold_id": (hold_id - 1) % CONFIRM_FLOOR_HOLDS + 1,
            "authorisation": f"bench-auth-{hold_id}",
            # a document and a payload of the size the real ones have
            "document": Jsonb(
                {
                    "stay": f"[{req.check_in},{req.check_out})",
                    "room_type_id": req.room_type_id,
                    "rate_plan_id": req.rate_plan_id,
                    "adults": req.adults,
                    "children": 0,
                    "special_requests": None,
                    "total_amount": amount,
                    "currency": "JPY",
                }
            ),
            "payload": Jsonb(
                {
                    "confirmation_code": "F0000000000",
                    "customer_id": req.customer_id,
                    "status": "confirmed",
                    "origin": "member",
                    "check_in": str(req.check_in),
                    "check_out": str(req.check_out),
                    "currency": "JPY",
                    "total_amount": amount,
                    "version": 1,
                    "rooms": 1,
                    "room_numbers": [],
                }
            ),
        },
    ).fetchone()


class Refused(psycopg.Error):
    """A refusal decided by the client (the textbook baseline checks availability in the client),
    counted as INVENTORY_UNAVAILABLE: its SQLSTATE is read from the registry by textbook_setup."""

    sqlstate: str | None = None


def _pgbench_log_latencies(log_dir: Path) -> list[float]:
    """Per-transaction latencies (seconds) from pgbench -l logs: the third column, in µs."""
    out: list[float] = []
    for path in log_dir.glob("pgbench_log*"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():
                out.append(int(parts[2]) / 1e6)
    return out


def pgbench_baseline(server_url: str, clients: int, duration: float, scale: int) -> Result:
    """pgbench's built-in tpcb-like on a small scale in its own database (dropped afterwards)."""
    binary = srv.pgbench_binary()
    if binary is None:
        return Result(name="pgbench tpcb-like", clients=clients, skipped=True, note="no pgbench binary found")
    url = srv.recreate_database(server_url, PGBENCH_DB)
    try:
        init = subprocess.run([binary, "-i", "-q", "-s", str(scale), url], capture_output=True, text=True)
        if init.returncode != 0:
            return Result(
                name="pgbench tpcb-like",
                clients=clients,
                skipped=True,
                note=f"pgbench -i failed: {init.stderr.strip().splitlines()[-1:]}",
            )
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                binary,
                "-n",
                "-M",
                "prepared",
                "-c",
                str(clients),
                "-j",
                str(min(clients, os.cpu_count() or 1)),
                "-T",
                str(max(1, round(duration))),
                "-l",
                "--log-prefix",
                str(Path(tmp) / "pgbench_log"),
                url,
            ]
            with MemorySampler([]) as _:
                run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                return Result(
                    name="pgbench tpcb-like",
                    clients=clients,
                    skipped=True,
                    note=f"pgbench failed: {run.stderr.strip().splitlines()[-1:]}",
                )
            lat = _pgbench_log_latencies(Path(tmp))
        tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", run.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", run.stdout)
        seconds = len(lat) / float(tps.group(1)) if tps and float(tps.group(1)) > 0 else float(duration)
        res = summarize(
            "pgbench tpcb-like", clients, lat, seconds, len(lat), 0, int(failed.group(1)) if failed else 0
        )
        if tps:
            res.throughput = float(tps.group(1))
        res.note = f"scale {scale}, prepared protocol; the machine's limit for a small write transaction"
        return res
    finally:
        srv.drop_database(server_url, PGBENCH_DB)
