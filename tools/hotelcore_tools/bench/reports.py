"""The reads of schema ``report``: each view measured against its floor (a plain table of its
rows), refreshes of the materialized ones, and dashboards.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
from psycopg import sql

from .dataset import _p95_under
from .harness import FLOOR_SCHEMA, Workload

# the targets for a read of a report view: a plain view in ≤ 1 s, a materialized one
# (or the *_in_scope wrapper clients read it through) in ≤ 50 ms
PLAIN_READ_MS, MATERIALIZED_READ_MS = 1000, 50
DASHBOARD_OPS = 20


def _floor_table(conn: psycopg.Connection, table: sql.Identifier, rows: sql.Composable) -> None:
    """A plain table of ``rows`` in schema FLOOR_SCHEMA (kept if it exists), vacuumed and analysed:
    a read's floor."""
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(FLOOR_SCHEMA)))
    conn.execute(sql.SQL("create table if not exists {} as {}").format(table, rows))
    conn.execute(sql.SQL("vacuum analyze {}").format(table))


def _month_after(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def report_workloads(url: str, ops: int, dashboard_ops: int = DASHBOARD_OPS) -> list[Workload]:
    """The reads of schema ``report``, each view measured three ways, plus refreshes and dashboards.

    For every view:

    * ``report.<view>``: the full read as a Python client does it (``select *``, every value
      parsed by psycopg into a Python object: ``numeric`` into ``Decimal``, ``date`` into
      ``date``); the target applies to this figure;
    * ``… server + transfer (COPY)``: the same rows as ``COPY (select * …) TO STDOUT``, bytes
      counted and not parsed: what a client that does not build Python objects waits for;
    * ``… server, rows formatted (EXPLAIN ANALYZE SERIALIZE)``: the query executed on the server
      and its rows formatted as text, nothing sent (``server only (EXPLAIN ANALYZE)`` before
      PostgreSQL 17, which cannot format without sending).

    So transfer ≈ COPY − server, and client-side parsing ≈ full read − COPY. The COPY figure still
    has a Python loop over the rows (one message each), so it is an upper bound of what a client
    written in C waits for. Each materialized view
    gets a refresh (plain, not concurrent), and the materialized views clients read through their
    ``*_in_scope`` wrappers get typical dashboard queries (one hotel over a year, the whole chain
    over a month), read in full by Python. The materialized views are refreshed first, so their
    reads time a populated view (the data load writes the ledger directly and refreshes nothing).
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select * from api.refresh_reports()").fetchall()
        views = conn.execute(
            """select c.relname, c.relkind = 'm' from pg_class c
               where c.relnamespace = 'report'::regnamespace and c.relkind in ('v', 'm') order by c.relname"""
        ).fetchall()
        hotels = [h for (h,) in conn.execute("select distinct hotel_id from report.revenue_daily order by 1")]
        first, last = conn.execute("select min(day), max(day) from report.revenue_daily").fetchone()
        # PostgreSQL 17+ can also format the rows for the wire without sending them
        serialize = conn.info.server_version >= 170000
    explain = (
        "explain (analyze, timing off, serialize text, format json)"
        if serialize
        else ("explain (analyze, timing off, format json)")
    )
    server_label = (
        "server, rows formatted (EXPLAIN ANALYZE SERIALIZE)" if serialize else "server only (EXPLAIN ANALYZE)"
    )
    out = []
    for name, materialized in views:
        # clients read a materialized view through its *_in_scope wrapper: the same target
        read_materialized = materialized or name.endswith("_in_scope")
        ident = sql.Identifier("report", name)
        limit_ms = MATERIALIZED_READ_MS if read_materialized else PLAIN_READ_MS
        limit = f"≤ {limit_ms:,} ms" if limit_ms < 1000 else f"≤ {limit_ms // 1000} s"

        def read(conn, i, rng, ident=ident):
            with conn.cursor() as cur:
                cur.execute(sql.SQL("select * from {}").format(ident))
                while cur.fetchmany(10000):
                    pass

        def copy(conn, i, rng, ident=ident):
            size = 0
            with (
                conn.cursor() as cur,
                cur.copy(sql.SQL("copy (select * from {}) to stdout").format(ident)) as cp,
            ):
                for row in cp:
                    size += len(row)
            return size

        def server(conn, i, rng, ident=ident):
            conn.execute(sql.SQL(explain + " select * from {}").format(ident))

        # the floor: the same rows in a plain table (no row-level security, nothing computed), read
        # the same ways in the same run; a view's read cannot beat it on this machine
        floor_ident = sql.Identifier(FLOOR_SCHEMA, name)

        def floor_setup(conn, ident=ident, floor_ident=floor_ident):
            _floor_table(conn, floor_ident, sql.SQL("select * from {}").format(ident))

        def floor_read(conn, i, rng, floor_ident=floor_ident):
            read(conn, i, rng, ident=floor_ident)

        def floor_server(conn, i, rng, floor_ident=floor_ident):
            server(conn, i, rng, ident=floor_ident)

        out.append(
            Workload(
                f"report.{name}",
                read,
                clients=1,
                max_ops=ops,
                group="report",
                target=f"p95 {limit} (full read, parsed in Python)",
                target_fn=_p95_under(limit_ms),
                note="select *, every value parsed by psycopg into a Python object",
            )
        )
        out.append(
            Workload(
                f"report.{name}, server + transfer (COPY)",
                copy,
                clients=1,
                max_ops=ops,
                group="report",
                note="copy (select *) to stdout, bytes counted, nothing parsed",
            )
        )
        out.append(
            Workload(
                f"report.{name}, {server_label}",
                server,
                clients=1,
                max_ops=ops,
                group="report",
                note=f"{explain}: executed on the server, no row sent",
            )
        )
        for label, op, of in (
            ("floor: a plain table of its rows", floor_read, f"report.{name}"),
            (
                f"floor: a plain table of its rows, {server_label}",
                floor_server,
                f"report.{name}, {server_label}",
            ),
        ):
            out.append(
                Workload(
                    f"report.{name}, {label}",
                    op,
                    clients=1,
                    max_ops=ops,
                    group="report",
                    setup=floor_setup,
                    floor_of=of,
                    note="the same read of a plain table holding the view's rows (created before the timing)",
                )
            )
        if materialized:

            def refresh(conn, i, rng, ident=ident):
                conn.execute(sql.SQL("refresh materialized view {}").format(ident))

            out.append(Workload(f"refresh report.{name}", refresh, clients=1, max_ops=ops, group="report"))

    # dashboards: what a BI tool asks of the materialized views, through the wrappers clients read
    if hotels and first is not None:
        months = sorted(
            {
                date(d.year, d.month, 1)
                for d in (first + timedelta(days=k) for k in range((last - first).days + 1))
            }
        )
        dashboards = {
            "revenue_daily_in_scope": "day",
            "revenue_daily_by_origin_in_scope": "day",
            "booking_pace_in_scope": "stay_date",
        }
        for name, column in dashboards.items():
            ident, col = sql.Identifier("report", name), sql.Identifier(column)

            def one_hotel_year(conn, i, rng, ident=ident, col=col):
                with conn.cursor() as cur:
                    cur.execute(
                        sql.SQL("select * from {} where hotel_id = %s and {} between %s and %s").format(
                            ident, col, col
                        ),
                        (rng.choice(hotels), first, first + timedelta(days=364)),
                    )
                    cur.fetchall()

            def chain_month(conn, i, rng, ident=ident, col=col):
                month = rng.choice(months)
                following = _month_after(month)
                with conn.cursor() as cur:
                    cur.execute(
                        sql.SQL("select * from {} where {} >= %s and {} < %s").format(ident, col, col),
                        (month, following),
                    )
                    cur.fetchall()

            # each query's floor: a plain table holding the rows of one such query (the first hotel's
            # year, the longest month), read whole the same way
            longest = max(months, key=lambda m: (_month_after(m) - m).days)
            floor_rows = {
                "1 hotel × 1 year": sql.SQL(
                    "select * from {} where hotel_id = {} and {} between {} and {}"
                ).format(
                    ident,
                    sql.Literal(hotels[0]),
                    col,
                    sql.Literal(first),
                    sql.Literal(first + timedelta(days=364)),
                ),
                "whole chain × 1 month": sql.SQL("select * from {} where {} >= {} and {} < {}").format(
                    ident,
                    col,
                    sql.Literal(longest),
                    col,
                    sql.Literal(_month_after(longest)),
                ),
            }
            for label, op in (("1 hotel × 1 year", one_hotel_year), ("whole chain × 1 month", chain_month)):
                out.append(
                    Workload(
                        f"report.{name}, {label}",
                        op,
                        clients=1,
                        max_ops=dashboard_ops,
                        group="report",
                        target=f"p95 ≤ {MATERIALIZED_READ_MS} ms (dashboard query, parsed in Python)",
                        target_fn=_p95_under(MATERIALIZED_READ_MS),
                        note="a dashboard's query, every value parsed in Python",
                    )
                )
                floor_ident = sql.Identifier(FLOOR_SCHEMA, f"{name}, {label}")

                def dashboard_floor_setup(conn, floor_ident=floor_ident, rows=floor_rows[label]):
                    _floor_table(conn, floor_ident, rows)

                def dashboard_floor(conn, i, rng, floor_ident=floor_ident):
                    with conn.cursor() as cur:
                        cur.execute(sql.SQL("select * from {}").format(floor_ident))
                        cur.fetchall()

                out.append(
                    Workload(
                        f"report.{name}, {label}, floor: a plain table of one answer's rows",
                        dashboard_floor,
                        clients=1,
                        max_ops=dashboard_ops,
                        group="report",
                        setup=dashboard_floor_setup,
                        floor_of=f"report.{name}, {label}",
                        note="a plain table holding the rows of one such query (the longest month, the first hotel), "
                        "read whole and parsed the same way",
                    )
                )
    return out
