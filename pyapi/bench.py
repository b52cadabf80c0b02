"""``hotelcore bench``: every speed target of the project, measured side by side with baselines.

The run creates its own database on the configured server (``hotelcore_bench``; the dev database
is never touched), migrates it, loads the dataset of :mod:`pyapi.datagen`, then runs each
workload from N client threads, one psycopg connection each. For every workload it reports
throughput, p50 / p95 / p99 latency, the peak memory of this process and of the server backends
serving the clients (read from ``/proc`` when the server runs on this machine), and the
invariants checked after the run (no oversold night, counters = recount).

Two baselines run in the same process so that ratios stay meaningful on a noisy machine:

* seed 003's textbook booking transaction (``SELECT ... FOR UPDATE`` on per-night counters,
  ``INSERT``, ``UPDATE``) on a copy of the same calendar, in tables of a ``bench`` schema that the
  harness creates (not the migrations);
* pgbench's built-in ``tpcb-like`` transaction on a small scale in a separate database: the
  machine's limit for a small write transaction.

Python here only drives and measures: every rule stays in the ``api`` functions it calls.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import queue
import random
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from psycopg import sql
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.table import Table

from . import config, datagen
from . import migrate as mig
from . import server as srv

BENCH_DB = "hotelcore_bench"
FLOOR_SCHEMA = "bench_floor"  # plain tables of the report views' rows: each read's floor
PGBENCH_DB = "hotelcore_bench_pgbench"
RESULTS_DIR = config.PROJECT_ROOT / "bench" / "results"

# a wide table even when the output is not a terminal (make, CI logs)
console = Console(width=None if sys.stdout.isatty() else 220)


# ============================================================================ statistics


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks.

    Same definition as numpy's default ("linear"): rank ``(n - 1) * q / 100``, interpolated.
    """
    if not samples:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Result:
    """One workload's figures. Latencies in milliseconds, memory in MiB."""

    name: str
    clients: int
    ops: int = 0  # operations that completed (ok + refused)
    ok: int = 0
    refused: int = 0  # documented refusals (SQLSTATE class HC), e.g. INVENTORY_UNAVAILABLE
    errors: int = 0  # anything else (serialization failures, deadlocks, bugs)
    seconds: float = 0.0
    throughput: float = 0.0  # completed operations per second
    mean_ms: float = math.nan
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    client_rss_mb: float | None = None
    server_rss_mb: float | None = None
    api_rss_mb: float | None = None  # peak RSS of the HTTP API process (HTTP workloads)
    codes: dict[str, int] = field(default_factory=dict)
    target: str | None = None
    target_met: bool | None = None
    vs_textbook: float | None = None
    vs_pgbench: float | None = None
    vs_floor: float | None = None  # p50 / the p50 of the same read of a plain table of the same rows
    invariants: dict[str, Any] | None = None
    note: str | None = None
    skipped: bool = False
    # pg_stat_statements over the workload, per completed operation: each top-level statement a
    # client sent (one round trip each) with its calls and server milliseconds; None: not measured
    statements: list[dict[str, Any]] | None = None

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = None if math.isnan(value) else round(value, 4)
        return out


def summarize(
    name: str,
    clients: int,
    latencies_s: list[float],
    seconds: float,
    ok: int,
    refused: int,
    errors: int,
    codes: dict[str, int] | None = None,
) -> Result:
    """Build a Result from per-operation latencies (seconds) and the wall time of the run."""
    ms = [x * 1000.0 for x in latencies_s]
    res = Result(name=name, clients=clients, ok=ok, refused=refused, errors=errors, seconds=seconds)
    res.ops = ok + refused
    res.throughput = res.ops / seconds if seconds > 0 else 0.0
    res.codes = dict(sorted((codes or {}).items()))
    if ms:
        res.mean_ms = sum(ms) / len(ms)
        res.p50_ms = percentile(ms, 50)
        res.p95_ms = percentile(ms, 95)
        res.p99_ms = percentile(ms, 99)
        res.max_ms = max(ms)
    return res


# ============================================================================ memory


