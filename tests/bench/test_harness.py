"""The benchmark harness itself, on a tiny dataset: a deterministic generator, invariants after
loading, the runner's figures, percentiles on known samples. No test asserts a time."""

from __future__ import annotations

import itertools
import math
import random
import threading
from collections import Counter
from datetime import timedelta

import psycopg
import pytest

from hotelcore_tools import bench, datagen
from pyapi import config
from tests.support.errors import sqlstate

TINY = datagen.DatasetSpec(hotels=2, room_types=3, rooms=6, days=30, members=20, audit_rooms=6, seed=7)


@pytest.fixture
def second_db(server_url: str, template_db: str):
    """Another database cloned from the migrated template (to load the same seed twice)."""
    name = f"{template_db}_bench2"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}" template "{template_db}"')
    yield config.with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def tiny_db(fresh_db: str) -> str:
    datagen.load(fresh_db, datagen.make_plan(TINY))
    return fresh_db


# ---------------------------------------------------------------------------- statistics


def test_percentiles_on_known_samples():
    samples = list(range(1, 101))  # 1..100
    random.Random(1).shuffle(samples)
    assert bench.percentile(samples, 50) == pytest.approx(50.5)
    assert bench.percentile(samples, 95) == pytest.approx(95.05)
    assert bench.percentile(samples, 99) == pytest.approx(99.01)
    assert bench.percentile(samples, 0) == 1
    assert bench.percentile(samples, 100) == 100
    assert bench.percentile([4.0], 99) == 4.0
    assert bench.percentile([1.0, 3.0], 50) == 2.0
    assert math.isnan(bench.percentile([], 50))
    with pytest.raises(ValueError):
        bench.percentile(samples, 101)


def test_summarize_builds_the_figures_from_latencies():
    res = bench.summarize(
        "x",
        2,
        [0.001, 0.002, 0.003, 0.004],
        2.0,
        ok=3,
        refused=1,
        errors=5,
        codes={sqlstate("INVENTORY_UNAVAILABLE"): 1},
    )
    assert (res.ops, res.ok, res.refused, res.errors) == (4, 3, 1, 5)
    assert res.throughput == pytest.approx(2.0)
    assert res.p50_ms == pytest.approx(2.5)
    assert res.max_ms == pytest.approx(4.0)
    assert res.mean_ms == pytest.approx(2.5)
    doc = res.as_json()
    assert doc["codes"] == {sqlstate("INVENTORY_UNAVAILABLE"): 1} and doc["p95_ms"] == pytest.approx(3.85)


def test_pgbench_log_lines_give_latencies(tmp_path):
    # pgbench -l: client_id transaction_no time(µs) script_no time_epoch time_us
    (tmp_path / "pgbench_log.123").write_text("0 1 1500 0 1700000000 1\n0 2 2500 0 1700000000 2\n")
    (tmp_path / "pgbench_log.123.1").write_text("1 1 500 0 1700000000 3\n")
    assert sorted(bench._pgbench_log_latencies(tmp_path)) == pytest.approx([0.0005, 0.0015, 0.0025])


# ---------------------------------------------------------------------------- the generator


def test_same_seed_same_plan_other_seed_other_plan():
    a, b = datagen.make_plan(TINY), datagen.make_plan(TINY)
    assert a == b
    other = datagen.make_plan(datagen.DatasetSpec(**{**TINY.__dict__, "seed": 8}))
    assert other.stays != a.stays
    assert a.figures()["hotels"] == 3  # two chain hotels and the front-desk hotel


def test_plan_never_puts_more_stays_on_a_night_than_rooms():
    plan = datagen.make_plan(datagen.DatasetSpec(hotels=3, room_types=4, rooms=12, days=40, booked_share=0.8))
    taken = Counter()
    for s in plan.stays:
        for night in range(s.first_night, s.first_night + s.nights):
            taken[(s.hotel, s.room_type, night)] += 1
    for (h, t, _night), n in taken.items():
        assert n <= len(plan.hotels[h].room_types[t].rooms)
    assert all(0 <= s.first_night and s.first_night + s.nights <= 40 for s in plan.stays)


