"""The tools' commands, registered on the runtime's ``hotelcore`` command when the tools are installed:
``hotelcore demo``, ``hotelcore bench``, ``hotelcore docs``, ``hotelcore vendor-sim`` and
``hotelcore pms bench``. Each imports its tool only when it runs, so that ``hotelcore --help``
stays fast.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from pyapi.server import ready_server

from .bench.command import bench_command  # noqa: F401  (the options of ``hotelcore bench``)

console = Console()


def demo(
    hotels: Annotated[int, typer.Option(help="Hotels in the chain (time zones and currencies differ).")] = 5,
    days: Annotated[int, typer.Option(help="Nights of the season, simulated day by day.")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same figures.")] = 42,
    output: Annotated[Path, typer.Option(help="Where to write the HTML report (opens offline).")] = Path(
        "demo-report.html"
    ),
) -> None:
    """A season in a hotel chain, day by day through the api, then the reports a manager reads.

    Runs in its own database (hotelcore_demo, recreated each time) on the embedded server, or on the server of DATABASE_URL. Fails (exit 1) if an invariant breaks.
    """
    from . import demo as season

    server = ready_server()
    result = season.main(server.url, season.DemoSpec(hotels=hotels, days=days, seed=seed), output, console)
    if not result.ok:
        raise typer.Exit(1)


def docs() -> None:
    """Regenerate README.md's SQL API tables (functions, views, error codes) from the migrated database."""
    from pyapi import migrate as mig
    from pyapi import server as srv

    from . import docs as readme

    server = ready_server()
    url = srv.recreate_database(server.url, "hotelcore_docs")
    try:
        mig.upgrade(url)
        changed = readme.write(url)
    finally:
        srv.drop_database(server.url, "hotelcore_docs")
    console.print("README.md updated" if changed else "README.md already up to date")


def vendor_sim(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8090,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve a simulated Cloudbeds (API v1.3 subset, requests validated against its OpenAPI file):
    property cb-1001, API key demo-key; faults via POST /_sim/faults/{propertyID}."""
    import uvicorn

    from .vendor_sim import BASE_PATH, demo_simulator

    sim = demo_simulator()
    console.print(
        f"simulated Cloudbeds on http://{host}:{port}{BASE_PATH} (property cb-1001, x-api-key demo-key); "
        f"started {dt.datetime.now(dt.UTC):%H:%M:%S} UTC",
        highlight=False,
    )
    uvicorn.run(sim.app, host=host, port=port, log_level="warning", access_log=False)


def pms_bench(
    quick: Annotated[bool, typer.Option(help="A short run (fewer samples).")] = False,
) -> None:
    """Measure external-hotel search (vs a native twin), webhooks per second (vs the HTTP floor) and
    checkout through the simulated Cloudbeds at 50 ms per call (vs the vendor calls' latency)."""
    from .bench import pms as bench

    server = ready_server()
    with Progress(transient=True) as progress:
        progress.add_task("external-PMS bench", total=None)
        rows = bench.run(server.url, quick=quick)
    table = Table("workload", "n", "p50 ms", "p95 ms", "p99 ms", "ops/s", "vs baseline", "target")
    for r in rows:
        vs = r.get("vs_baseline_p95") or r.get("vs_baseline_p50") or r.get("vs_floor_p50") or ""
        table.add_row(
            r["workload"],
            str(r["n"]),
            str(r["p50_ms"]),
            str(r["p95_ms"]),
            str(r["p99_ms"]),
            str(r.get("ops_s", "")),
            str(vs),
            r.get("target", ""),
        )
    console.print(table)
