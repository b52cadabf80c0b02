"""``hotelcore bench``: the run (its own database, the dataset, every workload, the baselines)
and the command's options.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from rich.console import Console

from pyapi import config
from pyapi import migrate as mig
from pyapi import server as srv

from .. import datagen
from .baselines import pgbench_baseline
from .dataset import Ctx, RunSettings
from .harness import BENCH_DB, BENCH_PAGE, RESULTS_DIR, Result, console, run_workload
from .http_load import http_bench
from .render import _fmt, headline, page, render
from .reports import report_workloads
from .workloads import build_workloads

# ============================================================================ the command

# Operations each client of a concurrent workload makes before the timed run. A new connection
# compiles every PL/pgSQL body it calls and plans each of their statements afresh for its first
# five executions (custom plans) before it settles on cached plans: a first hold + confirm costs
# about 35 ms of backend CPU against 5 ms warm. Sixteen cold connections would spend a few
# hundred ms of a three-second run warming up, which a textbook transaction of three plain
# statements barely pays; the HTTP runs warm their clients the same way. One-client workloads
# run long enough for their one connection's warm-up not to count.
WARMUP_OPS = 6


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
                warmup=WARMUP_OPS if (wl.clients or settings.clients) > 1 and wl.group != "report" else 0,
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
            from .events import events_bench

            out.print("[bold]events[/bold] (outbox on/off, webhook latency at 200/s, one dispatcher) ...")
            results += events_bench(url, ctx, settings, out)
        if wanted("PMS"):
            from . import pms

            out.print("[bold]PMS[/bold] (external hotel: mirror search, webhooks, checkout at 50 ms) ...")
            results += pms.results(
                server_url, quick=settings.quick, database=f"{database}_pms", ops=settings.ops
            )
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
            help="For a saved results file: write the page of every workload (--page) and print the"
            " README's headline table, then exit (no database needed).",
        ),
    ] = None,
    page_path: Annotated[
        Path, typer.Option("--page", help="Where --markdown writes the page of every workload.")
    ] = BENCH_PAGE,
) -> None:
    """Benchmarks on a dataset of its own (database hotelcore_bench), with baselines in the same run."""
    if markdown_of is not None:
        try:
            saved = json.loads(markdown_of.read_text())
        except (OSError, ValueError) as exc:
            console.print(f"[red]error:[/red] cannot read {markdown_of}: {exc}", highlight=False)
            raise typer.Exit(1) from None
        page_path.parent.mkdir(parents=True, exist_ok=True)
        page_path.write_text(page(saved, markdown_of.name))
        sys.stdout.write(headline(saved))
        Console(stderr=True).print(f"every workload: {page_path}", highlight=False)
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
