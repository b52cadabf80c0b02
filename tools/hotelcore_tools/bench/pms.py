"""``hotelcore pms bench``: the external-PMS figures, each beside its baseline measured in the
same run.

* search of one hotel, 30 nights, one client: an external hotel answered from the mirror against
  a native hotel of the same shape (room types, rooms, rate plans, nights) — target: the same
  p95 (ratio ≤ 1.25 on a noisy shared machine);
* webhooks applied per second: signed ``inventory_update`` events over HTTP into the API
  (uvicorn, real connections), against the API's own floor: the same number of authenticated
  ``GET /health`` requests;
* checkout p50 / p99 through the connector with the simulated Cloudbeds at 50 ms latency per
  call, against the sum of the vendor calls' latency it cannot go below.

Its database is ``hotelcore_pms_bench`` (recreated). Results go to ``bench/results/pms-*.json``;
``hotelcore bench`` runs it too and shows the figures in its table (:func:`results`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg

from pyapi.client import bind

DATABASE = "hotelcore_pms_bench"


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def _timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _row(name: str, samples: list[float], **extra) -> dict[str, Any]:
    return {
        "workload": name,
        "n": len(samples),
        "p50_ms": round(_pct(samples, 0.5), 2),
        "p95_ms": round(_pct(samples, 0.95), 2),
        "p99_ms": round(_pct(samples, 0.99), 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        **extra,
    }


def _native_twin(conn: psycopg.Connection, today: dt.date, nights: int) -> int:
    """A native hotel of the external one's shape: 2 room types (3 and 2 rooms), a rate plan each."""
    hotel = conn.execute(
        "select api.create_hotel('bench-native', 'Native twin', 'Asia/Seoul', 'KRW', 'Seoul', 'KR', 0.1)"
    ).fetchone()[0]
    for code, name, occ, price, rooms in (("std", "Standard", 2, 100000, 3), ("dlx", "Deluxe", 3, 180000, 2)):
        rt = conn.execute(
            *bind(
                "create_room_type",
                p_hotel_id=hotel,
                p_code=code,
                p_name=name,
                p_max_occupancy=occ,
                p_base_price=price,
            )
        ).fetchone()[0]
        for i in range(rooms):
            conn.execute(*bind("create_room", p_hotel_id=hotel, p_room_type_id=rt, p_number=f"{code}{i}"))
        conn.execute(
            *bind("create_rate_plan", p_hotel_id=hotel, p_room_type_id=rt, p_code="bar", p_name="Best rate")
        )
    conn.execute(
        *bind("open_inventory", p_hotel_id=hotel, p_from=today, p_until=today + dt.timedelta(days=nights))
    )
    return hotel