def test_members_have_names_in_their_hotel_locale_and_every_rank():
    plan = datagen.make_plan(datagen.DatasetSpec(hotels=17, rooms=20, room_types=4, days=10, members=400))
    assert {m.rank_code for m in plan.members} == {"bronze", "silver", "gold", "platinum"}
    japanese = [m for m in plan.members if m.country_code == "JP"]
    assert japanese and all(m.family_name_reading for m in japanese)
    assert len({m.email for m in plan.members}) == len(plan.members)


def test_loading_the_same_seed_twice_gives_the_same_figures_and_invariants_hold(fresh_db, second_db):
    plan = datagen.make_plan(TINY)
    datagen.load(fresh_db, plan)
    datagen.load(second_db, datagen.make_plan(TINY))
    with psycopg.connect(fresh_db) as a, psycopg.connect(second_db) as b:
        fa, fb = datagen.figures(a), datagen.figures(b)
        assert fa == fb
        assert fa["hotels"] == 3 and fa["reservations"] == len(plan.stays)
        assert fa["room_nights_booked"] == sum(s.nights for s in plan.stays)
        inv = datagen.check_invariants(a)
        assert datagen.invariants_hold(inv), inv
        assert inv["nights_checked"] > 0


# ---------------------------------------------------------------------------- the runner


def test_runner_returns_the_figures_and_counts_refusals(tiny_db):
    calls = itertools.count(1)

    def op(conn, client, rng):
        if next(calls) % 2 == 0:  # every second call in all is a documented refusal
            conn.execute("select internal.raise_error('INVENTORY_UNAVAILABLE', 'night x')")
        conn.execute("select 1").fetchone()

    res = bench.run_workload(tiny_db, bench.Workload("probe", op), clients=2, ops=8)
    assert (res.ops, res.ok, res.refused, res.errors) == (8, 4, 4, 0)
    assert res.codes == {sqlstate("INVENTORY_UNAVAILABLE"): 4}
    assert res.clients == 2 and res.throughput > 0
    assert res.p50_ms <= res.p95_ms <= res.p99_ms <= res.max_ms
    assert res.client_rss_mb and res.client_rss_mb > 0


def test_runner_stops_when_prepared_items_run_out(tiny_db):
    items = bench.Items([1, 2, 3])
    res = bench.run_workload(
        tiny_db, bench.Workload("drain", lambda c, i, r: items.take()), clients=2, duration=30
    )
    assert res.ops == 3 and len(items) == 0


def test_warm_up_runs_on_each_client_s_connection_and_is_not_counted(tiny_db):
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def op(conn, client, rng):
        with lock:
            seen.append((client, conn.info.backend_pid))
        if len(seen) % 3 == 0:  # a failed warm-up transaction is rolled back, not carried into the run
            with conn.transaction():
                conn.execute("select internal.raise_error('INVENTORY_UNAVAILABLE', 'night x')")
        conn.execute("select 1").fetchone()

    res = bench.run_workload(tiny_db, bench.Workload("warm", op), clients=2, ops=4, warmup=3)
    assert res.ops == 4 and res.errors == 0
    assert len(seen) == 2 * 3 + 4
    assert {client for client, _ in seen[:6]} == {0, 1}
    pids = {client: {pid for c, pid in seen if c == client} for client in (0, 1)}
    assert all(len(p) == 1 for p in pids.values())  # warmed on the connection the run then uses
    items = bench.Items([1, 2])
    drained = bench.run_workload(
        tiny_db, bench.Workload("drain", lambda c, i, r: items.take()), clients=2, ops=5, warmup=4
    )
    assert drained.ops == 0 and len(items) == 0  # inputs eaten by the warm-up end the run, no error


def test_textbook_baseline_books_on_a_copy_of_the_calendar(tiny_db):
    with psycopg.connect(tiny_db, autocommit=True) as conn:
        copied = bench.textbook_setup(conn)
        ctx = bench.Ctx.read(conn, TINY.days)
        assert copied == conn.execute("select count(*) from core.inventory").fetchone()[0]
        rng = random.Random(3)
        booked = refused = 0
        for _ in range(20):
            try:
                bench.textbook_book(conn, ctx.request(rng))
                booked += 1
            except bench.Refused:
                refused += 1
        assert booked + refused == 20 and booked > 0
        assert bench.textbook_check(conn) == {"oversold_nights": 0, "counter_below_recount": 0}
        # the ledger's own calendar is untouched by the baseline
        assert datagen.invariants_hold(datagen.check_invariants(conn))