def _proc_status(pid: int | str) -> dict[str, int]:
    """VmRSS / VmHWM / RssAnon (kB) of a process, or {} when /proc does not show it."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon"):
                    out[key] = int(rest.split()[0])
    except OSError:
        return {}
    return out


def _is_local_postgres(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"postgres" in fh.read()
    except OSError:
        return False


class MemorySampler:
    """Samples this process's RSS and the private memory (RssAnon) of the given backends.

    Peak client RSS is the max of VmRSS over the samples; peak server memory is the max over the
    samples of the summed RssAnon of the backends (shared buffers are not counted: they are the
    server's, not the workload's). Backends on another machine are not readable: None.
    """

    def __init__(self, backend_pids: list[int], every: float = 0.05):
        self.pids = [p for p in backend_pids if _is_local_postgres(p)]
        self.every = every
        self.client_kb = 0
        self.server_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self.client_kb = max(self.client_kb, _proc_status("self").get("VmRSS", 0))
        if self.pids:
            self.server_kb = max(self.server_kb, sum(_proc_status(p).get("RssAnon", 0) for p in self.pids))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def __enter__(self) -> MemorySampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def client_mb(self) -> float:
        return round(self.client_kb / 1024, 1)

    @property
    def server_mb(self) -> float | None:
        return round(self.server_kb / 1024, 1) if self.pids else None


# ============================================================================ runner


class Exhausted(Exception):
    """Raised by an operation when its prepared inputs ran out: the client stops, not an error."""


@dataclass
class Workload:
    """One thing to measure.

    ``op(conn, client, rng)`` performs one operation on the client's connection; an operation
    that draws its input from prepared :class:`Items` (holds to confirm, stays to check out)
    raises :class:`Exhausted` when they run out, which ends that client. ``setup`` runs before
    the clients start, ``teardown`` and then ``check`` (the invariants it verified) after.
    """

    name: str
    op: Callable[[psycopg.Connection, int, random.Random], Any]
    clients: int | None = None
    target: str | None = None
    target_fn: Callable[[Result], bool] | None = None
    check: Callable[[psycopg.Connection], dict[str, Any]] | None = None
    setup: Callable[[psycopg.Connection], Any] | None = None
    teardown: Callable[[psycopg.Connection], Any] | None = None
    max_ops: int | None = None
    note: str | None = None
    skip: str | None = None
    group: str = "hotelcore"
    floor_of: str | None = None  # the workload this one is the floor of (same read, plain table)


def run_workload(
    url: str,
    wl: Workload,
    clients: int,
    duration: float | None = None,
    ops: int | None = None,
    seed: int = 42,
    warmup: int = 0,
) -> Result:
    """Run ``wl`` from ``clients`` threads, one connection each, and return its figures.

    Stops after ``ops`` operations in all (when given), else after ``duration`` seconds, or
    earlier when the workload's prepared inputs run out (``Exhausted``). Operations that raise
    a documented refusal (SQLSTATE class HC) count as completed and refused; other database
    errors count as errors with their SQLSTATE in ``codes``.
    """
    clients = wl.clients or clients
    if wl.skip:
        return Result(name=wl.name, clients=clients, skipped=True, note=wl.skip)
    budget = ops if ops is not None else wl.max_ops
    if ops is not None and wl.max_ops is not None:
        budget = min(ops, wl.max_ops)
    if budget is None and duration is None:
        raise ValueError("give a duration or a number of operations")
    if wl.setup is not None:
        with psycopg.connect(url, autocommit=True) as admin:
            wl.setup(admin)

    conns = [psycopg.connect(url, autocommit=True) for _ in range(clients)]
    try:
        pids = [c.info.backend_pid for c in conns]
        lock = threading.Lock()
        issued = [0]
        latencies: list[list[float]] = [[] for _ in range(clients)]
        outcomes = [Counter() for _ in range(clients)]
        codes = [Counter() for _ in range(clients)]
        barrier = threading.Barrier(clients + 1)
        stop = threading.Event()
        ends = [0.0] * clients

        def take() -> bool:
            if budget is None:
                return not stop.is_set()
            with lock:
                if issued[0] >= budget or stop.is_set():
                    return False
                issued[0] += 1
                return True

        def client(i: int) -> None:
            conn = conns[i]
            rng = random.Random(f"{seed}/{wl.name}/{i}")
            for _ in range(warmup):
                try:
                    wl.op(conn, i, rng)
                except (psycopg.Error, Exhausted):
                    pass
            barrier.wait()
            lat = latencies[i]
            while take():
                t0 = time.perf_counter()
                try:
                    wl.op(conn, i, rng)
                except Exhausted:
                    break
                except psycopg.Error as exc:
                    elapsed = time.perf_counter() - t0
                    state = exc.sqlstate or type(exc).__name__
                    if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        conn.rollback()
                    codes[i][state] += 1
                    if state.startswith("HC"):
                        outcomes[i]["refused"] += 1
                        lat.append(elapsed)
                    else:
                        outcomes[i]["errors"] += 1
                    continue
                except Exception as exc:  # a bug or a transport error: counted, the client goes on
                    codes[i][type(exc).__name__] += 1
                    outcomes[i]["errors"] += 1
                    continue
                lat.append(time.perf_counter() - t0)
                outcomes[i]["ok"] += 1
            ends[i] = time.perf_counter()

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        with MemorySampler(pids) as mem:
            for t in threads:
                t.start()
            barrier.wait()
            t0 = time.perf_counter()
            if budget is None:
                deadline = t0 + duration
            else:  # a budget of operations, with a generous time limit as a safety net
                deadline = t0 + (duration * 3 + 30 if duration is not None else 3600)
            while any(t.is_alive() for t in threads) and time.perf_counter() < deadline:
                time.sleep(0.002)
            stop.set()
            for t in threads:
                t.join()
            seconds = max(ends) - t0 if any(ends) else time.perf_counter() - t0
    finally:
        for c in conns:
            c.close()

    total = Counter()
    for o in outcomes:
        total.update(o)
    all_codes = Counter()
    for c in codes:
        all_codes.update(c)
    res = summarize(
        wl.name,
        clients,
        [x for lat in latencies for x in lat],
        seconds,
        total["ok"],
        total["refused"],
        total["errors"],
        dict(all_codes),
    )
    res.client_rss_mb = mem.client_mb
    res.server_rss_mb = mem.server_mb
    res.target = wl.target
    res.note = wl.note
    if wl.target_fn is not None and res.ops:
        res.target_met = bool(wl.target_fn(res))
    if wl.teardown is not None or wl.check is not None:
        with psycopg.connect(url, autocommit=True) as admin:
            if wl.teardown is not None:
                wl.teardown(admin)
            if wl.check is not None:
                res.invariants = wl.check(admin)
    return res


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
    """A refusal decided by the client (the textbook baseline checks availability in the client)."""

    sqlstate = "HC201"


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


# ============================================================================ the dataset as the workloads see it


@dataclass(frozen=True)
class BookingRequest:
    hotel_id: int
    room_type_id: int
    rate_plan_id: int
    customer_id: int
    check_in: date
    check_out: date
    adults: int

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


@dataclass
class RoomTypeCtx:
    id: int
    max_occupancy: int
    rate_plan_ids: list[int]


@dataclass
class HotelCtx:
    id: int
    code: str
    city: str | None
    today: date
    room_types: list[RoomTypeCtx]


@dataclass
class Ctx:
    """Ids and dates the workloads draw their requests from (read back from the database)."""

    hotels: list[HotelCtx]
    audit_hotel: HotelCtx | None
    member_ids: list[int]
    days: int

    @classmethod
    def read(cls, conn: psycopg.Connection, days: int, audit_code: str = "HC-FD-300") -> Ctx:
        plans: dict[int, list[int]] = {}
        for rt_id, rp_id in conn.execute(
            "select room_type_id, id from core.rate_plans where active order by id"
        ):
            plans.setdefault(rt_id, []).append(rp_id)
        types: dict[int, list[RoomTypeCtx]] = {}
        for hid, rt_id, occ in conn.execute(
            "select hotel_id, id, max_occupancy from core.room_types where active order by hotel_id, id"
        ):
            types.setdefault(hid, []).append(RoomTypeCtx(rt_id, occ, plans.get(rt_id, [])))
        hotels = []
        audit = None
        for hid, code, city, today in conn.execute(
            """select h.id, h.code, h.city, (internal.now() at time zone h.time_zone)::date
               from core.hotels h order by h.id"""
        ):
            h = HotelCtx(hid, code, city, today, [t for t in types.get(hid, []) if t.rate_plan_ids])
            if code == audit_code:
                audit = h
            else:
                hotels.append(h)
        members = [r[0] for r in conn.execute("select id from core.customers where is_member order by id")]
        return cls(hotels, audit, members, days)

    def request(
        self, rng: random.Random, hotel: HotelCtx | None = None, max_nights: int = 4
    ) -> BookingRequest:
        """A booking request as a guest would make it: any hotel, room type, plan, a short stay."""
        h = hotel or rng.choice(self.hotels)
        rt = rng.choice(h.room_types)
        nights = min(rng.choice([1, 1, 2, 2, 3, 4]), max_nights)
        first = h.today + timedelta(days=rng.randrange(1, max(2, self.days - nights)))
        return BookingRequest(
            h.id,
            rt.id,
            rng.choice(rt.rate_plan_ids),
            rng.choice(self.member_ids) if self.member_ids else 0,
            first,
            first + timedelta(days=nights),
            rng.randint(1, min(2, rt.max_occupancy)),
        )


# ============================================================================ workloads


class Items:
    """A thread-safe queue of prepared inputs; ``take`` raises Exhausted when it is empty."""

    def __init__(self, items: list[Any] | None = None):
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        for it in items or []:
            self._q.put(it)

    def put(self, item: Any) -> None:
        self._q.put(item)

    def take(self) -> Any:
        try:
            return self._q.get_nowait()
        except queue.Empty:
            raise Exhausted from None

    def drain(self) -> list[Any]:
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out

    def __len__(self) -> int:
        return self._q.qsize()


def _invariants(conn: psycopg.Connection) -> dict[str, Any]:
    return datagen.check_invariants(conn)


def _service_invariants(conn: psycopg.Connection) -> dict[str, Any]:
    """The ledger's invariants, and the guest services': every delivered order's folio postings add
    up to its total, no counted item below zero stock."""
    out = datagen.check_invariants(conn)
    out["orders_charged_wrong"] = conn.execute(
        """select count(*) from core.service_orders o
           where o.status = 'delivered' and o.total_amount <> coalesce((select sum(l.amount)
               from core.service_order_postings p join core.folio_lines l on l.id = p.folio_line_id
               where p.order_id = o.id), 0)"""
    ).fetchone()[0]
    out["negative_stock"] = conn.execute(
        "select count(*) from core.service_items where stock < 0"
    ).fetchone()[0]
    return out


def _rank_trigger(conn: psycopg.Connection) -> str | None:
    """The loyalty trigger that recomputes ranks on check-out, if the schema has one."""
    row = conn.execute(
        """select t.tgname from pg_trigger t join pg_proc p on p.oid = t.tgfoid
           where t.tgrelid = 'core.reservations'::regclass and not t.tgisinternal
             and (t.tgname like '%%rank%%' or p.proname like '%%rank%%')
           order by t.tgname limit 1"""
    ).fetchone()
    return row[0] if row else None


def _has_function(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute(
        "select exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
        "where n.nspname = 'api' and p.proname = %s)",
        (name,),
    ).fetchone()[0]


@dataclass
class RunSettings:
    """The run's settings, derived from the command line."""

    clients: int
    duration: float | None
    ops: int | None
    seed: int
    quick: bool


