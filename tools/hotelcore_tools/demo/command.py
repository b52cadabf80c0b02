"""``hotelcore demo``: recreate and migrate the demo database, run the season, print, write, check."""

from __future__ import annotations

import time as wallclock
from pathlib import Path
from typing import Any

from .readout import run
from .render import tables, write_html
from .spec import DEMO_DATABASE, DemoResult, DemoSpec

# ---------------------------------------------------------------------------- the command


def main(server_url: str, spec: DemoSpec, output: Path, console: Any) -> DemoResult:
    """``hotelcore demo``: recreate and migrate the demo database, run the season, print, write, check."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pyapi import migrate as mig
    from pyapi import server as srv

    t0 = wallclock.perf_counter()
    console.print(
        f"[bold]hotelcore demo[/bold]: {spec.hotels} hotel(s), {spec.days} nights from {spec.first_night}, "
        f"seed {spec.seed}, database {DEMO_DATABASE}",
        highlight=False,
    )
    url = srv.recreate_database(server_url, DEMO_DATABASE)
    with console.status("migrating the demo database"):
        mig.upgrade(url)
    migrate_seconds = round(wallclock.perf_counter() - t0, 1)
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    from .events import EventFlow

    with EventFlow(url) as events, Progress(*columns, console=console) as progress:
        result = run(url, spec, progress)
        with console.status("delivering the last events"):
            events.finish()
    result.invariants |= events.invariants
    result.timings = {"migrate": migrate_seconds, **result.timings}
    if result.http_note:
        console.print(result.http_note, style="dim", highlight=False)
    for table in tables(result) + events.tables():
        console.print(table)
    result.html_path = write_html(result, output)
    result.seconds = round(wallclock.perf_counter() - t0, 1)
    console.print(
        f"report written to [bold]{result.html_path}[/bold] (opens offline); "
        f"took {result.seconds} s ({', '.join(f'{k} {v} s' for k, v in result.timings.items())})",
        highlight=False,
    )
    if result.ok:
        console.print("[bold green]every invariant holds[/bold green]")
    else:
        broken = ", ".join(
            f"{k} = {v}" for k, v in result.invariants.items() if v and not k.endswith("_checked")
        )
        console.print(f"[bold white on red] INVARIANT BROKEN [/bold white on red] {broken}", highlight=False)
    return result