def test_confirm_floor_writes_a_confirmation_s_rows_on_copies(tiny_db):
    with psycopg.connect(tiny_db, autocommit=True) as conn:
        copied = bench.confirm_floor_setup(conn)
        assert copied == conn.execute("select count(*) from core.inventory").fetchone()[0]
        before = conn.execute("select count(*) from core.reservations").fetchone()[0]
        ctx = bench.Ctx.read(conn, TINY.days)
        rng = random.Random(3)
        for n in range(1, 6):
            bench.confirm_floor(conn, ctx.request(rng), n)
        # one row of each table per confirmation, two events, and no trigger, key or policy on them
        counts = {
            t: conn.execute(f"select count(*) from bench_confirm_floor.{t}").fetchone()[0]
            for t in bench.CONFIRM_FLOOR_TABLES
            if t not in ("inventory", "holds")
        }
        assert counts == {t: 10 if t == "events" else 5 for t in counts}
        assert conn.execute(
            "select count(*) from bench_confirm_floor.holds where status = 'confirmed'"
        ).fetchone() == (5,)
        assert conn.execute(
            """select count(*) from pg_trigger g join pg_class c on c.oid = g.tgrelid
               join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'bench_confirm_floor'"""
        ).fetchone() == (0,)
        # the same indexes as the tables it copies
        assert (
            conn.execute(
                """select count(*) from pg_indexes f join pg_indexes c on c.schemaname = 'core'
                 and c.tablename = f.tablename
                 and (c.indexdef like 'CREATE UNIQUE%%') = (f.indexdef like 'CREATE UNIQUE%%')
                 and substring(c.indexdef from ' USING .*$') = substring(f.indexdef from ' USING .*$')
               where f.schemaname = 'bench_confirm_floor'"""
            ).fetchone()[0]
            == conn.execute(
                "select count(*) from pg_indexes where schemaname = 'core' and tablename = any(%s)",
                (list(bench.CONFIRM_FLOOR_TABLES),),
            ).fetchone()[0]
        )
        # the ledger is untouched
        assert conn.execute("select count(*) from core.reservations").fetchone()[0] == before
        assert datagen.invariants_hold(datagen.check_invariants(conn))


