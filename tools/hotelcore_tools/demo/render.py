"""What the manager reads: the terminal tables and the HTML report (inline SVG charts, opens offline)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from .. import datagen
from .spec import DemoResult

# ============================================================================ what the manager reads


def money(value: Any, minor_units: int) -> str:
    q = Decimal(value).quantize(Decimal(10) ** -minor_units)
    return f"{q:,}"


def percent(value: float) -> str:
    return f"{100 * float(value):.1f} %"


def _fx_usd(amount: Decimal, currency: str) -> float:
    """Presentation only: a chain total in USD at datagen's fixed demo rates."""
    rate = datagen.FX.get(currency, (Decimal(1), Decimal(1)))[0]
    return float(Decimal(amount) / rate)


def tables(result: DemoResult) -> list[Any]:
    """The reports as rich tables."""
    from rich.table import Table

    rep = result.reports
    hotels = {h["id"]: h for h in rep["hotels"]}
    out = []
    t = Table(
        title=f"Occupancy, ADR and RevPAR, nights {rep['first_night']} to {rep['end'] - timedelta(days=1)}"
    )
    for col in (
        "hotel",
        "city",
        "cur",
        "rooms sold",
        "available",
        "occupancy",
        "ADR",
        "RevPAR",
        "room revenue",
        "total revenue",
    ):
        t.add_column(col, justify="left" if col in ("hotel", "city", "cur") else "right")
    for k in rep["kpi"]:
        h = hotels[k["hotel_id"]]
        mu = h["minor_units"]
        t.add_row(
            h["code"],
            h["city"],
            h["currency"],
            f"{k['sold']:,}",
            f"{k['available']:,}",
            percent(k["occupancy"]),
            money(k["adr"], mu),
            money(k["revpar"], mu),
            money(k["room_revenue"], mu),
            money(k["total_revenue"], mu),
        )
    out.append(t)

    t = Table(title="Revenue by month (room + service + tax + fees, each hotel in its currency)")
    t.add_column("month")
    for h in rep["hotels"]:
        t.add_column(f"{h['code']} ({h['currency']})", justify="right")
    months = sorted({r["month"] for r in rep["revenue"]})
    for m in months:
        row = [m.strftime("%Y-%m")]
        for h in rep["hotels"]:
            v = next((r["total"] for r in rep["revenue"] if r["hotel_id"] == h["id"] and r["month"] == m), 0)
            row.append(money(v, h["minor_units"]))
        t.add_row(*row)
    out.append(t)

    t = Table(title="Cancellations and no-shows (every booking made)")
    for col in ("hotel", "bookings", "cancelled", "cancellation rate", "no-shows", "no-show rate", "fees"):
        t.add_column(col, justify="left" if col == "hotel" else "right")
    for c in rep["cancellations"]:
        h = hotels[c["hotel_id"]]
        n = c["bookings"] or 1
        t.add_row(
            h["code"],
            f"{c['bookings']:,}",
            f"{c['cancelled']:,}",
            percent(c["cancelled"] / n),
            f"{c['no_shows']:,}",
            percent(c["no_shows"] / n),
            f"{money(c['fees'], h['minor_units'])} {h['currency']}",
        )
    out.append(t)

    t = Table(
        title=f"Membership ranks ({rep['rank_changes']} rank changes; points earned {rep['points'][0]:,}, "
        f"outstanding {rep['points'][1]:,})"
    )
    for col in ("rank", "members before", "members after"):
        t.add_column(col, justify="left" if col == "rank" else "right")
    for r in rep["ranks"]:
        t.add_row(r["rank"], f"{rep['ranks_before'].get(r['rank'], 0):,}", f"{r['members']:,}")
    out.append(t)

    t = Table(title="Guest services (report.service_revenue_daily, report.service_order_lead_times)")
    for col in ("hotel", "category", "orders", "net", "tax", "gross", "reversed", "p50 min", "p95 min"):
        t.add_column(col, justify="left" if col in ("hotel", "category") else "right")
    for r in rep["service_revenue"]:
        h = hotels[r["hotel_id"]]
        lead = rep["service_lead_times"].get(r["hotel_id"], (0, None, None))
        t.add_row(
            h["code"],
            r["category"],
            f"{r['orders']:,}",
            money(r["net"], h["minor_units"]),
            money(r["tax"], h["minor_units"]),
            f"{money(r['gross'], h['minor_units'])} {h['currency']}",
            money(r["reversed"], h["minor_units"]),
            str(lead[1]),
            str(lead[2]),
        )
    out.append(t)

    if rep["reviews"]:
        t = Table(title="Reviews (report.review_averages_by_hotel)")
        cols = [c for c in rep["reviews"][0] if c not in ("hotel_id", "hotel_name")][:8]
        for col in cols:
            t.add_column(col.removeprefix("avg_"), justify="left" if col == "hotel_code" else "right")
        for r in rep["reviews"]:
            t.add_row(*[f"{r[c]:.2f}" if isinstance(r[c], Decimal | float) else str(r[c]) for c in cols])
        out.append(t)

    t = Table(title=f"The season in numbers ({result.seconds} s)")
    t.add_column("what")
    t.add_column("how many", justify="right")
    for k, v in result.counts.items():
        t.add_row(k, f"{v:,}")
    for k, v in result.refusals.items():
        t.add_row(f"[dim]refused: {k}[/dim]", f"{v:,}")
    out.append(t)
    out.append(invariants_table(result.invariants))
    return out