def run(
    server_url: str,
    *,
    quick: bool = False,
    out_dir: Path = Path("bench/results"),
    database: str = DATABASE,
    sizes: tuple[int, int, int] | None = None,
) -> list[dict[str, Any]]:
    from pyapi import migrate as mig
    from pyapi import server as srv
    from pyapi.checkout.gateway import SimulatedGateway
    from pyapi.http import start_server
    from pyapi.pms import service
    from pyapi.pms.connector import Resilient

    from ..vendor_sim import Simulator, start_simulator

    url = srv.recreate_database(server_url, database)
    mig.upgrade(url)
    n_search, n_hooks, n_checkout = sizes or ((200, 200, 15) if quick else (2000, 1000, 60))
    rows: list[dict[str, Any]] = []
    sim = Simulator()
    sim.add_property(
        "B1",
        "bench-key",
        name="Bench Cloudbeds",
        room_types=[
            ("RT1", "Standard", 2, 40, Decimal("100000")),
            ("RT2", "Deluxe", 3, 20, Decimal("180000")),
        ],
    )
    vendor = start_simulator(sim)
    gateway = SimulatedGateway()
    api = start_server(url, gateway=gateway)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            today = conn.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
            counts = service.import_property(
                conn,
                vendor="cloudbeds",
                property_id="B1",
                base_url=vendor.url,
                api_key="bench-key",
                # no Cloudbeds notifications: their follow-up fetches would share the vendor with
                # the timed checkouts
                days=60,
                resilient=Resilient(),
                today=today,
            )
            ext = counts["hotel_id"]
            native = _native_twin(conn, today, 60)
            ext_rt = conn.execute(
                "select room_type_id from core.pms_room_types where external_id = 'RT1'"
            ).fetchone()[0]
            key = conn.execute(
                *bind(
                    "issue_api_key",
                    columns=("token",),
                    p_system="member",
                    p_hotel_ids=[ext, native],
                    p_label="bench",
                )
            ).fetchone()[0]

            # 1. search, one hotel, 30 nights, one client: native, then external, alternating blocks
            def search(hotel):
                def op(i):
                    ci = today + dt.timedelta(days=1 + i % 20)
                    conn.execute(
                        *bind(
                            "search_availability",
                            p_hotel_id=hotel,
                            p_check_in=ci,
                            p_check_out=ci + dt.timedelta(days=30),
                            p_adults=2,
                        )
                    ).fetchall()

                return op

            for_native, for_ext = [], []
            for _ in range(4):
                for_native += _timed(search(native), n_search // 4)
                for_ext += _timed(search(ext), n_search // 4)
            base = _row("search, native hotel, 30 nights, 1 client (baseline)", for_native)
            mirror = _row("search, external hotel from the mirror, 30 nights, 1 client", for_ext)
            ratio = mirror["p95_ms"] / base["p95_ms"]
            mirror["vs_baseline_p95"] = round(ratio, 2)
            mirror["target"] = f"p95 ≤ 1.25 × native {'✅' if ratio <= 1.25 else '❌'}"
            rows += [base, mirror]

        # 2. webhooks applied per second over HTTP, against authenticated GET /health as the floor
        with httpx.Client(base_url=api.url) as client:
            secret = counts["webhook_secret"]

            def hook(i):
                body = json.dumps(
                    {
                        "id": f"bench-{i}",
                        "type": "inventory_update",
                        "hotelId": "B1",
                        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
                        "data": {
                            "roomTypeId": "RT1",
                            "date": (today + dt.timedelta(days=i % 60)).isoformat(),
                            "available": 40 - i % 7,
                            "total": 40,
                        },
                    }
                ).encode()
                sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                r = client.post("/api/webhooks/pms/cloudbeds", content=body, headers={"X-PMS-Signature": sig})
                assert r.status_code == 200, r.text

            def health(i):
                assert client.get("/health", headers={"X-API-Key": key}).status_code == 200

            floor = _timed(health, n_hooks)
            t = time.perf_counter()
            hooks = _timed(hook, n_hooks)
            per_s = n_hooks / (time.perf_counter() - t)
            rows.append(
                _row(
                    "HTTP floor: GET /health, 1 client (baseline)",
                    floor,
                    ops_s=round(n_hooks / (sum(floor) / 1000), 1),
                )
            )
            rows.append(
                _row(
                    "webhooks applied (signed inventory_update over HTTP), 1 client",
                    hooks,
                    ops_s=round(per_s, 1),
                    vs_baseline_p50=round(_pct(hooks, 0.5) / _pct(floor, 0.5), 2),
                )
            )

            # 3. checkout through the connector, the vendor at 50 ms per call
            sim.faults("B1").latency = 0.05
            calls_before = len(sim.requests)

            def checkout(i):
                ci = today + dt.timedelta(days=1 + i % 50)
                with psycopg.connect(url, autocommit=True) as c:
                    total = c.execute(
                        "select total from api.search_availability(%s, %s, %s) where room_type_id = %s",
                        [ext, ci, ci + dt.timedelta(days=1), ext_rt],
                    ).fetchone()[0]
                r = client.post(
                    "/api/booking/checkout",
                    headers={"X-API-Key": key},
                    timeout=60,
                    json={
                        "vendor": "cloudbeds",
                        "hotelId": ext,
                        "roomTypeId": ext_rt,
                        "checkIn": ci.isoformat(),
                        "checkOut": (ci + dt.timedelta(days=1)).isoformat(),
                        "guestInfo": {"firstName": "Bench", "lastName": f"G{i}"},
                        "payment": {"cardToken": "tok_visa", "amount": float(total), "currency": "KRW"},
                    },
                )
                assert r.status_code == 201, r.text

            samples = _timed(checkout, n_checkout)
            per_checkout = (len(sim.requests) - calls_before) / n_checkout
            rows.append(
                _row(
                    "checkout through Cloudbeds, vendor 50 ms per call, 1 client",
                    samples,
                    ops_s=round(n_checkout / (sum(samples) / 1000), 2),
                    vendor_calls=round(per_checkout, 1),
                    floor_ms=round(per_checkout * 50, 1),
                    vs_floor_p50=round(_pct(samples, 0.5) / (per_checkout * 50), 2),
                )
            )
        assert sim.violations == [], sim.violations
    finally:
        api.stop()
        vendor.stop()
        if database != DATABASE:
            srv.drop_database(server_url, database)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"pms-{stamp}.json").write_text(json.dumps(rows, indent=2, default=str))
    return rows


def results(
    server_url: str,
    *,
    quick: bool = False,
    out_dir: Path = Path("bench/results"),
    database: str = DATABASE,
    ops: int | None = None,
) -> list:
    """The figures of :func:`run` as rows of ``hotelcore bench``'s table (and so of docs/bench.md):
    one client each, the baseline of each figure beside it in the same run. ``ops``: operations
    per figure instead of the run's defaults."""
    from .harness import Result

    out: list[Result] = []
    by_name: dict[str, Result] = {}
    sizes = None if ops is None else (max(4, ops * 4), max(2, ops), max(1, ops))
    for row in run(server_url, quick=quick, out_dir=out_dir, database=database, sizes=sizes):
        name = f"PMS: {row['workload']}"
        n = row["n"]
        seconds = n * row["mean_ms"] / 1000
        r = Result(
            name=name,
            clients=1,
            ops=n,
            ok=n,
            seconds=round(seconds, 3),
            throughput=row.get("ops_s") or (n / seconds if seconds else 0.0),
            mean_ms=row["mean_ms"],
            p50_ms=row["p50_ms"],
            p95_ms=row["p95_ms"],
            p99_ms=row["p99_ms"],
        )
        if "vs_baseline_p95" in row:
            # the mirror's search against its native twin: the target, the same p95
            r.target = "p95 ≤ 1.25 × native twin"
            r.target_met = row["vs_baseline_p95"] <= 1.25
            r.note = f"p95 {row['vs_baseline_p95']:.2f} × the native twin's"
        if "vs_baseline_p50" in row:
            floor = by_name.get("PMS: HTTP floor: GET /health, 1 client (baseline)")
            r.vs_floor = row["vs_baseline_p50"]
            r.note = f"{row['ops_s']} webhooks/s; floor GET /health p50 {floor.p50_ms if floor else '?'} ms"
        if "floor_ms" in row:
            r.vs_floor = row["vs_floor_p50"]
            r.note = f"{row['vendor_calls']} vendor calls × 50 ms = {row['floor_ms']} ms floor"
        by_name[name] = r
        out.append(r)
    return out
