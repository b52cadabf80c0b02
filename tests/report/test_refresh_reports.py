"""api.refresh_reports: refreshes every materialized report view (or one) concurrently with readers."""

import threading

import psycopg

from tests.support.errors import raises_code

MATERIALIZED = ["report.revenue_daily_by_origin", "report.revenue_daily", "report.booking_pace"]


def materialized(db) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "select c.oid::regclass::text from pg_class c where c.relnamespace = 'report'::regnamespace and c.relkind = 'm'"
            " order by 1"
        )
    ]


def test_refreshes_every_materialized_view_in_dependency_order(db):
    got = db.execute("select materialized_view, milliseconds >= 0 from api.refresh_reports()").fetchall()
    assert got == [(name, True) for name in MATERIALIZED]
    assert sorted(MATERIALIZED) == materialized(db)


def test_refreshes_one_view(db):
    assert db.execute("select materialized_view from api.refresh_reports('booking_pace')").fetchall() == [
        ("report.booking_pace",)
    ]
    assert db.execute(
        "select materialized_view from api.refresh_reports('report.revenue_daily')"
    ).fetchall() == [("report.revenue_daily",)]


def test_unknown_view_is_refused(db):
    with raises_code("INVALID_ARGUMENT"):
        db.execute("select * from api.refresh_reports('occupancy_daily')")


def test_a_refresh_shows_new_bookings(db):
    db.execute(
        "select api.create_hotel(p_code => 'R1', p_name => 'R1', p_time_zone => 'Asia/Seoul', p_currency => 'KRW')"
    )
    db.execute("select api.refresh_reports()")
    assert db.execute("select count(*) from report.revenue_daily").fetchone()[0] == 0
    hotel = db.execute("select id from core.hotels where code = 'R1'").fetchone()[0]
    rt = db.execute("select api.create_room_type(%s, 'STD', 'Std', 2, 100000)", (hotel,)).fetchone()[0]
    db.execute("select api.create_room(%s, %s, '101')", (hotel, rt))
    db.execute("select api.create_rate_plan(%s, %s, 'flex', 'Flexible')", (hotel, rt))
    db.execute(
        "select api.open_inventory(%s, internal.hotel_today(%s), internal.hotel_today(%s) + 3)",
        (hotel, hotel, hotel),
    )
    assert (
        db.execute("select count(*) from report.revenue_daily").fetchone()[0] == 0
    )  # as of the last refresh
    db.execute("select api.refresh_reports()")
    assert db.execute("select count(*), sum(rooms_available) from report.revenue_daily").fetchone() == (3, 3)


def test_readers_do_not_block_a_refresh_and_keep_reading(db, fresh_db):
    with psycopg.connect(fresh_db) as reader:  # a reader inside an open transaction
        reader.execute("select count(*) from report.revenue_daily").fetchone()
        reader.execute("select count(*) from report.booking_pace").fetchone()
        done = threading.Event()

        def refresh():
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                conn.execute("set lock_timeout = '10s'")
                conn.execute("select api.refresh_reports()")
            done.set()

        worker = threading.Thread(target=refresh)
        worker.start()
        worker.join(30)
        assert done.is_set()  # the refresh finished while the reader's transaction was open
        reader.execute("select count(*) from report.revenue_daily").fetchone()
        reader.rollback()


def test_every_plain_report_view_runs_as_its_owner_and_every_materialized_one_has_a_unique_index(db):
    # issue 7: readers hold no right on core, so report views read as their owner (hotelcore_owner),
    # whom FORCE ROW LEVEL SECURITY binds to the reader's hotel scope
    assert (
        db.execute("""
        select c.oid::regclass::text from pg_class c
        where c.relnamespace = 'report'::regnamespace and c.relkind = 'v'
          and not (coalesce('security_invoker=false' = any(c.reloptions), false)
                   and pg_get_userbyid(c.relowner) = 'hotelcore_owner')""").fetchall()
        == []
    )
    assert (
        db.execute("""
        select c.oid::regclass::text from pg_class c
        where c.relnamespace = 'report'::regnamespace and c.relkind = 'm'
          and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisunique and i.indpred is null)
        """).fetchall()
        == []
    )
