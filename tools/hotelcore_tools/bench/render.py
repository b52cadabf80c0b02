"""Rendering results: the terminal table and the Markdown page of a saved results file."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rich.table import Table

from .. import datagen
from .harness import Result


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


def markdown(doc: dict[str, Any], only: Callable[[Result], bool] | None = None) -> str:
    """The table of a saved results document (``bench/results/*.json``): every workload, or those
    ``only`` keeps."""
    head = (
        "| workload | clients | ops/s | p50 ms | p95 ms | p99 ms | × textbook | × pgbench "
        "| RSS client/server MiB | target | invariants |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n"
    )
    rows = []
    for saved in doc.get("results", []):
        r = Result(**saved)
        if only is not None and not only(r):
            continue
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


def is_headline(r: Result) -> bool:
    """A figure the README shows: a baseline, or a workload with a target of its own."""
    return not r.skipped and (r.target is not None or r.name.startswith(("pgbench", "textbook")))


def headline(doc: dict[str, Any]) -> str:
    """The README's table: the baselines and every workload that has a target."""
    return markdown(doc, is_headline)


def page(doc: dict[str, Any], source: str) -> str:
    """The page of every workload of a saved run (``docs/bench.md``), generated: how the run was
    made, then the full table."""
    m, server, dataset = doc.get("machine") or {}, doc.get("server") or {}, doc.get("dataset") or {}
    facts = [
        ("results file", f"`{source}`"),
        ("command", f"`{doc['command']}`" if doc.get("command") else ""),
        ("started", doc.get("started_at") or ""),
        ("took", f"{doc['seconds']} s" if doc.get("seconds") is not None else ""),
        ("machine", ", ".join(f"{k} {v}" for k, v in m.items())),
        ("server", ", ".join(f"{k} {v}" for k, v in server.items())),
        ("dataset", ", ".join(f"{k} {v}" for k, v in (dataset.get("spec") or {}).items())),
    ]
    lines = [
        "# hotelcore bench: every workload",
        "",
        "<!-- generated by `hotelcore bench --markdown RESULTS.json`; do not edit by hand -->",
        "",
        "Every workload of one run, each beside the baselines of the same run (seed 003's textbook",
        "booking transaction and pgbench's `tpcb-like`). How the bench works and the headline",
        "figures: the README's Speed section.",
        "",
        *(f"- {k}: {v}" for k, v in facts if v),
        "",
        markdown(doc),
    ]
    return "\n".join(lines)