def test_checkout_floor_writes_a_checkout_s_rows_on_copies_and_is_not_served(tiny_db):
    from fastapi.testclient import TestClient

    from hotelcore_tools.bench import floor
    from pyapi.checkout.gateway import SimulatedGateway
    from pyapi.client import bind
    from pyapi.http import Settings, create_app

    with psycopg.connect(tiny_db, autocommit=True) as conn:
        floor.checkout_floor_setup(conn)
        ctx = bench.Ctx.read(conn, TINY.days)
        token = conn.execute(
            *bind(
                "issue_api_key",
                columns=("token",),
                p_system="member",
                p_hotel_ids=[h.id for h in ctx.hotels],
                p_label="bench",
            )
        ).fetchone()[0]
        before = conn.execute(
            "select (select count(*) from core.reservations), (select count(*) from core.checkout_sagas)"
        ).fetchone()
    settings = Settings(database_url=tiny_db, recovery_interval=0, pool_max=2)
    served = create_app(settings, gateway=SimulatedGateway())
    app = create_app(settings, gateway=SimulatedGateway())
    app.include_router(floor.router)
    rng = random.Random(3)
    reqs = [ctx.request(rng) for _ in range(3)]
    with TestClient(served) as plain, TestClient(app) as client:
        # the served API has no floor
        for path in ("/bench/floor", "/bench/checkout-floor"):
            assert plain.post(path, headers={"X-API-Key": token}).status_code == 404
        answers = []
        for n, r in enumerate(reqs):
            answer = client.post(
                "/bench/checkout-floor",
                headers={"X-API-Key": token, "Idempotency-Key": f"floor-{n}"},
                json={
                    "hotelId": r.hotel_id,
                    "roomTypeId": r.room_type_id,
                    "ratePlanId": r.rate_plan_id,
                    "checkIn": r.check_in.isoformat(),
                    "checkOut": r.check_out.isoformat(),
                    "adults": r.adults,
                    "guestInfo": {"firstName": "Bench", "lastName": f"Guest{n}"},
                    "payment": {"cardToken": "tok_bench", "amount": "100.00", "currency": "JPY"},
                },
            )
            assert answer.status_code == 201, answer.text
            answers.append(answer.json()["data"])
    s = "bench_confirm_floor"
    with psycopg.connect(tiny_db, autocommit=True) as conn:
        # the three transactions' rows: the record with its stored answer, the saga succeeded with
        # its hold, authorisation, booking and capture, the hold confirmed, a confirmation's rows
        rows = conn.execute(
            f"""select s.status, s.step, k.status, k.response_status, k.response_body is not null,
                       h.status::text, r.confirmation_code = c.confirmation_code,
                       r.payment_authorisation = s.authorisation_ref, s.capture_ref is not null,
                       (select count(*) from {s}.hold_lines l where l.hold_id = h.id),
                       (select count(*) from {s}.folios f where f.reservation_id = r.id),
                       (select count(*) from {s}.events e where e.aggregate_id = r.id::text)
                from {s}.checkout_sagas s
                join {s}.idempotency_keys k on k.id = s.idempotency_key_id
                join {s}.holds h on h.id = s.hold_id
                join {s}.reservations r on r.id = s.reservation_id and r.hold_id = h.id
                join {s}.confirmation_codes c on c.reservation_id = r.id
                order by s.id"""
        ).fetchall()
        assert (
            rows
            == [("succeeded", "captured", "completed", 201, True, "confirmed", True, True, True, 1, 1, 2)] * 3
        )
        assert [a["checkoutId"] for a in answers] == [
            x[0] for x in conn.execute(f"select id from {s}.checkout_sagas order by id").fetchall()
        ]
        # the nights held, then booked: the copy's counters moved by each stay's nights
        assert conn.execute(
            f"""select sum(c.booked - i.booked), sum(c.held - i.held)
                from {s}.inventory c join core.inventory i using (hotel_id, room_type_id, night)"""
        ).fetchone() == (sum(r.nights for r in reqs), 0)
        # copies with nothing but their indexes, and the ledger untouched
        assert conn.execute(
            """select count(*) from pg_trigger g join pg_class c on c.oid = g.tgrelid
               join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s""",
            (s,),
        ).fetchone() == (0,)
        assert conn.execute(
            """select count(*) from pg_constraint k join pg_namespace n on n.oid = k.connamespace
               where n.nspname = %s and k.contype in ('f', 'c')""",
            (s,),
        ).fetchone() == (0,)
        assert (
            conn.execute(
                "select (select count(*) from core.reservations), (select count(*) from core.checkout_sagas)"
            ).fetchone()
            == before
        )


def test_requests_fall_inside_the_calendar(tiny_db):
    with psycopg.connect(tiny_db) as conn:
        ctx = bench.Ctx.read(conn, TINY.days)
    assert ctx.audit_hotel is not None and len(ctx.hotels) == 2
    rng = random.Random(5)
    for _ in range(200):
        r = ctx.request(rng)
        today = next(h.today for h in ctx.hotels if h.id == r.hotel_id)
        assert today < r.check_in < r.check_out <= today + timedelta(days=TINY.days)


