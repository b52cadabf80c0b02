"""report.members_per_rank, rank_changes_monthly, points_outstanding and loyalty's review
averages against the fixture (see conftest), by hand."""

from decimal import Decimal

from tests.support.report import d
from tests.support.sql import rows


def test_members_per_rank(fx):
    got = {
        r["rank_code"]: (r["members"], r["share"])
        for r in rows(fx.db, "select * from report.members_per_rank")
    }
    # ca and cf bronze, cb gold then silver
    assert got == {
        "bronze": (2, Decimal("0.6667")),
        "silver": (1, Decimal("0.3333")),
        "gold": (0, Decimal("0.0000")),
        "platinum": (0, Decimal("0.0000")),
    }


def test_rank_changes_per_month(fx):
    got = [
        (r["month"], r["from_rank"], r["to_rank"], r["source"], r["direction"], r["changes"], r["customers"])
        for r in rows(fx.db, "select * from report.rank_changes_monthly order by month")
    ]
    assert got == [
        (d("2030-03-01"), "bronze", "gold", "manual", "upgrade", 1, 1),
        (d("2030-04-01"), "gold", "silver", "manual", "downgrade", 1, 1),
    ]


def test_points_outstanding_is_the_sum_of_the_balances(fx):
    got = [
        (r["expiry_month"], r["points"], r["customers"], r["lots"])
        for r in rows(fx.db, "select * from report.points_outstanding order by expiry_month")
    ]
    # 24 months after earning (UTC): B's 44 000 JPY -> 440 points on 2030-03-30, 100 redeemed;
    # A's 33 000 JPY -> 330 points on 2030-04-02 (00:00 UTC)
    assert got == [(d("2032-03-01"), 440 - 100, 1, 1), (d("2032-04-01"), 330, 1, 1)]
    balances = rows(fx.db, "select sum(balance) as s from core.points_accounts")[0]["s"]
    assert balances == 440 - 100 + 330


def test_review_averages_are_loyaltys_views(fx):
    hotel = rows(fx.db, "select * from report.review_averages_by_hotel where hotel_id = %s", (fx.hotel_id,))[
        0
    ]
    assert (hotel["review_count"], hotel["avg_overall"]) == (
        2,
        Decimal((4 + 5) / 2).quantize(Decimal("0.01")),
    )
    by_type = {
        r["room_type_code"]: r["avg_overall"]
        for r in rows(
            fx.db, "select * from report.review_averages_by_room_type where hotel_id = %s", (fx.hotel_id,)
        )
    }
    assert by_type == {"STD": Decimal("4.00"), "DLX": Decimal("5.00")}
