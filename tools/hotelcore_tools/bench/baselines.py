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
