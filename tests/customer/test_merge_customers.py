"""api.merge_customers(keep, duplicate): reservations, points and reviews move; an audit row stays."""

from __future__ import annotations

import psycopg

from tests.support.errors import raises_code


def test_merge_moves_reservations_points_reviews_and_stays(
    db: psycopg.Connection, customer, checked_out, stay, ledger_ok
):
    keep, dup = customer(email="keep@example.com"), customer(email="dup@example.com")
    db.execute("select api.adjust_points(%s, 40, 'keep lot')", (keep,))
    for _ in range(3):
        checked_out(keep)
    db.execute("select api.adjust_points(%s, 100, 'dup lot')", (dup,))
    db.execute("select api.redeem_points(%s, 30)", (dup,))
    dup_stays = [checked_out(dup) for _ in range(2)]
    upcoming = stay(dup, status="confirmed")
    db.execute("select api.submit_review(%s, 4)", (dup_stays[0],))
    dup_expiry = db.execute(
        "select expires_at from core.points_ledger where customer_id = %s and points > 0", (dup,)
    ).fetchone()[0]

    result = db.execute(
        "select api.merge_customers(%s, %s, 'same guest, two e-mails')", (keep, dup)
    ).fetchone()[0]
    moved = result["moved"]
    assert (moved["reservations"], moved["reviews"], moved["points"], moved["qualifying_stays"]) == (
        3,
        1,
        70,
        2,
    )
    assert moved["rank_after"] == "silver"  # 3 + 2 stays

    assert (
        db.execute("select count(*) from core.reservations where customer_id = %s", (dup,)).fetchone()[0] == 0
    )
    assert (
        db.execute("select customer_id from core.reservations where id = %s", (upcoming,)).fetchone()[0]
        == keep
    )
    assert db.execute("select customer_id from core.reviews").fetchone()[0] == keep
    assert db.execute("select balance from api.get_points_balance(%s)", (keep,)).fetchone()[0] == 110
    assert db.execute("select balance from api.get_points_balance(%s)", (dup,)).fetchone()[0] == 0
    # the moved lot keeps its expiry
    assert (
        db.execute(
            "select expires_at from core.points_ledger where customer_id = %s and kind = 'merge'", (keep,)
        ).fetchone()[0]
        == dup_expiry
    )
    assert ledger_ok()
    kept = db.execute("select api.get_customer(%s)", (keep,)).fetchone()[0]
    assert (kept["qualifying_stays"], kept["rank"]["code"]) == (5, "silver")
    merged = db.execute("select api.get_customer(%s)", (dup,)).fetchone()[0]
    assert merged["merged_into"] == keep
    audit = db.execute(
        "select kept_customer_id, merged_customer_id, reason from core.customer_merges"
    ).fetchone()
    assert audit == (keep, dup, "same guest, two e-mails")
    assert (
        db.execute("select source from core.rank_history where customer_id = %s", (keep,)).fetchone()[0]
        == "merge"
    )


def test_the_better_rank_survives(db: psycopg.Connection, customer):
    keep, dup = customer(), customer()
    db.execute("select api.set_customer_rank(%s, 'gold', 'vip')", (dup,))
    db.execute("select api.merge_customers(%s, %s)", (keep, dup))
    assert db.execute(
        "select rank_code, rank_manual from core.customers where id = %s", (keep,)
    ).fetchone() == ("gold", True)


def test_the_merged_email_is_free_again_and_the_profile_is_closed(db: psycopg.Connection, customer):
    keep, dup = customer(), customer(email="old@example.com")
    db.execute("select api.merge_customers(%s, %s)", (keep, dup))
    customer(email="old@example.com")
    for sql in ("select api.redeem_points(%s, 1)", "select api.update_customer(%s, 2, '{}')"):
        with raises_code("CUSTOMER_NOT_FOUND"):
            db.execute(sql, (dup,))


def test_merge_refusals(db: psycopg.Connection, customer):
    a, b, c = customer(), customer(), customer()
    with raises_code("MERGE_NOT_ALLOWED"):
        db.execute("select api.merge_customers(%s, %s)", (a, a))
    db.execute("select api.merge_customers(%s, %s)", (a, b))
    for keep, dup in ((c, b), (b, c)):
        with raises_code("MERGE_NOT_ALLOWED"):
            db.execute("select api.merge_customers(%s, %s)", (keep, dup))
    with raises_code("CUSTOMER_NOT_FOUND"):
        db.execute("select api.merge_customers(%s, 424242)", (a,))
    with raises_code("INVALID_ARGUMENT"):
        db.execute("select api.merge_customers(%s, null)", (a,))
