"""Property: after any sequence of charges, payments and refunds the folio balance is the sum of its
lines, equals charges - (captured - refunded) of core.payments, and matches a model."""

from __future__ import annotations

import itertools

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.errors import sqlstate
from tests.support.sql import call, one, scalar

_day = itertools.count()

ops = st.lists(
    st.one_of(
        st.tuples(st.just("charge"), st.integers(1, 50_000)),
        st.tuples(st.just("adjust"), st.integers(-5_000, 5_000).filter(lambda n: n != 0)),
        st.tuples(
            st.just("authorise"), st.integers(1, 50_000), st.integers(0, 100)
        ),  # capture percent (0: none)
        st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 60_000)),
        st.tuples(st.just("void"), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops)
def test_balance_is_charges_minus_payments(db, hotel, book, steps):
    rid = book(hotel, 1 + next(_day) % 20, 1)
    try:
        check(db, rid, steps)
    finally:
        call(db, "cancel_reservation", p_reservation_id=rid)  # frees the room for the next example


def check(db, rid, steps):
    charges = 0
    payments: list[dict] = []  # model: authorised, captured, refunded, status
    for step in steps:
        kind = step[0]
        if kind in ("charge", "adjust"):
            call(
                db,
                "post_charge",
                p_reservation_id=rid,
                p_kind="service" if kind == "charge" else "adjustment",
                p_amount=step[1],
                p_description=kind,
            )
            charges += step[1]
        elif kind == "authorise":
            pid = scalar(
                db,
                "authorise_payment",
                p_reservation_id=rid,
                p_method="card",
                p_amount=step[1],
                p_processor_reference=f"pi_{rid}_{len(payments)}",
            )
            p = {"id": pid, "authorised": step[1], "captured": 0, "refunded": 0, "status": "preauthorised"}
            capture = step[1] * step[2] // 100
            if capture > 0:
                call(db, "capture_payment", p_payment_id=pid, p_amount=capture)
                p |= {"captured": capture, "status": "captured"}
            payments.append(p)
        elif payments:
            p = payments[step[1] % len(payments)]
            try:
                if kind == "refund":
                    call(db, "refund_payment", p_payment_id=p["id"], p_amount=step[2])
                    p["refunded"] += step[2]
                    p["status"] = "refunded"
                else:
                    call(db, "void_payment", p_payment_id=p["id"])
                    p["status"] = "voided"
            except psycopg.Error as ex:
                expected = {
                    "refund": {sqlstate("REFUND_EXCEEDS_CAPTURED"), sqlstate("INVALID_PAYMENT_STATE")},
                    "void": {sqlstate("INVALID_PAYMENT_STATE")},
                }[kind]
                assert ex.sqlstate in expected
                if kind == "refund":
                    assert (
                        p["status"] not in ("captured", "refunded") or p["refunded"] + step[2] > p["captured"]
                    )
        paid = sum(p["captured"] - p["refunded"] for p in payments)
        row = db.execute(
            "select charges, payments, balance from api.folio_balances where reservation_id = %s", (rid,)
        ).fetchone()
        assert row == (charges, paid, charges - paid)
        assert one(
            db,
            "select sum(l.amount) from core.folio_lines l join core.folios f on f.id = l.folio_id "
            "where f.reservation_id = %s",
            rid,
        ) in (row[2], None if row[2] == 0 else row[2])
        assert (
            one(
                db,
                "select coalesce(sum(p.captured_amount - p.refunded_amount), 0) from core.payments p "
                "join core.folios f on f.id = p.folio_id where f.reservation_id = %s",
                rid,
            )
            == paid
        )