def invariants_table(inv: dict[str, int]) -> Any:
    from rich.table import Table

    t = Table(title="Invariants (recounted from the rows)")
    t.add_column("invariant")
    t.add_column("breaches", justify="right")
    t.add_column("")
    for k, v in inv.items():
        if k.endswith("_checked"):
            t.add_row(f"[dim]{k.replace('_', ' ')}[/dim]", f"{v:,}", "")
        else:
            t.add_row(
                k.replace("_", " "), str(v), "[green]ok[/green]" if v == 0 else "[bold red]BROKEN[/bold red]"
            )
    return t


# ---------------------------------------------------------------------------- charts (inline SVG)


def _esc(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _blend(a: str, b: str, t: float) -> str:
    t = max(0.0, min(1.0, t))
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def _heat(t: float) -> str:
    """Pale yellow (empty) to deep blue (full)."""
    if t < 0.5:
        return _blend("#fff7bc", "#41b6c4", t * 2)
    return _blend("#41b6c4", "#253494", (t - 0.5) * 2)


def heatmap_svg(rep: dict[str, Any]) -> str:
    nights = [rep["first_night"] + timedelta(days=i) for i in range((rep["end"] - rep["first_night"]).days)]
    cw, ch, left, top = max(6, min(14, 900 // max(1, len(nights)))), 26, 150, 28
    width, height = max(left + cw * len(nights) + 20, left + 460), top + ch * len(rep["hotels"]) + 50
    occ = {
        (d["hotel_id"], d["night"]): (d["sold"] / d["available"] if d["available"] else 0)
        for d in rep["daily"]
    }
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" class="chart" id="heatmap">'
    ]
    for i, n in enumerate(nights):
        if n.day == 1 or i == 0:
            parts.append(
                f'<text x="{left + i * cw}" y="{top - 10}" class="tick">{n.strftime("%b %d")}</text>'
            )
    for r, h in enumerate(rep["hotels"]):
        y = top + r * ch
        parts.append(
            f'<text x="{left - 8}" y="{y + ch * 0.65}" text-anchor="end" class="label">'
            f"{_esc(h['city'])} ({h['currency']})</text>"
        )
        for i, n in enumerate(nights):
            v = occ.get((h["id"], n), 0.0)
            parts.append(
                f'<rect x="{left + i * cw}" y="{y}" width="{cw - 1}" height="{ch - 2}" fill="{_heat(v)}">'
                f"<title>{_esc(h['code'])} {n}: {100 * v:.0f} %</title></rect>"
            )
    ly = top + ch * len(rep["hotels"]) + 14
    for i in range(11):
        parts.append(f'<rect x="{left + i * 24}" y="{ly}" width="24" height="12" fill="{_heat(i / 10)}"/>')
    parts.append(f'<text x="{left - 8}" y="{ly + 10}" text-anchor="end" class="tick">0 %</text>')
    parts.append(f'<text x="{left + 11 * 24 + 6}" y="{ly + 10}" class="tick">100 % of the rooms sold</text>')
    parts.append("</svg>")
    return "".join(parts)


ORIGIN_COLOURS = {
    "member": "#2563eb",
    "ota": "#f59e0b",
    "direct": "#10b981",
    "pms": "#8b5cf6",
    "block": "#dc2626",
}


def tape_svg(rep: dict[str, Any]) -> str:
    first, end = rep["first_night"], rep["end"]
    days = (end - first).days
    rooms = rep["tape_rooms"]
    cw, rh, left, top = max(6, min(14, 900 // max(1, days))), 12, 90, 30
    width, height = max(left + cw * days + 20, left + 580), top + rh * len(rooms) + 40
    row = {r["room_id"]: i for i, r in enumerate(rooms)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" class="chart" id="tape">'
    ]
    for i in range(days):
        n = first + timedelta(days=i)
        if n.isoweekday() in (6, 7):
            parts.append(
                f'<rect x="{left + i * cw}" y="{top}" width="{cw}" height="{rh * len(rooms)}" fill="#f3f4f6"/>'
            )
        if i == 0 or n.isoweekday() == 1:
            parts.append(f'<text x="{left + i * cw}" y="{top - 8}" class="tick">{n.strftime("%d/%m")}</text>')
    for r in rooms:
        y = top + row[r["room_id"]] * rh
        parts.append(
            f'<text x="{left - 6}" y="{y + rh - 3}" text-anchor="end" class="small">'
            f"{_esc(r['number'])} {_esc(r['room_type'])}</text>"
        )
    for s in rep["tape_stays"]:
        a = max((s["first"] - first).days, 0)
        b = min((s["end"] - first).days, days)
        if b <= a or s["room_id"] not in row:
            continue
        y = top + row[s["room_id"]] * rh
        parts.append(
            f'<rect x="{left + a * cw + 1}" y="{y + 1}" width="{(b - a) * cw - 2}" height="{rh - 2}" rx="2" '
            f'fill="{ORIGIN_COLOURS.get(s["kind"], "#6b7280")}"><title>{_esc(s["label"])} '
            f"{s['first']} → {s['end']} ({_esc(s['kind'])})</title></rect>"
        )
    ly = top + rh * len(rooms) + 16
    for i, (k, c) in enumerate(ORIGIN_COLOURS.items()):
        parts.append(
            f'<rect x="{left + i * 110}" y="{ly}" width="14" height="10" fill="{c}"/>'
            f'<text x="{left + i * 110 + 18}" y="{ly + 9}" class="tick">'
            f"{'room block' if k == 'block' else k}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


HOTEL_COLOURS = ("#1d4ed8", "#0891b2", "#ea580c", "#7c3aed", "#16a34a", "#db2777", "#ca8a04", "#475569")


def revenue_svg(rep: dict[str, Any]) -> str:
    months = sorted({r["month"] for r in rep["revenue"]})
    hotels = rep["hotels"]
    totals = {
        (r["hotel_id"], r["month"]): _fx_usd(
            r["total"], next(h["currency"] for h in hotels if h["id"] == r["hotel_id"])
        )
        for r in rep["revenue"]
    }
    peak = max([sum(totals.get((h["id"], m), 0) for h in hotels) for m in months] + [1])
    bw, gap, left, top, ph = 90, 50, 80, 20, 260
    width = left + len(months) * (bw + gap) + 220
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + ph + 50}" class="chart" '
        f'id="revenue">'
    ]
    for i in range(5):
        v = peak * i / 4
        y = top + ph - ph * i / 4
        parts.append(
            f'<line x1="{left}" x2="{left + len(months) * (bw + gap)}" y1="{y}" y2="{y}" stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" class="tick">{v / 1000:,.0f}k</text>'
        )
    for j, m in enumerate(months):
        x = left + gap / 2 + j * (bw + gap)
        y = top + ph
        for i, h in enumerate(hotels):
            v = totals.get((h["id"], m), 0)
            hgt = ph * v / peak
            y -= hgt
            parts.append(
                f'<rect x="{x}" y="{y}" width="{bw}" height="{hgt}" fill="{HOTEL_COLOURS[i % 8]}">'
                f"<title>{_esc(h['code'])} {m:%Y-%m}: ≈ {v:,.0f} USD</title></rect>"
            )
        parts.append(
            f'<text x="{x + bw / 2}" y="{top + ph + 18}" text-anchor="middle" class="label">{m:%b %Y}</text>'
        )
    lx = left + len(months) * (bw + gap) + 20
    for i, h in enumerate(hotels):
        parts.append(
            f'<rect x="{lx}" y="{top + i * 20}" width="14" height="12" fill="{HOTEL_COLOURS[i % 8]}"/>'
            f'<text x="{lx + 20}" y="{top + i * 20 + 11}" class="tick">{_esc(h["city"])} '
            f"({h['currency']})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


RANK_COLOURS = {"bronze": "#b45309", "silver": "#94a3b8", "gold": "#eab308", "platinum": "#0f766e"}


def ranks_svg(rep: dict[str, Any]) -> str:
    ranks = rep["ranks"]
    before = rep["ranks_before"]
    peak = max([r["members"] for r in ranks] + list(before.values()) + [1])
    bw, left, top, ph = 44, 60, 20, 220
    width = left + len(ranks) * (2 * bw + 50) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + ph + 50}" class="chart" '
        f'id="ranks">'
    ]
    for j, r in enumerate(ranks):
        x = left + j * (2 * bw + 50)
        colour = RANK_COLOURS.get(r["rank"], "#6b7280")
        for k, (v, opacity, label) in enumerate(
            ((before.get(r["rank"], 0), 0.45, "before"), (r["members"], 1.0, "after"))
        ):
            hgt = ph * v / peak
            parts.append(
                f'<rect x="{x + k * bw}" y="{top + ph - hgt}" width="{bw - 4}" height="{hgt}" fill="{colour}" '
                f'fill-opacity="{opacity}"><title>{r["rank"]} {label}: {v}</title></rect>'
                f'<text x="{x + k * bw + (bw - 4) / 2}" y="{top + ph - hgt - 4}" text-anchor="middle" '
                f'class="tick">{v:,}</text>'
            )
        parts.append(
            f'<text x="{x + bw}" y="{top + ph + 18}" text-anchor="middle" class="label">{r["rank"]}</text>'
        )
    parts.append(
        f'<text x="{left}" y="{top + ph + 40}" class="tick">pale: at the start of the season; '
        f"solid: at its end</text></svg>"
    )
    return "".join(parts)


def write_html(result: DemoResult, path: Path) -> Path:
    """The report as one self-contained HTML file (inline CSS and SVG, no script, no network)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hotelcore_tools.demo", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    rep = result.reports
    hotels = {h["id"]: h for h in rep["hotels"]}
    kpi = [
        {
            **k,
            "hotel": hotels[k["hotel_id"]],
            "occupancy_pct": percent(k["occupancy"]),
            "adr_fmt": money(k["adr"], hotels[k["hotel_id"]]["minor_units"]),
            "revpar_fmt": money(k["revpar"], hotels[k["hotel_id"]]["minor_units"]),
            "revenue_fmt": money(k["total_revenue"], hotels[k["hotel_id"]]["minor_units"]),
        }
        for k in rep["kpi"]
    ]
    cancellations = [
        {
            **c,
            "hotel": hotels[c["hotel_id"]],
            "rate": percent(c["cancelled"] / (c["bookings"] or 1)),
            "no_show_rate": percent(c["no_shows"] / (c["bookings"] or 1)),
            "fees_fmt": money(c["fees"], hotels[c["hotel_id"]]["minor_units"]),
        }
        for c in rep["cancellations"]
    ]
    services = [
        {
            **r,
            "hotel": hotels[r["hotel_id"]],
            "net_fmt": money(r["net"], hotels[r["hotel_id"]]["minor_units"]),
            "tax_fmt": money(r["tax"], hotels[r["hotel_id"]]["minor_units"]),
            "gross_fmt": money(r["gross"], hotels[r["hotel_id"]]["minor_units"]),
            "reversed_fmt": money(r["reversed"], hotels[r["hotel_id"]]["minor_units"]),
            "lead": rep["service_lead_times"].get(r["hotel_id"], (0, None, None)),
        }
        for r in rep["service_revenue"]
    ]
    html = env.get_template("demo_report.html.j2").render(
        services=services,
        spec=result.spec,
        result=result,
        rep=rep,
        kpi=kpi,
        cancellations=cancellations,
        tape_hotel=rep["hotels"][0],
        heatmap=jinja2.utils.markupsafe.Markup(heatmap_svg(rep)),
        tape=jinja2.utils.markupsafe.Markup(tape_svg(rep)),
        revenue=jinja2.utils.markupsafe.Markup(revenue_svg(rep)),
        ranks=jinja2.utils.markupsafe.Markup(ranks_svg(rep)),
        ok=result.ok,
    )
    path = Path(path)
    path.write_text(html, encoding="utf-8")
    return path
