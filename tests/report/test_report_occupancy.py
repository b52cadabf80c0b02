"""report.occupancy_daily / occupancy_monthly against the fixture (see conftest), by hand."""

from decimal import Decimal

from tests.support.report import d
from tests.support.sql import rows

Q4 = Decimal("0.0001")


def ratio(sold: int, available: int) -> Decimal:
    return (Decimal(sold) / Decimal(available)).quantize(Q4)


def test_daily_out_of_order_room_leaves_the_denominator(fx):
    got = {
        (r["room_type_code"], r["night"]): r
        for r in rows(fx.db, "select * from report.occupancy_daily where hotel_id = %s", (fx.hotel_id,))
    }
    # 41 nights (03-25 .. 05-04) x 2 room types
    assert len(got) == 41 * 2
    # STD on 03-30: 3 rooms, S3 out of order, A sold -> 1 / (3 - 1)
    r = got[("STD", d("2030-03-30"))]
    assert (r["rooms_total"], r["rooms_blocked"], r["rooms_available"], r["rooms_sold"]) == (3, 1, 2, 1)
    assert r["occupancy"] == ratio(1, 2) == Decimal("0.5000")
    # STD on 04-01: S3 back, A's last night -> 1 / 3
    r = got[("STD", d("2030-04-01"))]
    assert (r["rooms_available"], r["rooms_sold"], r["occupancy"]) == (3, 1, Decimal("0.3333"))
    # STD on 03-29: C cancelled and E no-show free their night -> 0 / 3
    assert got[("STD", d("2030-03-29"))]["rooms_sold"] == 0
    # DLX on 03-28: B -> 1 / 2; on 03-31: D cancelled -> 0
    assert got[("DLX", d("2030-03-28"))]["occupancy"] == Decimal("0.5000")
    assert got[("DLX", d("2030-03-31"))]["rooms_sold"] == 0
    # F in the future is on the books
    assert got[("DLX", d("2030-04-10"))]["rooms_sold"] == 1


def test_monthly_counts_each_night_of_a_stay_in_its_own_month(fx):
    got = {
        (r["room_type_code"], r["month"]): r
        for r in rows(fx.db, "select * from report.occupancy_monthly where hotel_id = %s", (fx.hotel_id,))
    }
    assert set(got) == {(t, d(m)) for t in ("STD", "DLX") for m in ("2030-03-01", "2030-04-01", "2030-05-01")}
    # STD March: nights 03-25..03-31 = 7; 7 x 3 = 21 room nights, 2 out of order (03-30, 03-31);
    # sold: A's 03-30 and 03-31 (its 04-01 belongs to April) = 2
    r = got[("STD", d("2030-03-01"))]
    assert (
        r["nights"],
        r["room_nights_total"],
        r["room_nights_blocked"],
        r["room_nights_available"],
        r["room_nights_sold"],
    ) == (7, 21, 2, 19, 2)
    assert r["occupancy"] == ratio(2, 19) == Decimal("0.1053")
    # STD April: 30 x 3 = 90 available, A's 04-01 = 1 sold
    r = got[("STD", d("2030-04-01"))]
    assert (r["room_nights_available"], r["room_nights_sold"], r["occupancy"]) == (90, 1, ratio(1, 90))
    # DLX March: 7 x 2 = 14, B's two nights; April: 30 x 2 = 60, F's two nights
    assert (
        got[("DLX", d("2030-03-01"))]["room_nights_sold"],
        got[("DLX", d("2030-03-01"))]["occupancy"],
    ) == (2, ratio(2, 14))
    assert (
        got[("DLX", d("2030-04-01"))]["room_nights_available"],
        got[("DLX", d("2030-04-01"))]["occupancy"],
    ) == (60, ratio(2, 60))
    # May: nights 05-01..05-04, nothing sold
    assert got[("STD", d("2030-05-01"))]["room_nights_total"] == 4 * 3
    assert got[("DLX", d("2030-05-01"))]["occupancy"] == Decimal("0.0000")


def test_dimensions_name_the_ids_of_the_facts(fx):
    """report.hotels and report.room_types: what a BI tool joins hotel_id and room_type_id to."""
    (hotel,) = rows(fx.db, "select * from report.hotels where hotel_id = %s", (fx.hotel_id,))
    assert (hotel["hotel_code"], hotel["hotel_name"], hotel["time_zone"], hotel["currency"]) == (
        "RPT",
        "Report Hotel",
        "Asia/Tokyo",
        "JPY",
    )
    assert hotel["tax_rate"] == Decimal("0.1000") and hotel["prices_include_tax"] and hotel["active"]
    types = {
        r["room_type_code"]: r
        for r in rows(fx.db, "select * from report.room_types where hotel_id = %s", (fx.hotel_id,))
    }
    assert {code: (r["rooms"], r["active_rooms"], r["currency"]) for code, r in types.items()} == {
        "STD": (3, 3, "JPY"),
        "DLX": (2, 2, "JPY"),
    }
    assert types["STD"]["room_type_id"] == fx.room_types["STD"]
    # every fact row finds its names, the same as occupancy_daily's own codes
    unmatched = rows(
        fx.db,
        """select o.hotel_code, o.room_type_code from report.occupancy_daily o
           left join report.hotels h on h.hotel_id = o.hotel_id
           left join report.room_types t on t.room_type_id = o.room_type_id
           where h.hotel_code is distinct from o.hotel_code or t.room_type_code is distinct from o.room_type_code""",
    )
    assert unmatched == []
