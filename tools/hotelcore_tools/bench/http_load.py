"""The HTTP load generator: the API served in its own process as ``hotelcore serve`` runs it,
N concurrent clients on the checkout and the reads, and what each request cost in statements.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from rich.console import Console

from pyapi import config
from pyapi.client import bind

from .dataset import BookingRequest, Ctx, Items, RunSettings
from .harness import Exhausted, Result, _proc_status, console, summarize
from .render import _fmt

HTTP_CLIENTS = 32  # the checkout's target load: 32 concurrent clients
HTTP_CHECKOUT_RATE_VS_FLOOR = 0.33  # the checkout's requests/s at least this share of the floor's
HTTP_CHECKOUT_P99_VS_FLOOR = 3.0  # the checkout's p99 at most this multiple of the floor's
HTTP_API_RSS_LIMIT_MB = 200.0


def _serve_bench_api(url: str, port: int) -> None:
    """The API process of the HTTP benchmark: ``hotelcore serve``'s app and uvicorn settings (the
    simulated gateway, no latency), plus the floor endpoints of :mod:`hotelcore_tools.bench.floor`."""
    from pyapi.http.app import serve

    from . import floor

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
            "import sys; from hotelcore_tools.bench.http_load import _serve_bench_api as s; s(sys.argv[1], int(sys.argv[2]))",
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

    from pyapi.checkout.gateway import ResilientGateway, SimulatedGateway
    from pyapi.checkout.saga import CheckoutSaga, Order
    from pyapi.errors import ErrorMap
    from pyapi.pool import Credentials, Database

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


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def http_bench(url: str, ctx: Ctx, settings: RunSettings, out: Console | None = None) -> list[Result]:
    """Issue 8's HTTP figures, measured in one run:

    * the API in a process of its own, started as ``hotelcore serve`` runs it (uvicorn, the
      simulated payment gateway with no latency), loaded from this process by
      ``HTTP_CLIENTS`` concurrent clients (one keep-alive connection each);
    * the floor: a bare endpoint doing one authenticated insert through the same stack, at the
      same concurrency — the least a write request costs on this machine;
    * the checkout floor: a checkout's transactions and gateway calls with no rule, its rows
      written by plain SQL on copies of the tables (``POST /bench/checkout-floor``), at the same
      concurrency — the least a checkout costs on this machine;
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

        from . import floor as _floor
    except ImportError as exc:  # the HTTP layer is optional for the benchmark
        return [Result(name="HTTP checkout", clients=HTTP_CLIENTS, skipped=True, note=f"skipped: {exc}")]
    out = out or console
    clients = HTTP_CLIENTS if settings.clients > 1 else 1
    duration = settings.duration
    ops = settings.ops
    rng = random.Random(f"{settings.seed}/http")
    # enough for the three checkout runs even at a high rate, and the checkout's warm-up
    warm_up = clients * 4
    count = (3 * ops if ops else int(max(300, (duration or 5) * 400))) + 2 * warm_up
    reqs = [ctx.request(rng) for _ in range(count)]
    with psycopg.connect(url, autocommit=True) as conn:
        token = conn.execute(
            *bind(
                "issue_api_key",
                columns=("token",),
                p_system="member",
                p_hotel_ids=[h.id for h in ctx.hotels],
                p_label="bench",
            )
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
        _floor.checkout_floor_setup(conn)

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

    # the checkout floor takes the checkouts' requests, again and again (it has no rule to refuse
    # one), each with a key of its own
    floor_bodies = itertools.cycle([json.dumps(b).encode() for _n, _r, b in bodies])
    floor_keys = itertools.count()

    def checkout_floor_next() -> tuple[str, bytes, dict[str, str]]:
        return (
            "/bench/checkout-floor",
            next(floor_bodies),
            {"Content-Type": "application/json", "Idempotency-Key": f"bench-floor-{next(floor_keys)}"},
        )

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
        load(clients, checkout_floor_next, None, clients * 4)
        checkout_floor = _load_result(
            "HTTP checkout floor (its rows in plain SQL)",
            clients,
            load(clients, checkout_floor_next, duration, ops),
        )
        results.append(checkout_floor)
        out.print(
            f"  checkout floor: {checkout_floor.throughput:,.1f}/s, p50 {_fmt(checkout_floor.p50_ms, 2)} ms,"
            f" p99 {_fmt(checkout_floor.p99_ms, 2)} ms"
        )
        # warm-up as for the floors: every pooled connection has run the checkout's functions
        # once (their plans and compiled bodies are per connection), with requests of its own
        load(clients, items.take, None, warm_up)
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
    many.api_rss_mb = floor.api_rss_mb = checkout_floor.api_rss_mb = one.api_rss_mb = api_peak_mb
    if checkout_floor.ops and checkout_floor.p50_ms > 0:
        many.vs_floor = many.p50_ms / checkout_floor.p50_ms
    # the booking write path's target: against the floor of the same run, not a fixed latency
    many.target = (
        f">= {HTTP_CHECKOUT_RATE_VS_FLOOR} x the floor's requests/s and p99 <= {HTTP_CHECKOUT_P99_VS_FLOOR:.0f} x"
        f" its p99 at {HTTP_CLIENTS} clients; API peak RSS <= {HTTP_API_RSS_LIMIT_MB:.0f} MB"
    )
    many.target_fn = None
    many.target_met = bool(
        many.ops
        and floor.ops
        and many.throughput >= HTTP_CHECKOUT_RATE_VS_FLOOR * floor.throughput
        and many.p99_ms <= HTTP_CHECKOUT_P99_VS_FLOOR * floor.p99_ms
        and api_peak_mb is not None
        and api_peak_mb <= HTTP_API_RSS_LIMIT_MB
    )
    many.note = (
        f"API in its own process (uvicorn, simulated gateway, no latency), peak RSS {_fmt(api_peak_mb)} MB; "
        f"floor p99 {_fmt(floor.p99_ms, 2)} ms, checkout/floor p99 x{_fmt(ratio, 1)}; "
        f"checkout/floor requests/s x{_fmt(_ratio(many.throughput, floor.throughput), 2)}, "
        f"checkout/checkout floor requests/s x{_fmt(_ratio(many.throughput, checkout_floor.throughput), 2)}, "
        f"p99 x{_fmt(_ratio(many.p99_ms, checkout_floor.p99_ms), 1)}; "
        f"HTTP median overhead {_fmt(overhead_1, 2)} ms at 1 client, {_fmt(overhead_n, 2)} ms at {clients}; "
        f"database: {_statements_summary(many.statements)}"
    )
    one.note = f"HTTP median overhead over the in-process saga: {_fmt(overhead_1, 2)} ms"
    floor.note = (
        "POST /bench/floor: api.authenticate + one insert + commit, same stack; mounted by the bench only"
    )
    checkout_floor.note = (
        "POST /bench/checkout-floor: a checkout's three transactions and gateway calls, its rows written by plain"
        " SQL on copies of the tables (same indexes, no trigger, key, check or policy); mounted by the bench only;"
        f" checkout floor/floor requests/s x{_fmt(_ratio(checkout_floor.throughput, floor.throughput), 2)}"
    )
    out.print(f"  {many.note}")
    if many.statements is not None:
        out.print(
            f"  database share per checkout (pg_stat_statements): {_statements_summary(many.statements)}"
        )
        for st in many.statements[:12]:
            out.print(f"    {st['calls_per_op']:6.2f} calls {st['ms_per_op']:8.3f} ms  {st['query'][:100]}")
    return results
