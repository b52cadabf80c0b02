"""The consistency monitor (seed 000 データ整合性監視) against a fixture whose figures are
computed by hand in the comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg

from tests.support.conflicts import detect, update
from tests.support.factories import PIN
from tests.support.sql import one


def row(db: psycopg.Connection, view: str) -> dict:
    """The first row of a view (or of a query)."""
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(view if view.startswith("select") else f"select * from {view}").fetchone()


def test_monitor_views_against_hand_computed_values(db: psycopg.Connection, customer):
    c1, c2, c3, c4 = (customer() for _ in range(4))
    # c1: a phone clash left open; c2: a disjoint merge, resolved by the rules at once
    detect(
        db,
        "customer",
        c1,
        [update("member", 0, phone="090-1234-5678"), update("pms", 2, phone="080-9876-5432")],
    )
    detect(
        db, "customer", c2, [update("member", 0, city="Nakano-ku"), update("pms", 1, postal_code="164-0001")]
    )
    # c1 waits two hours: the clock was at PIN + 1 h when it was recorded
    db.execute("select internal.shift_clock(%s::timestamptz - now())", (PIN + dt.timedelta(hours=3),))

    d = row(db, "report.customer_data_consistency")
    # 4 customers, 1 of them in conflict: 1 - 1/4 = 0.75, far below 99.99 %
    assert (d["customers"], d["customers_in_conflict"], d["open_conflicts"]) == (4, 1, 1)
    assert d["consistency_rate"] == Decimal("0.750000") and d["meets_target"] is False
    # (the clock moves on with real time between statements: within a second)
    assert abs(d["oldest_open_age"] - dt.timedelta(hours=2)) < dt.timedelta(seconds=1)

    # points: c1 +100, c3 +50 -20 (balance 30); then c3's balance drifts by 5 from its ledger
    db.execute("select api.adjust_points(%s, 100, 'welcome')", (c1,))
    db.execute("select api.adjust_points(%s, 50, 'welcome')", (c3,))
    db.execute("select api.redeem_points(%s, 20)", (c3,))
    p = row(db, "report.point_balance_accuracy")
    assert (p["accounts"], p["accurate_accounts"], p["accuracy_rate"], p["meets_target"]) == (
        2,
        2,
        Decimal("1.000000"),
        True,
    )
    db.execute("update core.points_accounts set balance = balance + 5 where customer_id = %s", (c3,))
    p = row(db, "report.point_balance_accuracy")
    # 1 of 2 accurate = 0.5; |35 - 30| = 5 points drifted
    assert (p["accurate_accounts"], p["accuracy_rate"], p["points_drifted"], p["meets_target"]) == (
        1,
        Decimal("0.500000"),
        5,
        False,
    )

    # ranks: c2 set to Gold by hand (allowed above its 0 stays); c4 has 16 stays but is still
    # Bronze (the rule says Gold): 3 of 4 correct = 0.75, one manual
    db.execute("select api.set_customer_rank(%s, 'gold', 'ambassador')", (c2,))
    db.execute("update core.customers set qualifying_stays = 16 where id = %s", (c4,))
    r = row(db, "report.rank_correctness")
    assert (
        r["customers"],
        r["correct_ranks"],
        r["correctness_rate"],
        r["manual_ranks"],
        r["meets_target"],
    ) == (
        4,
        3,
        Decimal("0.750000"),
        1,
        False,
    )

    # reservation sync: every consumer has read the log so far (cursors at its end); then two
    # reservation events are written a minute ago. hotel-member reads them, hotel-pms and
    # hotel-saas do not: 2 + 2 = 4 events unread, both 60 s behind (> 10 s); 1 of 3 consumers
    # within target = 0.333333
    move_cursors = (
        "update core.event_consumers c set cursor_order_xid = e.order_xid, cursor_id = e.id"
        " from (select order_xid, id from core.events order by order_xid desc, id desc limit 1) e"
        " where c.name = any(%s)"
    )
    db.execute(move_cursors, (["hotel-member", "hotel-pms", "hotel-saas"],))
    for n in (1, 2):
        db.execute(
            "select internal.emit_event('reservation.updated', %s, null, '{}'::jsonb)", (str(900000 + n),)
        )
    db.execute(
        "update core.events set recorded_at = clock_timestamp() - interval '60 seconds'"
        " where type = 'reservation.updated' and aggregate_id in ('900001', '900002')"
    )
    db.execute(move_cursors, (["hotel-member"],))
    lag = dict(
        db.execute(
            "select consumer, unread from report.event_consumer_lag where not disabled order by consumer"
        ).fetchall()
    )
    assert lag == {"hotel-member": 0, "hotel-pms": 2, "hotel-saas": 2}
    sync = row(db, "select * from report.consistency_monitor where metric = 'reservation_sync'")
    assert sync["detail"].startswith("1 of 3 consumers within 10 s; 4 events unread; longest delay 6")
    assert sync["detail"].endswith("s (hotel-pms)")  # tied at 60 s: the first by name

    monitor = {
        m: (v, t, ok)
        for m, v, t, ok in db.execute(
            "select metric, value, target, meets_target from report.consistency_monitor"
        ).fetchall()
    }
    assert monitor == {
        "customer_data_consistency": (Decimal("0.750000"), Decimal("0.9999"), False),
        "point_balance_accuracy": (Decimal("0.500000"), Decimal("1"), False),
        "rank_correctness": (Decimal("0.750000"), Decimal("1"), False),
        "reservation_sync": (Decimal("0.333333"), Decimal("1"), False),
    }
    # the two systems read up to the end: every consumer in sync again
    db.execute(move_cursors, (["hotel-pms", "hotel-saas"],))
    assert one(
        db,
        "select (value, meets_target)::text from report.consistency_monitor where metric = 'reservation_sync'",
    ) == ("(1.000000,t)")

    # the open conflict is listed with its age; resolving it brings consistency back to 100 %
    open_ = row(db, "report.conflicts_open")
    assert (
        open_["entity_id"] == c1
        and open_["rule"] == "critical_field_clash"
        and open_["fields"] == ["phone_e164"]
    )
    db.execute(
        "select api.resolve_conflict(%s, 'manual', '{\"resolution_reason\": \"kept\"}', 'ops-1')",
        (open_["conflict_id"],),
    )
    assert one(db, "select consistency_rate from report.customer_data_consistency") == Decimal("1.000000")
    assert one(db, "select count(*) from report.conflicts_open") == 0


def test_an_empty_programme_meets_every_target(db: psycopg.Connection):
    assert db.execute("select bool_and(meets_target) from report.consistency_monitor").fetchone()[0] is True
