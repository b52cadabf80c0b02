"""After the season: the invariants recounted from the rows, and the reports a manager reads."""

from __future__ import annotations

import time as wallclock
from typing import Any

import psycopg

from .. import datagen
from .season import Season
from .spec import DemoResult, DemoSpec, _Progress

# ============================================================================ checks and reports


def check_invariants(conn: psycopg.Connection) -> dict[str, int]:
    """The promises of the ledger and the front desk, recounted from the rows (0 = kept).

    ``oversold_nights`` / ``drifted_nights`` / ``blocked_drifted`` come from the helpers'
    recount views (:func:`hotelcore_tools.datagen.check_invariants`); the others are recounted here.
    """
    inv = datagen.check_invariants(conn)
    out = {k: v for k, v in inv.items()}
    out["overlapping_stays"] = conn.execute(
        """select count(*) from core.room_assignments a join core.room_assignments b
             on a.room_id = b.room_id and a.id < b.id and a.nights && b.nights
           where a.active and b.active"""
    ).fetchone()[0]
    out["rooms_sold_over_capacity"] = conn.execute(
        """select count(*) from (
               select a.hotel_id, n.night, count(distinct a.room_id) as used
               from core.room_assignments a
               cross join generate_series(lower(a.nights), upper(a.nights) - 1, interval '1 day') n(night)
               where a.active group by 1, 2) u
           where u.used > (select count(*) from core.rooms r where r.hotel_id = u.hotel_id)"""
    ).fetchone()[0]
    out["unbalanced_closed_folios"] = conn.execute(
        """select count(*) from api.folio_balances b join core.reservations r on r.id = b.reservation_id
           where r.status in ('checked_out', 'cancelled', 'no_show') and b.balance <> 0"""
    ).fetchone()[0]
    out["folios_checked"] = conn.execute("select count(*) from core.folios").fetchone()[0]
    return out


