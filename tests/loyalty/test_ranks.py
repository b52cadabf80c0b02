"""Ranks by trigger (seed 003): Bronze 0, Silver 5, Gold 15, Platinum 30 qualifying stays."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.errors import raises_code


def rank(db: psycopg.Connection, cid: int) -> tuple[str, int, bool]:
    return db.execute(
        "select rank_code, qualifying_stays, rank_manual from core.customers where id = %s", (cid,)
    ).fetchone()


def set_stays(db: psycopg.Connection, cid: int, stays: int) -> None:
    db.execute("update core.customers set qualifying_stays = %s where id = %s", (stays, cid))


def test_the_fifth_check_out_makes_silver_with_history_and_notification(
    db: psycopg.Connection, customer, checked_out
):
    cid = customer()
    for _ in range(4):
        checked_out(cid)
    assert rank(db, cid) == ("bronze", 4, False)
    fifth = checked_out(cid)
    assert rank(db, cid) == ("silver", 5, False)
    history = db.execute(
        "select from_rank, to_rank, source, reservation_id, qualifying_stays from core.rank_history where customer_id = %s",
        (cid,),
    ).fetchall()
    assert history == [("bronze", "silver", "stays", fifth, 5)]
    kind, payload = db.execute(
        "select kind, payload from core.notifications where customer_id = %s", (cid,)
    ).fetchone()
    assert kind == "customer.rank_changed"
    assert payload["direction"] == "up" and payload["to"] == "silver" and payload["discount_rate"] == 0.05


@pytest.mark.parametrize(("before", "after"), [(14, "gold"), (29, "platinum")])
def test_thresholds_for_gold_and_platinum(db: psycopg.Connection, customer, checked_out, before, after):
    cid = customer()
    set_stays(db, cid, before)
    checked_out(cid)
    assert rank(db, cid)[0] == after


def test_other_status_changes_do_not_count(db: psycopg.Connection, customer, stay, set_status):
    cid = customer()
    rid = stay(cid, status="confirmed")
    set_status(rid, "checked_in")
    set_status(rid, "checked_in")
    db.execute("update core.reservations set special_requests = 'quiet room' where id = %s", (rid,))
    assert rank(db, cid) == ("bronze", 0, False)


def test_a_reversed_check_out_removes_the_stay_and_the_rank_it_earned(
    db: psycopg.Connection, customer, checked_out, reverse_check_out
):
    cid = customer()
    set_stays(db, cid, 4)
    rid = checked_out(cid)
    assert rank(db, cid) == ("silver", 5, False)
    reverse_check_out(rid)
    assert rank(db, cid) == ("bronze", 4, False)
    directions = [
        r[0]
        for r in db.execute(
            "select payload ->> 'direction' from core.notifications where customer_id = %s order by id",
            (cid,),
        )
    ]
    assert directions == ["up", "down"]


def test_a_manual_rank_is_kept_on_reversal_and_raised_by_stays(
    db: psycopg.Connection, customer, checked_out, reverse_check_out
):
    cid = customer()
    doc = db.execute("select api.set_customer_rank(%s, 'gold', 'VIP of the owner')", (cid,)).fetchone()[0]
    assert doc["code"] == "gold" and doc["manual"] is True
    rid = checked_out(cid)
    reverse_check_out(rid)
    assert rank(db, cid) == ("gold", 0, True)
    set_stays(db, cid, 29)
    checked_out(cid)
    assert rank(db, cid) == ("platinum", 30, False)
    sources = db.execute(
        "select source, reason from core.rank_history where customer_id = %s order by id", (cid,)
    ).fetchall()
    assert sources == [("manual", "VIP of the owner"), ("stays", None)]


def test_a_manual_rank_can_return_to_what_the_stays_earn(db: psycopg.Connection, customer):
    cid = customer()
    set_stays(db, cid, 6)
    db.execute("select api.set_customer_rank(%s, 'platinum', 'campaign')", (cid,))
    doc = db.execute("select api.set_customer_rank(%s, null, 'campaign over')", (cid,)).fetchone()[0]
    assert doc["code"] == "silver" and doc["manual"] is False
    assert doc["next_rank"] == {"code": "gold", "min_stays": 15, "stays_needed": 9}


@pytest.mark.parametrize(
    ("customer_id", "code", "reason", "error"),
    [
        (None, "diamond", "why not", "RANK_NOT_FOUND"),
        (None, "gold", " ", "INVALID_ARGUMENT"),
        (424242, "gold", "x", "CUSTOMER_NOT_FOUND"),
    ],
)
def test_manual_rank_refusals(db: psycopg.Connection, customer, customer_id, code, reason, error):
    with raises_code(error):
        db.execute("select api.set_customer_rank(%s, %s, %s)", (customer_id or customer(), code, reason))


def test_get_customer_rank(db: psycopg.Connection, customer):
    doc = db.execute("select api.get_customer_rank(%s)", (customer(),)).fetchone()[0]
    assert doc["code"] == "bronze" and doc["next_rank"]["stays_needed"] == 5
    with raises_code("CUSTOMER_NOT_FOUND"):
        db.execute("select api.get_customer_rank(424242)")


def test_the_trigger_can_be_switched_off_for_a_benchmark(db: psycopg.Connection, customer, checked_out):
    cid = customer()
    db.execute("alter table core.reservations disable trigger _100_rank_recompute")
    checked_out(cid)
    assert rank(db, cid) == ("bronze", 0, False)
    db.execute("alter table core.reservations enable trigger _100_rank_recompute")
    checked_out(cid)
    assert rank(db, cid) == ("bronze", 1, False)
