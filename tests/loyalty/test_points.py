"""Points (seed 000): earn once per stay, redeem, adjust with reason, expire oldest first."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.errors import raises_code


def balance(db: psycopg.Connection, cid: int) -> int:
    return db.execute("select balance from api.get_points_balance(%s)", (cid,)).fetchone()[0]


def adjust(db: psycopg.Connection, cid: int, points: int, reason: str = "goodwill") -> int:
    return db.execute("select balance from api.adjust_points(%s, %s, %s)", (cid, points, reason)).fetchone()[
        0
    ]


def redeem(db: psycopg.Connection, cid: int, points: int, reservation_id: int | None = None) -> int:
    return db.execute(
        "select balance from api.redeem_points(%s, %s, %s)", (cid, points, reservation_id)
    ).fetchone()[0]


def test_a_stay_earns_once_however_often_asked(db: psycopg.Connection, customer, checked_out, ledger_ok):
    cid = customer()
    rid = checked_out(cid, total=24_000)  # JPY: 1 point per 100 yen
    first = db.execute("select * from api.earn_stay_points(%s)", (rid,)).fetchone()
    again = db.execute("select * from api.earn_stay_points(%s)", (rid,)).fetchone()
    assert first[1:] == (240, 240, True)
    assert again == (first[0], 240, 240, False)
    assert balance(db, cid) == 240
    assert ledger_ok()


def test_the_earn_key_refuses_a_second_earn_row_whatever_writes_it(
    db: psycopg.Connection, customer, checked_out
):
    cid = customer()
    rid = checked_out(cid)
    db.execute("select api.earn_stay_points(%s)", (rid,))
    with pytest.raises(psycopg.Error) as excinfo:
        db.execute(
            "insert into core.points_ledger (customer_id, kind, points, balance_after, remaining, expires_at, "
            "reservation_id, created_at) values (%s, 'earn', 1, 1, 1, now(), %s, now())",
            (cid, rid),
        )
    assert excinfo.value.sqlstate == "23505"


def test_a_guest_who_did_not_join_earns_nothing(db: psycopg.Connection, customer, checked_out):
    cid = customer(is_member=False)
    rid = checked_out(cid)
    assert db.execute("select points, newly_earned from api.earn_stay_points(%s)", (rid,)).fetchone() == (
        0,
        False,
    )


def test_earning_before_check_out_is_refused(db: psycopg.Connection, customer, stay):
    rid = stay(customer())
    with raises_code("INVALID_STATE_TRANSITION"):
        db.execute("select api.earn_stay_points(%s)", (rid,))


def test_earning_for_an_unknown_reservation_is_refused(db: psycopg.Connection):
    with raises_code("RESERVATION_NOT_FOUND"):
        db.execute("select api.earn_stay_points(999999)")


def test_the_daily_batch_earns_each_due_stay_once(db: psycopg.Connection, customer, checked_out, stay, hotel):
    member, guest = customer(), customer(is_member=False)
    checked_out(member, 10_000)
    checked_out(member, 5_000)
    checked_out(guest, 5_000)
    stay(member)  # not checked out
    assert db.execute("select api.earn_due_stay_points(%s)", (hotel["id"],)).fetchone()[0] == 2
    assert db.execute("select api.earn_due_stay_points()").fetchone()[0] == 0
    assert balance(db, member) == 150


def test_redeem_spends_and_refuses_more_than_the_balance(db: psycopg.Connection, customer, ledger_ok):
    cid = customer()
    adjust(db, cid, 100)
    assert redeem(db, cid, 60) == 40
    with raises_code("INSUFFICIENT_POINTS"):
        redeem(db, cid, 41)
    assert balance(db, cid) == 40
    assert ledger_ok()


def test_redeem_for_a_stay_of_the_customer(db: psycopg.Connection, customer, stay):
    cid, other = customer(), customer()
    adjust(db, cid, 100)
    rid = stay(cid)
    redeem(db, cid, 10, rid)
    assert (
        db.execute("select reservation_id from core.points_ledger where kind = 'redeem'").fetchone()[0] == rid
    )
    with raises_code("RESERVATION_NOT_FOUND"):
        redeem(db, cid, 10, stay(other))


@pytest.mark.parametrize("points", [0, -5, None])
def test_redeem_needs_a_positive_amount(db: psycopg.Connection, customer, points):
    with raises_code("INVALID_ARGUMENT"):
        redeem(db, customer(), points)


def test_points_of_an_unknown_customer_are_refused(db: psycopg.Connection):
    for sql in (
        "select api.redeem_points(424242, 1)",
        "select api.adjust_points(424242, 1, 'x')",
        "select api.get_points_balance(424242)",
        "select api.get_points_history(424242)",
    ):
        with raises_code("CUSTOMER_NOT_FOUND"):
            db.execute(sql)


def test_adjust_adds_or_removes_with_a_reason(db: psycopg.Connection, customer, ledger_ok):
    cid = customer()
    assert adjust(db, cid, 50, "welcome bonus") == 50
    assert adjust(db, cid, -20, "correction") == 30
    with raises_code("INSUFFICIENT_POINTS"):
        adjust(db, cid, -31, "too much")
    assert ledger_ok()


@pytest.mark.parametrize(("points", "reason"), [(10, None), (10, "  "), (0, "zero")])
def test_adjust_needs_a_reason_and_points(db: psycopg.Connection, customer, points, reason):
    with raises_code("INVALID_ARGUMENT"):
        adjust(db, customer(), points, reason)


def test_redeem_consumes_the_oldest_lots_first(db: psycopg.Connection, customer):
    cid = customer()
    adjust(db, cid, 100, "lot A")
    db.execute("select internal.shift_clock(interval '1 month')")
    adjust(db, cid, 100, "lot B")
    redeem(db, cid, 150)
    lots = db.execute(
        "select reason, remaining from core.points_ledger where customer_id = %s and points > 0 order by id",
        (cid,),
    ).fetchall()
    assert lots == [("lot A", 0), ("lot B", 50)]


def test_points_expire_after_the_configured_months_oldest_first(db: psycopg.Connection, customer, ledger_ok):
    cid = customer()
    db.execute("select api.set_loyalty_settings(p_points_expiry_months => 12)")
    adjust(db, cid, 100, "lot A")
    db.execute("select internal.shift_clock(interval '6 months')")
    adjust(db, cid, 70, "lot B")
    redeem(db, cid, 30)  # from lot A
    db.execute("select internal.shift_clock(interval '12 months 1 day')")
    assert db.execute("select api.expire_points()").fetchone()[0] == 70  # what was left of lot A
    assert balance(db, cid) == 70
    assert db.execute("select api.expire_points()").fetchone()[0] == 0
    db.execute("select internal.shift_clock(interval '18 months 1 day')")
    assert db.execute("select api.expire_points(%s)", (cid,)).fetchone()[0] == 70
    assert balance(db, cid) == 0
    kinds = [r[0] for r in db.execute("select kind from api.get_points_history(%s)", (cid,)).fetchall()]
    assert kinds == ["expire", "expire", "redeem", "adjust", "adjust"]
    assert ledger_ok()


def test_redeem_cannot_spend_points_past_their_expiry(db: psycopg.Connection, customer):
    cid = customer()
    adjust(db, cid, 100)
    db.execute("select internal.shift_clock(interval '25 months')")  # default expiry: 24 months
    with raises_code("INSUFFICIENT_POINTS"):
        redeem(db, cid, 1)


def test_balance_and_history_views(db: psycopg.Connection, customer):
    cid = customer()
    adjust(db, cid, 80)
    redeem(db, cid, 30)
    assert (
        db.execute("select balance from api.points_balances where customer_id = %s", (cid,)).fetchone()[0]
        == 50
    )
    rows = db.execute(
        "select kind, points, balance_after from api.points_history where customer_id = %s order by id",
        (cid,),
    ).fetchall()
    assert rows == [("adjust", 80, 80), ("redeem", -30, 50)]
    row = db.execute("select balance, next_expiry_points from api.get_points_balance(%s)", (cid,)).fetchone()
    assert row == (50, 50)
    assert db.execute("select api.get_customer(%s) ->> 'points_balance'", (cid,)).fetchone()[0] == "50"


def test_a_negative_balance_cannot_be_stored_whatever_writes_it(db: psycopg.Connection, customer):
    cid = customer()
    adjust(db, cid, 5)
    with pytest.raises(psycopg.Error) as excinfo:
        db.execute("update core.points_accounts set balance = -1 where customer_id = %s", (cid,))
    assert excinfo.value.sqlstate == "23514"
    with pytest.raises(psycopg.Error) as excinfo:
        db.execute("update core.points_ledger set remaining = -1 where customer_id = %s", (cid,))
    assert excinfo.value.sqlstate == "23514"


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"p_points_expiry_months": 0}, "INVALID_ARGUMENT"),
        ({"p_default_phone_country": "ZZ"}, "INVALID_ARGUMENT"),
    ],
)
def test_settings_refuse_bad_values(db: psycopg.Connection, kw, error):
    names = ", ".join(f"{k} => %({k})s" for k in kw)
    with raises_code(error):
        db.execute(f"select api.set_loyalty_settings({names})", kw)
