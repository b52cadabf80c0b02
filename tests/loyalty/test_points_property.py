"""Property: after any sequence of earn, redeem, adjust and expire, balance = sum of the ledger."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.errors import sqlstate

pytestmark = pytest.mark.slow

operation = st.one_of(
    st.tuples(st.just("earn"), st.integers(min_value=0, max_value=30_000)),
    st.tuples(st.just("redeem"), st.integers(min_value=1, max_value=400)),
    st.tuples(st.just("adjust"), st.integers(min_value=-400, max_value=400).filter(bool)),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=14)),  # months, then expire
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=15))
def test_balance_always_equals_the_ledger_sum(db, customer, checked_out, ledger_ok, ops):
    db.execute("select internal.shift_clock(interval '0')")
    cid = customer()
    expected = None
    for op, value in ops:
        try:
            if op == "earn":
                db.execute("select api.earn_stay_points(%s)", (checked_out(cid, value),))
            elif op == "redeem":
                db.execute("select api.redeem_points(%s, %s)", (cid, value))
            elif op == "adjust":
                db.execute("select api.adjust_points(%s, %s, 'property')", (cid, value))
            else:
                db.execute(
                    "select internal.shift_clock(internal.now() - now() + make_interval(months => %s))",
                    (value,),
                )
                db.execute("select api.expire_points()")
        except psycopg.Error as e:
            assert e.sqlstate == sqlstate("INSUFFICIENT_POINTS")  # the only refusal a valid sequence can meet
        assert ledger_ok()
        balance, total = db.execute(
            "select a.balance, (select sum(points) from core.points_ledger l where l.customer_id = a.customer_id) "
            "from core.points_accounts a where a.customer_id = %s",
            (cid,),
        ).fetchone() or (0, None)
        assert balance >= 0
        assert balance == (total or 0)
        expected = balance
    # nothing past its expiry is left once expiry has run
    db.execute("select api.expire_points()")
    assert (
        db.execute(
            "select count(*) from core.points_ledger where remaining > 0 and expires_at <= internal.now()"
        ).fetchone()[0]
        == 0
    )
    assert expected is None or expected >= 0
