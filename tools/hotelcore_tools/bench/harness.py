"""The benchmark harness: workloads run from N client threads, latency statistics, the memory
sampler (this process and the server backends, from ``/proc``) and the result of a workload.
"""

from __future__ import annotations

import math
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from rich.console import Console

from pyapi import config

BENCH_DB = "hotelcore_bench"
FLOOR_SCHEMA = "bench_floor"  # plain tables of the report views' rows: each read's floor
PGBENCH_DB = "hotelcore_bench_pgbench"
RESULTS_DIR = config.PROJECT_ROOT / "bench" / "results"
# the page of every workload of a saved run, written by ``hotelcore bench --markdown``
BENCH_PAGE = config.PROJECT_ROOT / "docs" / "bench.md"

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
                except Exhausted:
                    break
                except psycopg.Error:
                    if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        conn.rollback()
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