def _has_relation(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", [name]).fetchone()[0]


def read_reports(conn: psycopg.Connection, spec: DemoSpec, ranks_before: dict[str, int]) -> dict[str, Any]:
    """The figures a manager looks at, for the nights of the season, as plain lists."""
    first, end = spec.first_night, spec.end
    rep: dict[str, Any] = {"first_night": first, "end": end, "ranks_before": ranks_before}
    rep["hotels"] = [
        dict(zip(("id", "code", "name", "city", "time_zone", "currency", "minor_units"), r, strict=True))
        for r in conn.execute(
            """select h.id, h.code, h.name, h.city, h.time_zone, h.currency, c.minor_units
               from core.hotels h join core.currencies c on c.code = h.currency order by h.id"""
        )
    ]
    # occupancy per hotel and night: rooms sold / rooms available (out-of-order rooms taken out)
    rep["daily"] = [
        dict(zip(("hotel_id", "night", "sold", "available"), r, strict=True))
        for r in conn.execute(
            """select hotel_id, night, sum(rooms_sold)::int, sum(rooms_available)::int from report.occupancy_daily
               where night >= %s and night < %s group by 1, 2 order by 1, 2""",
            [first, end],
        )
    ]
    # revenue per hotel and month of the season's nights (room, service, tax, fees), in its currency
    rep["revenue"] = [
        dict(zip(("hotel_id", "month", "room", "service", "tax", "fees", "total"), r, strict=True))
        for r in conn.execute(
            """select hotel_id, date_trunc('month', day)::date, sum(room_revenue), sum(service_revenue), sum(taxes),
                      sum(fee_revenue + adjustments), sum(total_revenue)
               from report.revenue_daily where day >= %s and day < %s group by 1, 2 order by 1, 2""",
            [first, end],
        )
    ]
    rep["kpi"] = [
        dict(
            zip(
                (
                    "hotel_id",
                    "sold",
                    "available",
                    "occupancy",
                    "adr",
                    "revpar",
                    "room_revenue",
                    "total_revenue",
                ),
                r,
                strict=True,
            )
        )
        for r in conn.execute(
            """select d.hotel_id, sum(d.rooms_sold)::int, sum(d.rooms_available)::int,
                      coalesce(sum(d.rooms_sold)::numeric / nullif(sum(d.rooms_available), 0), 0),
                      coalesce(round(sum(d.room_revenue) / nullif(sum(d.rooms_sold), 0), c.minor_units), 0),
                      coalesce(round(sum(d.room_revenue) / nullif(sum(d.rooms_available), 0), c.minor_units), 0),
                      sum(d.room_revenue), sum(d.total_revenue)
               from report.revenue_daily d join core.currencies c on c.code = d.currency
               where d.day >= %s and d.day < %s group by d.hotel_id, c.minor_units order by d.hotel_id""",
            [first, end],
        )
    ]
    rep["cancellations"] = [
        dict(zip(("hotel_id", "bookings", "cancelled", "no_shows", "fees"), r, strict=True))
        for r in conn.execute(
            """select hotel_id, sum(reservations)::int, sum(cancellations)::int, sum(no_shows)::int,
                      sum(cancellation_fees + no_show_fees)
               from report.cancellations_monthly group by hotel_id order by hotel_id"""
        )
    ]
    rep["ranks"] = [
        dict(zip(("rank", "level", "members"), r, strict=True))
        for r in conn.execute("select rank_code, level, members from report.members_per_rank order by level")
    ]
    rep["rank_changes"] = conn.execute(
        "select coalesce(sum(changes), 0)::int from report.rank_changes_monthly"
    ).fetchone()[0]
    rep["points"] = (
        conn.execute(
            "select coalesce(sum(points), 0)::int from core.points_ledger where points > 0"
        ).fetchone()[0],
        conn.execute("select coalesce(sum(points), 0)::bigint from report.points_outstanding").fetchone()[0],
    )
    # guest services (hotel-saas): revenue per hotel and category, lead times
    rep["service_revenue"] = [
        dict(zip(("hotel_id", "category", "orders", "net", "tax", "gross", "reversed"), r, strict=True))
        for r in conn.execute(
            """select hotel_id, category, sum(orders_delivered)::int, sum(net_revenue), sum(tax), sum(gross_revenue),
                      sum(reversed_amount)
               from report.service_revenue_daily where day >= %s and day < %s group by 1, 2 order by 1, 2""",
            [first, end],
        )
    ]
    rep["service_lead_times"] = {
        r[0]: (r[1], r[2], r[3])
        for r in conn.execute(
            """select hotel_id, sum(orders_delivered)::int, round(avg(p50_minutes), 1), round(max(p95_minutes), 1)
               from report.service_order_lead_times group by 1 order by 1"""
        )
    }
    rep["reviews"] = []
    if _has_relation(conn, "report.review_averages_by_hotel"):
        cols = [
            c.name for c in conn.execute("select * from report.review_averages_by_hotel limit 0").description
        ]
        rep["reviews"] = [
            dict(zip(cols, r, strict=True))
            for r in conn.execute("select * from report.review_averages_by_hotel order by 1")
        ]
    # the tape chart: the first hotel's rooms and who slept in them
    hid = rep["hotels"][0]["id"]
    rep["tape_rooms"] = [
        dict(zip(("room_id", "number", "room_type"), r, strict=True))
        for r in conn.execute(
            """select r.id, r.number, rt.code from core.rooms r join core.room_types rt on rt.id = r.room_type_id
               where r.hotel_id = %s order by rt.id, r.number""",
            [hid],
        )
    ]
    rep["tape_stays"] = [
        dict(zip(("room_id", "first", "end", "kind", "label"), r, strict=True))
        for r in conn.execute(
            """select a.room_id, lower(a.nights), upper(a.nights),
                      coalesce(res.origin::text, 'block'), coalesce(res.confirmation_code, b.kind::text)
               from core.room_assignments a
               left join core.reservation_rooms l on l.id = a.reservation_room_id
               left join core.reservations res on res.id = l.reservation_id
               left join core.room_blocks b on b.id = a.room_block_id
               where a.hotel_id = %s and a.active and a.nights && daterange(%s, %s)
               order by a.room_id, lower(a.nights)""",
            [hid, first, end],
        )
    ]
    rep["tape_blocks"] = [
        dict(zip(("room_id", "first", "end"), r, strict=True))
        for r in conn.execute(
            """select b.room_id, lower(b.nights), coalesce(b.released_from, upper(b.nights)) from core.room_blocks b
               where b.hotel_id = %s and b.nights && daterange(%s, %s) order by b.room_id, lower(b.nights)""",
            [hid, first, end],
        )
    ]
    return rep


# ============================================================================ running it


def run(url: str, spec: DemoSpec, progress: Any = None) -> DemoResult:
    """Build the chain in the migrated, empty database at ``url``, live the season, read the reports.

    ``progress`` is a rich ``Progress`` (None: no bars). The HTML report is not written here.
    """
    progress = progress or _Progress()
    timings: dict[str, float] = {}
    t0 = wallclock.perf_counter()
    season = Season(url, spec, progress)
    try:
        season.build()
        timings["chain"] = round(wallclock.perf_counter() - t0, 1)
        season.start_saga()
        t1 = wallclock.perf_counter()
        season.run()
        timings["season"] = round(wallclock.perf_counter() - t1, 1)
        external = None
        if spec.external_hotel:
            from . import pms as pms_demo

            t_ext = wallclock.perf_counter()
            external = pms_demo.run(url, spec.seed)
            season.counts.update(external.counts)
            season.http_note = "; ".join(x for x in (season.http_note, external.note) if x)
            timings["external hotel"] = round(wallclock.perf_counter() - t_ext, 1)
        t2 = wallclock.perf_counter()
        conn = season.conn
        conn.execute("select * from api.refresh_reports()")  # the materialized report views
        reports = read_reports(conn, spec, season.ranks_before)
        timings["reports"] = round(wallclock.perf_counter() - t2, 1)
        t3 = wallclock.perf_counter()
        invariants = check_invariants(conn)
        if external is not None:
            # the external hotel: its mirror agrees with the vendor, hotelcore's ledger holds nothing of it
            invariants["external_hotel_problems"] = len(external.problems)
        timings["invariants"] = round(wallclock.perf_counter() - t3, 1)
    finally:
        season.close()
    return DemoResult(
        spec=spec,
        seconds=round(wallclock.perf_counter() - t0, 1),
        timings=timings,
        counts=dict(sorted(season.counts.items())),
        refusals=dict(sorted(season.refusals.items())),
        invariants=invariants,
        reports=reports,
        html_path=None,
        http_note=season.http_note,
    )
