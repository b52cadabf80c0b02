"""16 connections redeem from one account at once: the balance never goes below zero."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.errors import sqlstate

pytestmark = pytest.mark.slow


def test_sixteen_concurrent_redeems_never_overdraw(db: psycopg.Connection, customer, hammer, ledger_ok):
    cid = customer()
    # three lots with different expiries, so concurrent redeems also race over lot consumption
    for points in (70, 60, 70):
        db.execute("select api.adjust_points(%s, %s, 'seed')", (cid, points))
        db.execute("select internal.shift_clock(internal.now() - now() + interval '1 day')")

    def redeem(conn: psycopg.Connection, i: int) -> str:
        try:
            conn.execute("select api.redeem_points(%s, 30)", (cid,))
            return "ok"
        except psycopg.Error as e:
            return e.sqlstate

    results = hammer.run(16, redeem)
    assert results.count("ok") == 6  # 200 // 30
    assert set(results) == {"ok", sqlstate("INSUFFICIENT_POINTS")}
    assert (
        db.execute("select balance from core.points_accounts where customer_id = %s", (cid,)).fetchone()[0]
        == 20
    )
    assert db.execute("select min(balance_after) >= 0 from core.points_ledger").fetchone()[0]
    assert ledger_ok()