def test_a_whole_run_on_the_tiny_dataset(server_url, template_db):
    settings = bench.RunSettings(clients=1, duration=None, ops=3, seed=1, quick=True)
    doc = bench.run(
        server_url, TINY, settings, database=f"{template_db}_benchrun", pgbench=False, report_ops=1
    )
    results = doc["results"]
    names = [r["name"] for r in results]
    assert "textbook booking (seed 003)" in names and any(n.startswith("report.") for n in names)
    # a confirmation against its floor (the same rows in plain SQL) in the same run
    confirm = next(r for r in results if r["name"] == "confirm_booking")
    assert confirm["target"] == "≥ 1.0 × textbook" and confirm["vs_floor"] is not None
    assert datagen.invariants_hold(doc["dataset"]["invariants_after_load"])
    for r in results:
        assert {"throughput", "p50_ms", "p95_ms", "p99_ms", "client_rss_mb", "invariants"} <= r.keys()
        if r["invariants"] is not None:
            assert datagen.invariants_hold(r["invariants"]), (r["name"], r["invariants"])
    ran = [r for r in results if not r["skipped"] and r["ops"]]
    assert ran, "no workload ran"
    # every report view is read three ways (Python full read against the target, COPY,
    # server only), materialized ones are refreshed, and dashboards read the *_in_scope wrappers
    by_name = {r["name"]: r for r in results}
    assert by_name["report.revenue_daily"]["target"].startswith("p95 ≤ 50 ms")
    assert by_name["report.revenue_daily_in_scope"]["target"].startswith("p95 ≤ 50 ms")
    assert by_name["report.occupancy_daily"]["target"].startswith("p95 ≤ 1 s")
    assert by_name["report.occupancy_daily"]["target_met"] is not None
    assert {
        "report.occupancy_daily, server + transfer (COPY)",
        "refresh report.revenue_daily",
    } <= by_name.keys()
    assert any(n.startswith("report.occupancy_daily, server") and "EXPLAIN ANALYZE" in n for n in by_name)
    # the HTTP checkout against its floor (a checkout's rows in plain SQL) in the same run
    checkout_floor = by_name["HTTP checkout floor (its rows in plain SQL)"]
    assert checkout_floor["ok"] and not checkout_floor["errors"]
    assert by_name["HTTP checkout (saga)"]["vs_floor"] is not None
    # the external-PMS figures, each with its baseline of the same run
    mirror = by_name["PMS: search, external hotel from the mirror, 30 nights, 1 client"]
    assert mirror["ok"] and mirror["target"].startswith("p95 ≤ 1.25 × native twin")
    assert mirror["target_met"] is not None
    assert by_name["PMS: search, native hotel, 30 nights, 1 client (baseline)"]["ok"]
    hooks = by_name["PMS: webhooks applied (signed inventory_update over HTTP), 1 client"]
    assert hooks["throughput"] > 0 and hooks["vs_floor"] is not None
    checkout = by_name["PMS: checkout through Cloudbeds, vendor 50 ms per call, 1 client"]
    assert checkout["ok"] and checkout["p99_ms"] >= checkout["p50_ms"] and checkout["vs_floor"] >= 1
    for dashboard in ("1 hotel × 1 year", "whole chain × 1 month"):
        r = by_name[f"report.revenue_daily_in_scope, {dashboard}"]
        assert r["ok"] and not r["errors"] and r["target"].startswith("p95 ≤ 50 ms")
        # and its floor, a plain table of one answer's rows, gives the query's ratio to it
        floor = by_name[
            f"report.revenue_daily_in_scope, {dashboard}, floor: a plain table of one answer's rows"
        ]
        assert floor["ok"] and not floor["errors"] and r["vs_floor"] is not None


# ---------------------------------------------------------------------------- README table


def test_markdown_table_of_saved_results(tmp_path):
    ok = bench.Result(name="confirm_booking", clients=16, ops=10, ok=8, refused=2, throughput=1234.5)
    ok.p50_ms, ok.p95_ms, ok.p99_ms = 1.0, 2.5, 3.25
    ok.target, ok.target_met, ok.vs_textbook = "≥ 0.5 × textbook", False, 0.42
    ok.invariants = {"oversold_nights": 0}
    ok.api_rss_mb = 73.0
    skipped = bench.Result(name="HTTP checkout", clients=32, skipped=True, note="no aiohttp")
    doc = {"results": [ok.as_json(), skipped.as_json()]}
    text = bench.markdown(doc)
    lines = text.splitlines()
    assert lines[0].startswith("| workload | clients | ops/s")
    assert len(lines) == 4
    row = lines[2]
    assert row.startswith("| confirm_booking (2 refused) | 16 | 1,234.5 | 1.00 | 2.50 | 3.25 | 0.42 |")
    assert "(API 73)" in row and "≥ 0.5 × textbook ❌" in row
    assert row.endswith("| ok |") == datagen.invariants_hold(ok.invariants)
    assert "skipped: no aiohttp" in lines[3]
    saved = tmp_path / "run.json"
    saved.write_text(__import__("json").dumps(doc))
    from typer.testing import CliRunner

    from pyapi.cli import app

    page = tmp_path / "docs" / "bench.md"
    result = CliRunner().invoke(app, ["bench", "--markdown", str(saved), "--page", str(page)])
    assert result.exit_code == 0, result.output
    # the README's headline table on stdout (a workload with a target), every workload on the page
    assert result.stdout == bench.headline(doc)
    assert result.stdout.splitlines()[2] == row and "HTTP checkout" not in result.stdout
    assert text in page.read_text() and "run.json" in page.read_text()