def _p95_under(ms: float) -> Callable[[Result], bool]:
    return lambda r: r.p95_ms <= ms


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
            "select * from api.search_availability(%s, %s, %s, 2)", (h.id, ci, ci + timedelta(days=30))
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
                "select * from api.search_city_availability(null, %s, %s, 2, p_rooms => %s, p_hotel_ids => %s)",
                (ci, ci + timedelta(days=nights), rooms, chain_ids),
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
            "select api.quote(%s, %s, %s, %s, %s, %s)",
            (r.hotel_id, r.room_type_id, r.rate_plan_id, r.check_in, r.check_out, r.adults),
        ).fetchone()

    def textbook(conn, i, rng):
        textbook_book(conn, ctx.request(rng))

    def create_hold(conn, i, rng):
        r = ctx.request(rng)
        row = conn.execute(
            "select hold_id from api.create_hold(%s, %s, %s, %s, %s, 1, %s, p_customer_id => %s)",
            (r.hotel_id, r.room_type_id, r.rate_plan_id, r.check_in, r.check_out, r.adults, r.customer_id),
        ).fetchone()
        holds.put((row[0], r))

    def confirm(conn, i, rng):
        hold_id, r = holds.take()
        row = conn.execute(
            "select reservation_id, version from api.confirm_booking(%s, %s, %s, 'member')",
            (hold_id, r.customer_id, f"bench-auth-{hold_id}"),
        ).fetchone()
        booked.put((row[0], row[1], r))

    def hold_and_confirm(conn, i, rng):
        r = ctx.request(rng)
        hold_id = conn.execute(
            "select hold_id from api.create_hold(%s, %s, %s, %s, %s, 1, %s, p_customer_id => %s)",
            (r.hotel_id, r.room_type_id, r.rate_plan_id, r.check_in, r.check_out, r.adults, r.customer_id),
        ).fetchone()[0]
        row = conn.execute(
            "select reservation_id, version from api.confirm_booking(%s, %s, %s, 'member')",
            (hold_id, r.customer_id, f"bench-auth-{hold_id}"),
        ).fetchone()
        booked.put((row[0], row[1], r))

    def modify(conn, i, rng):
        res_id, version, r = booked.take()
        shift = timedelta(days=1)  # one night later: still inside the calendar (see Ctx.request)
        conn.execute(
            "select * from api.modify_reservation(%s, %s, %s, %s)",
            (res_id, version, r.check_in + shift, r.check_out + shift),
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
        conn.execute("select * from api.cancel_reservation(%s, %s, 'bench')", (res_id, version)).fetchone()

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
            conn.execute("select * from api.check_in(%s)", (items.take(),)).fetchall()

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
                    conn.execute("select * from api.check_in(%s)", (rid,)).fetchall()
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
        conn.execute("select api.set_order_status(%s, 'accepted')", (order_id,))
        conn.execute("select api.set_order_status(%s, 'delivered')", (order_id,))

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
            conn.execute("select * from api.run_night_audit(%s, %s)", (hid, day)).fetchone()

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
            conn.execute("select * from api.check_out(%s)", (items.take(),)).fetchone()

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
                target="p95 ≤ 5 ms" if one else None,
                target_fn=_p95_under(5) if one else None,
                skip=missing("search_availability"),
            )
        )
        for nights in (30, 2):
            wls.append(
                W(
                    f"search, {n} hotels, {nights} nights{suffix}",
                    search_city(nights),
                    clients=clients,
                    target="p95 ≤ 50 ms" if one else None,
                    target_fn=_p95_under(50) if one else None,
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
    wls.append(W("create_hold", create_hold, check=_invariants, skip=missing("create_hold")))
    wls.append(
        W(
            "confirm_booking",
            confirm,
            check=_invariants,
            target="≥ 0.5 × textbook",
            target_fn=lambda r: r.vs_textbook is not None and r.vs_textbook >= 0.5,
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


# the targets for a read of a report view (issue 6): a plain view in ≤ 1 s, a materialized one
# (or the *_in_scope wrapper clients read it through) in ≤ 50 ms
PLAIN_READ_MS, MATERIALIZED_READ_MS = 1000, 50
DASHBOARD_OPS = 20


def _floor_table(conn: psycopg.Connection, table: sql.Identifier, rows: sql.Composable) -> None:
    """A plain table of ``rows`` in schema FLOOR_SCHEMA (kept if it exists), vacuumed and analysed:
    a read's floor."""
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(FLOOR_SCHEMA)))
    conn.execute(sql.SQL("create table if not exists {} as {}").format(table, rows))
    conn.execute(sql.SQL("vacuum analyze {}").format(table))


def _month_after(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def report_workloads(url: str, ops: int, dashboard_ops: int = DASHBOARD_OPS) -> list[Workload]:
    """The reads of schema ``report``, each view measured three ways, plus refreshes and dashboards.

    For every view:

    * ``report.<view>``: the full read as a Python client does it (``select *``, every value
      parsed by psycopg into a Python object: ``numeric`` into ``Decimal``, ``date`` into
      ``date``); the issue's target applies to this figure;
    * ``… server + transfer (COPY)``: the same rows as ``COPY (select * …) TO STDOUT``, bytes
      counted and not parsed: what a client that does not build Python objects waits for;
    * ``… server, rows formatted (EXPLAIN ANALYZE SERIALIZE)``: the query executed on the server
      and its rows formatted as text, nothing sent (``server only (EXPLAIN ANALYZE)`` before
      PostgreSQL 17, which cannot format without sending).

    So transfer ≈ COPY − server, and client-side parsing ≈ full read − COPY. The COPY figure still
    has a Python loop over the rows (one message each), so it is an upper bound of what a client
    written in C waits for. Each materialized view
    gets a refresh (plain, not concurrent), and the materialized views clients read through their
    ``*_in_scope`` wrappers get typical dashboard queries (one hotel over a year, the whole chain
    over a month), read in full by Python. The materialized views are refreshed first, so their
    reads time a populated view (the data load writes the ledger directly and refreshes nothing).
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select * from api.refresh_reports()").fetchall()
        views = conn.execute(
            """select c.relname, c.relkind = 'm' from pg_class c
               where c.relnamespace = 'report'::regnamespace and c.relkind in ('v', 'm') order by c.relname"""
        ).fetchall()
        hotels = [h for (h,) in conn.execute("select distinct hotel_id from report.revenue_daily order by 1")]
        first, last = conn.execute("select min(day), max(day) from report.revenue_daily").fetchone()
        # PostgreSQL 17+ can also format the rows for the wire without sending them
        serialize = conn.info.server_version >= 170000
    explain = (
        "explain (analyze, timing off, serialize text, format json)"
        if serialize
        else ("explain (analyze, timing off, format json)")
    )
    server_label = (
        "server, rows formatted (EXPLAIN ANALYZE SERIALIZE)" if serialize else "server only (EXPLAIN ANALYZE)"
    )
    out = []
    for name, materialized in views:
        # clients read a materialized view through its *_in_scope wrapper: the same target
        read_materialized = materialized or name.endswith("_in_scope")
        ident = sql.Identifier("report", name)
        limit_ms = MATERIALIZED_READ_MS if read_materialized else PLAIN_READ_MS
        limit = f"≤ {limit_ms:,} ms" if limit_ms < 1000 else f"≤ {limit_ms // 1000} s"

        def read(conn, i, rng, ident=ident):
            with conn.cursor() as cur:
                cur.execute(sql.SQL("select * from {}").format(ident))
                while cur.fetchmany(10000):
                    pass

        def copy(conn, i, rng, ident=ident):
            size = 0
            with (
                conn.cursor() as cur,
                cur.copy(sql.SQL("copy (select * from {}) to stdout").format(ident)) as cp,
            ):
                for row in cp:
                    size += len(row)
            return size

        def server(conn, i, rng, ident=ident):
            conn.execute(sql.SQL(explain + " select * from {}").format(ident))

        # the floor: the same rows in a plain table (no row-level security, nothing computed), read
        # the same ways in the same run; a view's read cannot beat it on this machine
        floor_ident = sql.Identifier(FLOOR_SCHEMA, name)

        def floor_setup(conn, ident=ident, floor_ident=floor_ident):
            _floor_table(conn, floor_ident, sql.SQL("select * from {}").format(ident))

        def floor_read(conn, i, rng, floor_ident=floor_ident):
            read(conn, i, rng, ident=floor_ident)

        def floor_server(conn, i, rng, floor_ident=floor_ident):
            server(conn, i, rng, ident=floor_ident)

        out.append(
            Workload(
                f"report.{name}",
                read,
                clients=1,
                max_ops=ops,
                group="report",
                target=f"p95 {limit} (full read, parsed in Python)",
                target_fn=_p95_under(limit_ms),
                note="select *, every value parsed by psycopg into a Python object",
            )
        )
        out.append(
            Workload(
                f"report.{name}, server + transfer (COPY)",
                copy,
                clients=1,
                max_ops=ops,
                group="report",
                note="copy (select *) to stdout, bytes counted, nothing parsed",
            )
        )
        out.append(
            Workload(
                f"report.{name}, {server_label}",
                server,
                clients=1,
                max_ops=ops,
                group="report",
                note=f"{explain}: executed on the server, no row sent",
            )
        )
        for label, op, of in (
            ("floor: a plain table of its rows", floor_read, f"report.{name}"),
            (
                f"floor: a plain table of its rows, {server_label}",
                floor_server,
                f"report.{name}, {server_label}",
            ),
        ):
            out.append(
                Workload(
                    f"report.{name}, {label}",
                    op,
                    clients=1,
                    max_ops=ops,
                    group="report",
                    setup=floor_setup,
                    floor_of=of,
                    note="the same read of a plain table holding the view's rows (created before the timing)",
                )
            )
        if materialized:

            def refresh(conn, i, rng, ident=ident):
                conn.execute(sql.SQL("refresh materialized view {}").format(ident))

            out.append(Workload(f"refresh report.{name}", refresh, clients=1, max_ops=ops, group="report"))

    # dashboards: what a BI tool asks of the materialized views, through the wrappers clients read
    if hotels and first is not None:
        months = sorted(
            {
                date(d.year, d.month, 1)
                for d in (first + timedelta(days=k) for k in range((last - first).days + 1))
            }
        )
        dashboards = {
            "revenue_daily_in_scope": "day",
            "revenue_daily_by_origin_in_scope": "day",
            "booking_pace_in_scope": "stay_date",
        }
        for name, column in dashboards.items():
            ident, col = sql.Identifier("report", name), sql.Identifier(column)

            def one_hotel_year(conn, i, rng, ident=ident, col=col):
                with conn.cursor() as cur:
                    cur.execute(
                        sql.SQL("select * from {} where hotel_id = %s and {} between %s and %s").format(
                            ident, col, col
                        ),
                        (rng.choice(hotels), first, first + timedelta(days=364)),
                    )
                    cur.fetchall()

            def chain_month(conn, i, rng, ident=ident, col=col):
                month = rng.choice(months)
                following = _month_after(month)
                with conn.cursor() as cur:
                    cur.execute(
                        sql.SQL("select * from {} where {} >= %s and {} < %s").format(ident, col, col),
                        (month, following),
                    )
                    cur.fetchall()

            # each query's floor: a plain table holding the rows of one such query (the first hotel's
            # year, the longest month), read whole the same way
            longest = max(months, key=lambda m: (_month_after(m) - m).days)
            floor_rows = {
                "1 hotel × 1 year": sql.SQL(
                    "select * from {} where hotel_id = {} and {} between {} and {}"
                ).format(
                    ident,
                    sql.Literal(hotels[0]),
                    col,
                    sql.Literal(first),
                    sql.Literal(first + timedelta(days=364)),
                ),
                "whole chain × 1 month": sql.SQL("select * from {} where {} >= {} and {} < {}").format(
                    ident,
                    col,
                    sql.Literal(longest),
                    col,
                    sql.Literal(_month_after(longest)),
                ),
            }
            for label, op in (("1 hotel × 1 year", one_hotel_year), ("whole chain × 1 month", chain_month)):
                out.append(
                    Workload(
                        f"report.{name}, {label}",
                        op,
                        clients=1,
                        max_ops=dashboard_ops,
                        group="report",
                        target=f"p95 ≤ {MATERIALIZED_READ_MS} ms (dashboard query, parsed in Python)",
                        target_fn=_p95_under(MATERIALIZED_READ_MS),
                        note="a dashboard's query, every value parsed in Python",
                    )
                )
                floor_ident = sql.Identifier(FLOOR_SCHEMA, f"{name}, {label}")

                def dashboard_floor_setup(conn, floor_ident=floor_ident, rows=floor_rows[label]):
                    _floor_table(conn, floor_ident, rows)

                def dashboard_floor(conn, i, rng, floor_ident=floor_ident):
                    with conn.cursor() as cur:
                        cur.execute(sql.SQL("select * from {}").format(floor_ident))
                        cur.fetchall()

                out.append(
                    Workload(
                        f"report.{name}, {label}, floor: a plain table of one answer's rows",
                        dashboard_floor,
                        clients=1,
                        max_ops=dashboard_ops,
                        group="report",
                        setup=dashboard_floor_setup,
                        floor_of=f"report.{name}, {label}",
                        note="a plain table holding the rows of one such query (the longest month, the first hotel), "
                        "read whole and parsed the same way",
                    )
                )
    return out


HTTP_CLIENTS = 32  # issue 8's load: checkout p99 <= 50 ms at 32 concurrent clients
HTTP_API_RSS_LIMIT_MB = 200.0


def _serve_bench_api(url: str, port: int) -> None:
    """The API process of the HTTP benchmark: ``hotelcore serve``'s app and uvicorn settings (the
    simulated gateway, no latency), plus the floor endpoint of :mod:`pyapi.http.floor`."""
    from .http import floor
    from .http.app import serve

    serve(
        "127.0.0.1",
        port,
        database_url=url,
        log_level="warning",
        customize=lambda app: app.include_router(floor.router),
    )


def _start_bench_api(url: str) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pyapi.bench import _serve_bench_api as s; s(sys.argv[1], int(sys.argv[2]))",
            url,
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        cwd=str(config.PROJECT_ROOT),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    import urllib.request

    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=1) as r:
                if r.status == 200:
                    return child, base
        except OSError:
            pass
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            raise RuntimeError("the benchmark's API process did not start")
        time.sleep(0.05)


@dataclass
class _Load:
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    refused: int = 0
    errors: int = 0
    codes: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def record(self, status: int, raw: bytes, elapsed: float) -> None:
        """One answer: 2xx ok, 4xx a documented refusal (completed), 5xx an error."""
        if status < 400:
            self.ok += 1
            self.latencies.append(elapsed)
            return
        try:
            name = json.loads(raw)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            name = str(status)
        if status < 500:  # no rooms left, ...
            self.refused += 1
            self.latencies.append(elapsed)
            self.codes[f"HC:{name}"] += 1
        else:
            self.errors += 1
            self.codes[f"HTTP {status} {name}"] += 1


async def _http_load(
    base: str,
    headers: dict[str, str],
    clients: int,
    next_request: Callable[[], tuple[str, bytes, dict[str, str]]],
    duration: float | None,
    budget: int | None,
) -> _Load:
    """``clients`` concurrent keep-alive clients on one event loop (aiohttp: cheap per request, so
    the load generator takes little of the CPU it shares with the API and the database), each
    sending the next prepared request as soon as it has the previous answer."""
    import asyncio

    import aiohttp

    load = _Load()
    issued = [0]
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(
        base, connector=connector, headers=headers, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:
        t0 = time.perf_counter()
        deadline = t0 + duration if duration is not None else None

        async def client() -> None:
            while True:
                if budget is not None:
                    if issued[0] >= budget:
                        return
                    issued[0] += 1
                elif time.perf_counter() >= deadline:  # type: ignore[operator]
                    return
                try:
                    path, body, extra = next_request()
                except Exhausted:
                    return
                t = time.perf_counter()
                try:
                    async with session.post(path, data=body, headers=extra) as answer:
                        raw = await answer.read()
                        status = answer.status
                except Exception as exc:  # a transport error: counted, the client goes on
                    load.errors += 1
                    load.codes[type(exc).__name__] += 1
                    continue
                load.record(status, raw, time.perf_counter() - t)

        await asyncio.gather(*(client() for _ in range(clients)))
        load.seconds = time.perf_counter() - t0
    return load


def _load_result(name: str, clients: int, load: _Load, note: str | None = None) -> Result:
    res = summarize(
        name, clients, load.latencies, load.seconds, load.ok, load.refused, load.errors, load.codes
    )
    res.note = note
    return res


def _statements_reset(url: str) -> bool:
    """Clears pg_stat_statements for a workload; False (and the profile is skipped) when the
    server does not preload it."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("create extension if not exists pg_stat_statements")
            conn.execute("select pg_stat_statements_reset()")
        return True
    except psycopg.Error:
        return False


def _statements_per_op(url: str, per: int) -> list[dict[str, Any]]:
    """The top-level statements clients sent to this database since :func:`_statements_reset`,
    per completed operation: calls (round trips: BEGIN and COMMIT are statements of their own)
    and server time (execution plus planning), busiest first. The profile's own reads are left
    out. With ``pg_stat_statements.track = top`` (the default) a function's inner statements are
    in its caller's time."""
    if per <= 0:
        return []
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            r"""select regexp_replace(s.query, '\s+', ' ', 'g'), sum(s.calls)::bigint,
                      sum(s.total_exec_time + s.total_plan_time)::float8, sum(s.rows)::bigint
               from pg_stat_statements s
               where s.dbid = (select d.oid from pg_catalog.pg_database d where d.datname = current_database())
                 and s.toplevel and s.query not ilike '%pg_stat_statements%'
               group by 1 order by 3 desc"""
        ).fetchall()
    return [
        {
            "query": q[:160],
            "calls_per_op": round(calls / per, 3),
            "ms_per_op": round(ms / per, 4),
            "rows_per_op": round(n / per, 3),
        }
        for q, calls, ms, n in rows
    ]


def _statements_summary(statements: list[dict[str, Any]] | None) -> str:
    if not statements:
        return "no pg_stat_statements profile"
    trips = sum(s["calls_per_op"] for s in statements)
    ms = sum(s["ms_per_op"] for s in statements)
    commits = sum(s["calls_per_op"] for s in statements if s["query"].strip().lower() == "commit")
    return f"{trips:.1f} round trips, {commits:.1f} commits, {ms:.2f} ms server time per request"


def _paired_one_client(
    base: str,
    token: str,
    url: str,
    items: Items,
    direct_items: list[tuple[int, BookingRequest, dict[str, Any]]],
    seed: int,
    seconds: float | None,
    ops: int | None,
) -> tuple[Result, Result]:
    """One client, alternating a checkout over HTTP and the same checkout without HTTP (the
    saga's code and api functions called in this process), so both see the same moment of a
    shared machine and the difference of their medians is the HTTP layer's overhead."""
    import hashlib
    import http.client
    from urllib.parse import urlsplit

    from .http.errors import ErrorMap
    from .http.gateway import ResilientGateway, SimulatedGateway
    from .http.pool import Credentials, Database
    from .http.saga import CheckoutSaga, Order

    where = urlsplit(base)
    http_conn = http.client.HTTPConnection(where.hostname, where.port, timeout=120)
    db = Database(url, min_size=1, max_size=1)
    db.open()
    over_http, direct = _Load(), _Load()
    try:
        with db.connection() as conn:
            errors = ErrorMap.load(conn)
        saga = CheckoutSaga(db, ResilientGateway(SimulatedGateway()), errors)
        creds = Credentials(token, ("member", "pms"), None)
        t_end = time.perf_counter() + (seconds if seconds is not None else 3600)
        for i, (n, r, b) in enumerate(direct_items[: ops or len(direct_items)]):
            if time.perf_counter() >= t_end:
                break
            try:
                path, body, extra = items.take()
            except Exhausted:
                break
            t = time.perf_counter()
            http_conn.request("POST", path, body=body, headers={"X-API-Key": token, **extra})
            answer = http_conn.getresponse()
            over_http.record(answer.status, answer.read(), time.perf_counter() - t)
            order = Order(
                hotel_id=r.hotel_id,
                room_type_id=r.room_type_id,
                check_in=r.check_in,
                check_out=r.check_out,
                adults=r.adults,
                children=0,
                rooms=1,
                rate_plan_id=r.rate_plan_id,
                guest={
                    "given_name": "Bench",
                    "family_name": f"Guest{n}",
                    "email": b["guestInfo"]["email"],
                    "phone": None,
                },
                card_token="tok_bench",
                amount=Decimal(b["payment"]["amount"]),
                currency=b["payment"]["currency"],
                request={k: v for k, v in b.items() if k != "payment"},
            )
            fingerprint = hashlib.sha256(json.dumps(b, sort_keys=True).encode()).digest()
            t = time.perf_counter()
            outcome = saga.run_idempotent(
                creds,
                order,
                request_id=f"req-bench-{n}",
                key=f"bench-direct-{seed}-{i}",
                fingerprint=fingerprint,
            )
            direct.record(outcome.status, outcome.body, time.perf_counter() - t)
    finally:
        http_conn.close()
        db.close()
    # each one's time is its own operations' (they alternate)
    over_http.seconds, direct.seconds = sum(over_http.latencies), sum(direct.latencies)
    return (
        _load_result("HTTP checkout (saga), 1 client", 1, over_http),
        _load_result("checkout saga in-process (no HTTP), 1 client", 1, direct),
    )


def http_bench(url: str, ctx: Ctx, settings: RunSettings, out: Console | None = None) -> list[Result]:
    """Issue 8's HTTP figures, measured in one run:

    * the API in a process of its own, started as ``hotelcore serve`` runs it (uvicorn, the
      simulated payment gateway with no latency), loaded from this process by
      ``HTTP_CLIENTS`` concurrent clients (one keep-alive connection each);
    * the floor: a bare endpoint doing one authenticated insert through the same stack, at the
      same concurrency — the least a write request costs on this machine;
    * ``POST /api/booking/checkout`` (with an Idempotency-Key, as a real client sends it) at
      ``HTTP_CLIENTS`` clients and at 1 client;
    * the same checkout with the HTTP layer removed: the same saga code and api functions
      called in this process, alternating with the 1-client HTTP checkouts so both see the same
      moment of the machine; the HTTP layer's median overhead is the difference of the medians;
    * the API process's peak memory (VmHWM of its /proc status) over the whole run.

    Requests are quoted beforehand in one set-based statement (the saga refuses an amount that
    is not the quoted total), so the timing is the checkout alone.
    """
    try:
        import asyncio

        import aiohttp  # noqa: F401

        from .http import floor as _floor  # noqa: F401
    except ImportError as exc:  # the HTTP layer is optional for the benchmark
        return [Result(name="HTTP checkout", clients=HTTP_CLIENTS, skipped=True, note=f"skipped: {exc}")]
    out = out or console
    clients = HTTP_CLIENTS if settings.clients > 1 else 1
    duration = settings.duration
    ops = settings.ops
    rng = random.Random(f"{settings.seed}/http")
    # enough for the three checkout runs even at a high rate
    count = 3 * ops if ops else int(max(300, (duration or 5) * 400))
    reqs = [ctx.request(rng) for _ in range(count)]
    with psycopg.connect(url, autocommit=True) as conn:
        token = conn.execute(
            "select token from api.issue_api_key('member', %s, 'bench')", ([h.id for h in ctx.hotels],)
        ).fetchone()[0]
        quotes = conn.execute(
            """select (q ->> 'total')::numeric, q ->> 'currency', coalesce((q ->> 'bookable')::boolean, false)
               from unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::date[], %s::date[], %s::int[])
                    with ordinality as r(h, rt, rp, ci, co, ad, n)
               cross join lateral api.quote(r.h, r.rt, r.rp, r.ci, r.co, r.ad) q
               order by r.n""",
            (
                [r.hotel_id for r in reqs],
                [r.room_type_id for r in reqs],
                [r.rate_plan_id for r in reqs],
                [r.check_in for r in reqs],
                [r.check_out for r in reqs],
                [r.adults for r in reqs],
            ),
        ).fetchall()
        # the floor's scratch table: the benchmark's, not the schema's
        conn.execute("drop table if exists public.bench_http_floor")
        conn.execute("create table public.bench_http_floor (at timestamptz not null)")
        conn.execute("grant insert on public.bench_http_floor to public")

    def body_of(n: int, r: BookingRequest, total: Any, currency: str) -> dict[str, Any]:
        return {
            "hotelId": r.hotel_id,
            "roomTypeId": r.room_type_id,
            "ratePlanId": r.rate_plan_id,
            "checkIn": r.check_in.isoformat(),
            "checkOut": r.check_out.isoformat(),
            "adults": r.adults,
            "guestInfo": {
                "firstName": "Bench",
                "lastName": f"Guest{n}",
                "email": f"guest{n}.{settings.seed}@bench.example",
            },
            "payment": {"cardToken": "tok_bench", "amount": str(total), "currency": currency},
        }

    bodies = [
        (n, r, body_of(n, r, q[0], q[1])) for n, (r, q) in enumerate(zip(reqs, quotes, strict=True)) if q[2]
    ]
    # encoded beforehand: the load generator only sends
    items = Items(
        [
            (
                "/api/booking/checkout",
                json.dumps(b).encode(),
                {"Content-Type": "application/json", "Idempotency-Key": f"bench-{settings.seed}-{n}"},
            )
            for n, _r, b in bodies[: 2 * len(bodies) // 3]
        ]
    )
    direct_items = bodies[2 * len(bodies) // 3 :]
    floor_req = ("/bench/floor", b"", {})

    def floor_next() -> tuple[str, bytes, dict[str, str]]:
        return floor_req

    results: list[Result] = []
    child, base = _start_bench_api(url)
    headers = {"X-API-Key": token}
    try:

        def load(n_clients: int, next_request, seconds: float | None, budget: int | None) -> _Load:
            return asyncio.run(_http_load(base, headers, n_clients, next_request, seconds, budget))

        # warm-up: every client's connection, the pool's connections, the plans
        load(clients, floor_next, None, clients * 4)
        floor_load = load(clients, floor_next, duration, ops)
        floor = _load_result("HTTP floor (auth + one insert)", clients, floor_load)
        results.append(floor)
        out.print(
            f"  floor: {floor.throughput:,.1f}/s, p50 {_fmt(floor.p50_ms, 2)} ms, p99 {_fmt(floor.p99_ms, 2)} ms"
        )
        profiled = _statements_reset(url)
        many = _load_result("HTTP checkout (saga)", clients, load(clients, items.take, duration, ops))
        if profiled:
            many.statements = _statements_per_op(url, many.ops)
        results.append(many)
        out.print(
            f"  checkout: {many.throughput:,.1f}/s, p50 {_fmt(many.p50_ms, 2)} ms, p99 {_fmt(many.p99_ms, 2)} ms"
        )
        one_s = duration  # both kinds alternate within it
        one, direct = _paired_one_client(base, token, url, items, direct_items, settings.seed, one_s, ops)
        results += [one, direct]
        status = _proc_status(child.pid)
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    api_peak_mb = round(status.get("VmHWM", 0) / 1024, 1) if status else None

    overhead_1 = one.p50_ms - direct.p50_ms
    overhead_n = many.p50_ms - direct.p50_ms
    ratio = many.p99_ms / floor.p99_ms if floor.p99_ms else math.nan
    many.api_rss_mb = floor.api_rss_mb = one.api_rss_mb = api_peak_mb
    many.target = f"p99 <= 50 ms at {HTTP_CLIENTS} clients; API peak RSS <= {HTTP_API_RSS_LIMIT_MB:.0f} MB"
    many.target_fn = None
    many.target_met = bool(
        many.ops and many.p99_ms <= 50.0 and api_peak_mb is not None and api_peak_mb <= HTTP_API_RSS_LIMIT_MB
    )
    many.note = (
        f"API in its own process (uvicorn, simulated gateway, no latency), peak RSS {_fmt(api_peak_mb)} MB; "
        f"floor p99 {_fmt(floor.p99_ms, 2)} ms, checkout/floor p99 x{_fmt(ratio, 1)}; "
        f"HTTP median overhead {_fmt(overhead_1, 2)} ms at 1 client, {_fmt(overhead_n, 2)} ms at {clients}; "
        f"database: {_statements_summary(many.statements)}"
    )
    one.note = f"HTTP median overhead over the in-process saga: {_fmt(overhead_1, 2)} ms"
    floor.note = (
        "POST /bench/floor: api.authenticate + one insert + commit, same stack; mounted by the bench only"
    )
    out.print(f"  {many.note}")
    if many.statements is not None:
        out.print(
            f"  database share per checkout (pg_stat_statements): {_statements_summary(many.statements)}"
        )
        for st in many.statements[:12]:
            out.print(f"    {st['calls_per_op']:6.2f} calls {st['ms_per_op']:8.3f} ms  {st['query'][:100]}")
    return results


# ============================================================================ the command


def dataset_spec(hotels: int | None, seed: int, quick: bool, booked_share: float) -> datagen.DatasetSpec:
    """The full run: a one-year calendar; --quick: the same chain on a 45-night calendar."""
    if quick:
        return datagen.DatasetSpec(hotels=hotels or 100, days=45, seed=seed, booked_share=booked_share)
    return datagen.DatasetSpec(hotels=hotels or 100, days=365, seed=seed, booked_share=booked_share)


def machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        with open("/proc/meminfo") as fh:
            mem_kb = int(fh.readline().split()[1])
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _fmt(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.{digits}f}"


def _cells(r: Result, marks: dict[bool | None, str]) -> dict[str, str]:
    """The figures of one result as text, shared by the terminal table and the README's."""
    mem = f"{_fmt(r.client_rss_mb, 0)}/{_fmt(r.server_rss_mb, 0)}"
    if r.api_rss_mb is not None:
        mem += f" (API {_fmt(r.api_rss_mb, 0)})"
    inv = ""
    if r.invariants is not None:
        inv = "ok" if datagen.invariants_hold(r.invariants) else "FAILED"
    return {
        "ops/s": _fmt(r.throughput),
        "p50": _fmt(r.p50_ms, 2),
        "p95": _fmt(r.p95_ms, 2),
        "p99": _fmt(r.p99_ms, 2),
        "textbook": _fmt(r.vs_textbook, 2),
        "pgbench": _fmt(r.vs_pgbench, 3),
        "mem": mem,
        "invariants": inv,
        "target": " ".join(
            x
            for x in (
                f"{r.target} {marks[r.target_met]}".strip() if r.target else "",
                f"(p50 {r.vs_floor:.2f}× its floor)" if r.vs_floor is not None else "",
            )
            if x
        ),
    }


def render(results: list[Result], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col, just in (
        ("workload", "left"),
        ("clients", "right"),
        ("ops", "right"),
        ("refused", "right"),
        ("err", "right"),
        ("ops/s", "right"),
        ("p50 ms", "right"),
        ("p95 ms", "right"),
        ("p99 ms", "right"),
        ("×textbook", "right"),
        ("×pgbench", "right"),
        ("RSS client/server MiB", "right"),
        ("invariants", "left"),
        ("target", "left"),
    ):
        table.add_column(col, justify=just)
    for r in results:
        if r.skipped:
            table.add_row(
                r.name, str(r.clients), "", "", "", "", "", "", "", "", "", "", "", f"skipped: {r.note}"
            )
            continue
        cells = _cells(r, {True: "[green]met[/green]", False: "[red]missed[/red]", None: ""})
        if cells["invariants"] not in ("", "ok"):
            cells["invariants"] = f"[red]FAIL {r.invariants}[/red]"
        table.add_row(
            r.name,
            str(r.clients),
            str(r.ops),
            str(r.refused),
            str(r.errors),
            *(
                cells[k]
                for k in ("ops/s", "p50", "p95", "p99", "textbook", "pgbench", "mem", "invariants", "target")
            ),
        )
    return table


def markdown(doc: dict[str, Any]) -> str:
    """The README's table for a saved results document (``bench/results/*.json``)."""
    head = (
        "| workload | clients | ops/s | p50 ms | p95 ms | p99 ms | × textbook | × pgbench "
        "| RSS client/server MiB | target | invariants |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n"
    )
    rows = []
    for saved in doc.get("results", []):
        r = Result(**saved)
        name = r.name + (f" ({r.refused} refused)" if r.refused else "")
        if r.skipped:
            rows.append(f"| {name} | {r.clients} | | | | | | | | skipped: {r.note or ''} | |")
            continue
        c = _cells(r, {True: "✅", False: "❌", None: ""})
        rows.append(
            f"| {name} | {r.clients} | {c['ops/s']} | {c['p50']} | {c['p95']} | {c['p99']} | {c['textbook']} "
            f"| {c['pgbench']} | {c['mem']} | {c['target']} | {c['invariants']} |"
        )
    return head + "\n".join(rows) + "\n"


def run(
    server_url: str,
    spec: datagen.DatasetSpec,
    settings: RunSettings,
    *,
    database: str = BENCH_DB,
    pgbench: bool = True,
    keep: bool = False,
    only: list[str] | None = None,
    report_ops: int = 3,
    out: Console | None = None,
) -> dict[str, Any]:
    """The whole benchmark; returns the JSON document (also what the tests inspect)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    out = out or console
    doc: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["hotelcore", *sys.argv[1:]]) if sys.argv[1:2] == ["bench"] else None,
        "machine": machine(),
        "settings": asdict(settings),
        "dataset": {"spec": asdict(spec)},
    }
    with psycopg.connect(server_url, autocommit=True) as conn:
        doc["server"] = {
            "version": conn.execute("show server_version").fetchone()[0],
            "kind": "external (DATABASE_URL)" if config.external_url() else "embedded",
        }
    duration = settings.duration
    results: list[Result] = []
    textbook: Result | None = None
    targets: dict[str, Callable[[Result], bool] | None] = {}
    floors: dict[str, str] = {}  # floor workload -> the workload it is the floor of

    def wanted(name: str) -> bool:
        return not only or any(o.lower() in name.lower() for o in only)

    if pgbench and wanted("pgbench"):
        out.print(f"[bold]pgbench tpcb-like[/bold], {settings.clients} clients ...")
        scale = max(2, min(settings.clients, 16))  # one branch per client: no contention on the branch rows
        results.append(pgbench_baseline(server_url, settings.clients, duration or 5, scale))

    url = srv.recreate_database(server_url, database)
    try:
        t0 = time.perf_counter()
        mig.upgrade(url)
        doc["dataset"]["migrate_seconds"] = round(time.perf_counter() - t0, 2)
        plan = datagen.make_plan(spec)
        with Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out,
            transient=False,
        ) as progress:
            loaded = datagen.load(url, plan, progress)
        doc["dataset"]["load_seconds"] = loaded.seconds
        doc["dataset"]["load_steps"] = loaded.timings
        with psycopg.connect(url, autocommit=True) as conn:
            doc["dataset"]["figures"] = datagen.figures(conn)
            doc["dataset"]["invariants_after_load"] = datagen.check_invariants(conn)
            ctx = Ctx.read(conn, spec.days)
        f = doc["dataset"]["figures"]
        out.print(
            f"loaded {f['hotels']} hotels, {f['rooms']} rooms, {f['inventory_nights']} room-type nights, "
            f"{f['reservations']} reservations, {f['customers']} members in {loaded.seconds:.1f} s "
            f"(migrations {doc['dataset']['migrate_seconds']:.1f} s)"
        )

        workloads = build_workloads(url, ctx, settings)
        workloads += report_workloads(url, report_ops)
        for wl in workloads:
            if not wanted(wl.name) and not (wl.group == "baseline" and wanted("confirm")):
                continue
            out.print(f"[bold]{wl.name}[/bold] ...", end=" ")
            res = run_workload(
                url,
                wl,
                settings.clients,
                duration=None if wl.group == "report" else duration,
                ops=settings.ops,
                seed=settings.seed,
            )
            if wl.name.startswith("textbook"):
                textbook = res
            if textbook is not None and textbook.throughput and not res.skipped and wl.group == "hotelcore":
                res.vs_textbook = res.throughput / textbook.throughput
            if wl.target_fn is not None and res.ops:
                res.target_met = bool(wl.target_fn(res))
            targets[res.name] = wl.target_fn
            if wl.floor_of is not None:
                floors[res.name] = wl.floor_of
            out.print(
                "skipped"
                if res.skipped
                else f"{res.ops} ops, {res.throughput:,.1f}/s, p95 {_fmt(res.p95_ms, 2)} ms"
            )
            results.append(res)
        if wanted("HTTP checkout"):
            out.print("[bold]HTTP checkout[/bold] (API process, floor, 1 client, in-process) ...")
            results += http_bench(url, ctx, settings, out)
        if wanted("outbox") or wanted("webhook"):
            from .bench_events import events_bench

            out.print("[bold]events[/bold] (outbox on/off, webhook latency at 200/s, one dispatcher) ...")
            results += events_bench(url, ctx, settings, out)
    finally:
        if not keep:
            srv.drop_database(server_url, database)

    # each view's read against its floor (the same read of a plain table of the same rows)
    by_name = {r.name: r for r in results}
    for floor_name, of in floors.items():
        floor, view = by_name.get(floor_name), by_name.get(of)
        if floor is None or view is None or floor.skipped or view.skipped or not floor.ops or not view.ops:
            continue
        if floor.p50_ms > 0:
            view.vs_floor = view.p50_ms / floor.p50_ms

    # every workload's ratio to both baselines, once both are known
    pgb = next((r for r in results if r.name.startswith("pgbench") and not r.skipped), None)
    if textbook is not None and pgb is not None and pgb.throughput:
        textbook.vs_pgbench = textbook.throughput / pgb.throughput
    for r in results:
        if r.skipped or r is pgb or r is textbook:
            continue
        if pgb is not None and pgb.throughput:
            r.vs_pgbench = r.throughput / pgb.throughput
        if textbook is not None and textbook.throughput:
            r.vs_textbook = r.throughput / textbook.throughput
        fn = targets.get(r.name)
        if fn is not None and r.ops:
            r.target_met = bool(fn(r))
    doc["results"] = [r.as_json() for r in results]
    doc["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    doc["_results"] = results
    return doc


def bench_command(
    hotels: Annotated[int | None, typer.Option(help="Hotels in the chain (default 100).")] = None,
    clients: Annotated[int, typer.Option(help="Concurrent clients, one connection each.")] = 16,
    duration: Annotated[
        float | None, typer.Option(help="Seconds per timed workload (default 20; 3 with --quick).")
    ] = None,
    ops: Annotated[int | None, typer.Option(help="Operations per workload instead of a duration.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the dataset and of the requests.")] = 42,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="A smaller run (45-night calendar, short workloads): under two minutes."
        ),
    ] = False,
    booked_share: Annotated[float, typer.Option(help="Share of the room-nights already booked.")] = 0.35,
    output: Annotated[
        Path | None, typer.Option(help="JSON file to write (default bench/results/<time>.json).")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only workloads whose name contains this (repeatable).")
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the benchmark database afterwards.")] = False,
    no_pgbench: Annotated[bool, typer.Option("--no-pgbench", help="Skip the pgbench baseline.")] = False,
    markdown_of: Annotated[
        Path | None,
        typer.Option(
            "--markdown",
            help="Print the README's table for a saved results file and exit (no database needed).",
        ),
    ] = None,
) -> None:
    """Benchmarks on a dataset of its own (database hotelcore_bench), with baselines in the same run."""
    if markdown_of is not None:
        try:
            saved = json.loads(markdown_of.read_text())
        except (OSError, ValueError) as exc:
            console.print(f"[red]error:[/red] cannot read {markdown_of}: {exc}", highlight=False)
            raise typer.Exit(1) from None
        sys.stdout.write(markdown(saved))
        return
    server = srv.get_server()
    server.check()
    if duration is None and ops is None:
        duration = 3.0 if quick else 20.0
    spec = dataset_spec(hotels, seed, quick, booked_share)
    settings = RunSettings(clients=clients, duration=duration, ops=ops, seed=seed, quick=quick)
    where = "embedded PostgreSQL" if server.embedded else f"PostgreSQL at {config.endpoint_of(server.url)}"
    m = machine()
    console.print(f"hotelcore bench on {where}: {m['cpus']} CPUs, {m['memory_gb']} GB; dataset {spec}")
    t0 = time.perf_counter()
    doc = run(server.url, spec, settings, pgbench=not no_pgbench, keep=keep, only=only)
    results = doc.pop("_results")
    doc["seconds"] = round(time.perf_counter() - t0, 1)
    console.print(
        render(
            results,
            f"hotelcore bench ({'quick' if quick else 'full'}, {clients} clients, "
            f"PostgreSQL {doc['server']['version']}, {m['cpus']} CPUs) — {doc['seconds']} s",
        )
    )
    path = (
        output or RESULTS_DIR / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}{'-quick' if quick else ''}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    console.print(f"results written to {path}", highlight=False)
    failed = [
        r.name for r in results if r.invariants is not None and not datagen.invariants_hold(r.invariants)
    ]
    if failed or not datagen.invariants_hold(doc["dataset"].get("invariants_after_load", {})):
        console.print(f"[red]invariants broken after: {', '.join(failed) or 'load'}[/red]")
        raise typer.Exit(1)
